/**
 * An open VMDK: the descriptor's extents laid end to end, plus the parent for differencing disks.
 */
import { randomBytes } from 'node:crypto';
import { UserError } from '../../common/errors.js';
import type { AllocationRun, DiskImage, DiskInfo } from '../disk-image.js';
import { sameCid, type Descriptor } from './descriptor.js';
import type { Extent } from './extent.js';
import type { ImageFile } from './image-file.js';
import { SECTOR } from './sparse-header.js';

export interface VmdkParts {
  file: string;
  descriptor: Descriptor;
  extents: Extent[];
  /** Every host file the image holds open (closed together). */
  files: ImageFile[];
  parent: DiskImage | undefined;
  readOnly: boolean;
  grainSize: number | undefined;
  /** Where the descriptor's CID value lives; rewritten on the first write, as VMware and QEMU do. */
  cid: { file: ImageFile; offset: number; digits: number } | undefined;
}

export class VmdkImage implements DiskImage {
  readonly format = 'vmdk' as const;
  readonly sectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  readonly file: string;
  readonly parent: DiskImage | undefined;
  readonly readOnly: boolean;
  readonly sizeBytes: number;
  private readonly starts: number[] = [];
  private closed = false;
  private cidChanged = false;

  constructor(private readonly parts: VmdkParts) {
    this.file = parts.file;
    this.parent = parts.parent;
    this.readOnly = parts.readOnly;
    let at = 0;
    for (const e of parts.extents) {
      this.starts.push(at);
      at += e.sectors;
    }
    this.sizeBytes = at * SECTOR;
  }

  private extentAt(sector: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= sector) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private check(sector: number, bytes: number, op: string): void {
    if (this.closed) throw new UserError(`${this.file}: ${op} after close`);
    if (bytes % SECTOR !== 0) throw new UserError(`${this.file}: ${op} of ${bytes} bytes is not a whole number of sectors`);
    if (!Number.isSafeInteger(sector) || sector < 0 || sector * SECTOR + bytes > this.sizeBytes) {
      throw new UserError(`${this.file}: ${op} at sector ${sector} (+${bytes / SECTOR}) is beyond the disk end (${this.sizeBytes / SECTOR} sectors)`);
    }
  }

  /** Parent contents at absolute sector, zeros where there is no parent or it is shorter. */
  private async readBelow(sector: number, dst: Uint8Array): Promise<void> {
    const p = this.parent;
    const within = p === undefined ? 0 : Math.max(0, Math.min(dst.length, p.sizeBytes - sector * SECTOR));
    if (within > 0) await p!.read(sector, dst.subarray(0, within));
    if (within < dst.length) dst.fill(0, within);
  }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    this.check(sector, buf.length, 'read');
    await this.walk(sector, buf, async (e, start, rel, part) => {
      await e.read(rel, part, (r, d) => this.readBelow(start + r, d));
    });
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    if (this.readOnly) throw new UserError(`${this.file}: image is open read-only; write refused`);
    this.check(sector, buf.length, 'write');
    await this.walk(sector, buf, async (e, start, rel, part) => {
      if (!e.writable) throw new UserError(`${this.file}: extent at sector ${start} is read-only (RDONLY/NOACCESS/ZERO); write refused`);
      await e.write(rel, part, (r, d) => this.readBelow(start + r, d));
    });
    // After the data, so a refused write leaves the file untouched.
    if (!this.cidChanged) await this.changeCid();
  }

  /** Children record their parent's CID: a new one on first write lets them notice the parent changed. */
  private async changeCid(): Promise<void> {
    this.cidChanged = true;
    const at = this.parts.cid;
    if (at === undefined) return;
    // Same number of digits, so the rewrite stays in place and the descriptor keeps its length.
    const old = this.parts.descriptor.cid;
    let cid = old;
    while (sameCid(cid, old) || sameCid(cid, 'ffffffff')) {
      cid = randomBytes(4).toString('hex').slice(0, at.digits);
      if (at.digits > 1 && cid[0] === '0') cid = '1' + cid.slice(1);
    }
    await at.file.write(at.offset, Buffer.from(cid, 'latin1'));
    this.parts.descriptor.cid = cid;
  }

  private async walk(sector: number, buf: Uint8Array, op: (e: Extent, start: number, rel: number, part: Uint8Array) => Promise<void>): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const at = sector + done / SECTOR;
      const i = this.extentAt(at);
      const e = this.parts.extents[i]!;
      const start = this.starts[i]!;
      const n = Math.min(buf.length - done, (start + e.sectors - at) * SECTOR);
      await op(e, start, at - start, buf.subarray(done, done + n));
      done += n;
    }
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    for (const f of this.parts.files) await f.sync();
  }

  async discard(sector: number, count: number): Promise<void> {
    if (this.readOnly) throw new UserError(`${this.file}: image is open read-only; discard refused`);
    this.check(sector, count * SECTOR, 'discard');
    // Grains are not returned: VMDK hosted sparse extents have no safe in-place free. Zero-fill
    // only where this layer holds data, so reads return zeros as the contract requires.
    let at = sector;
    const end = sector + count;
    while (at < end) {
      const run = await this.allocation(at, end - at);
      if (run.allocated && !run.zero) {
        for (let s = at; s < at + run.sectors; s += 2048) {
          const n = Math.min(2048, at + run.sectors - s);
          await this.write(s, new Uint8Array(n * SECTOR));
        }
      } else if (!run.allocated && this.parent !== undefined) {
        // Inherited data must stop showing through: this layer needs its own zeros there.
        for (let s = at; s < at + run.sectors; s += 2048) {
          const n = Math.min(2048, at + run.sectors - s);
          await this.write(s, new Uint8Array(n * SECTOR));
        }
      }
      at += run.sectors;
    }
  }

  async allocation(sector: number, count: number): Promise<AllocationRun> {
    this.check(sector, count * SECTOR, 'allocation query');
    const i = this.extentAt(sector);
    const e = this.parts.extents[i]!;
    const start = this.starts[i]!;
    const max = Math.min(count, start + e.sectors - sector);
    const run = await e.status(sector - start, max);
    if (run.kind === 'unallocated') return { allocated: false, zero: this.parent === undefined, sectors: run.sectors };
    return { allocated: true, zero: run.kind === 'zero', sectors: run.sectors };
  }

  async info(): Promise<DiskInfo> {
    let allocated = 0;
    for (const f of this.parts.files) allocated += await f.allocatedBytes();
    const d = this.parts.descriptor;
    const identifiers: Record<string, string> = { CID: d.cid };
    if (d.parentCID !== undefined) identifiers.parentCID = d.parentCID;
    if (d.parentFileNameHint !== undefined) identifiers.parentFileNameHint = d.parentFileNameHint;
    const hw = d.fields.get('ddb.virtualHWVersion');
    if (hw !== undefined) identifiers.virtualHWVersion = hw;
    const adapter = d.fields.get('ddb.adapterType');
    if (adapter !== undefined) identifiers.adapterType = adapter;
    const sparse = this.parts.grainSize !== undefined;
    const info: DiskInfo = {
      file: this.file,
      format: 'vmdk',
      subformat: d.createType,
      type: this.parent !== undefined ? 'differencing' : sparse ? 'dynamic' : 'fixed',
      virtualSize: this.sizeBytes,
      allocatedSize: allocated,
      logicalSectorSize: SECTOR,
      physicalSectorSize: SECTOR,
      identifiers,
    };
    if (sparse) info.blockSize = this.parts.grainSize! * SECTOR;
    if (this.parent !== undefined) info.parent = this.parent.file;
    const extents = [...new Set(this.parts.files.map((f) => f.path))].filter((p) => p !== this.file);
    if (extents.length > 0) info.files = extents;
    return info;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.parts.files) await f.close();
    if (this.parent) await this.parent.close();
  }
}
