/**
 * An open qcow2 image: guest reads go through the cluster map to data clusters,
 * compressed clusters (raw deflate), zero clusters or the backing file.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { FormatError, UserError, errorMessage } from '../../common/errors.js';
import type { AllocationRun, DiskImage, DiskInfo, OpenOptions } from '../disk-image.js';
import { ImageFile } from '../vmdk/image-file.js';
import { withinChain } from '../vmdk/parent-chain.js';
import { ClusterMap, type ClusterKind, type ClusterLocation } from './cluster-map.js';
import { readQcow2Header, type Qcow2Header } from './header.js';
import { Refcounts } from './refcounts.js';
import { Qcow2Writer, refuseWrites, validateMetadataForWrite } from './writer.js';

const SECTOR = 512;

export function openQcow2(path: string, opts: OpenOptions): Promise<Qcow2Image> {
  return withinChain(path, async () => {
    const file = await ImageFile.open(path, opts.readOnly);
    let parent: DiskImage | undefined;
    try {
      const h = await readQcow2Header(file);
      if (!opts.readOnly) refuseWrites(h, path);
      const map = await ClusterMap.load(file, h);
      const refs = opts.readOnly ? undefined : await Refcounts.load(file, h);
      if (refs) validateMetadataForWrite(file, h, map, refs);
      if (h.backingFile !== undefined) {
        const target = isAbsolute(h.backingFile) ? h.backingFile : resolve(dirname(resolve(path)), h.backingFile);
        if (!opts.openParent) throw new FormatError(path, `has backing file "${h.backingFile}" but no way to open backing files was given`);
        parent = await opts.openParent(target, path);
      }
      if (refs) await clearAutoclear(file, h);
      return new Qcow2Image(path, file, h, map, parent, refs);
    } catch (e) {
      await file.close().catch(() => undefined);
      if (parent) await parent.close().catch(() => undefined);
      throw e;
    }
  });
}

/** The spec asks a writer that does not maintain autoclear features (e.g. bitmaps) to clear their bits. */
async function clearAutoclear(file: ImageFile, h: Qcow2Header): Promise<void> {
  if (h.version !== 3) return;
  const b = new Uint8Array(8);
  await file.readExact(88, b, 'autoclear features');
  if (b.some((x) => x !== 0)) {
    await file.write(88, new Uint8Array(8));
    await file.sync();
  }
}

export class Qcow2Image implements DiskImage {
  readonly format = 'qcow2' as const;
  readonly sectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  readonly readOnly: boolean;
  readonly sizeBytes: number;
  private readonly writer: Qcow2Writer | undefined;
  private readonly clusterSectors: number;
  /** The last inflated cluster, by host offset: sequential reads of one cluster inflate it once. */
  private lastCompressed = -1;
  private lastInflated: Uint8Array | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly img: ImageFile,
    readonly header: Qcow2Header,
    private readonly map: ClusterMap,
    readonly parent: DiskImage | undefined,
    refs?: Refcounts,
  ) {
    this.readOnly = refs === undefined;
    this.writer = refs && new Qcow2Writer(img, header, map, refs, (c, loc, dst) => this.fillCluster(c, loc, dst), parent !== undefined);
    this.sizeBytes = Math.ceil(header.size / SECTOR) * SECTOR;
    this.clusterSectors = header.clusterSize / SECTOR;
  }

  private check(sector: number, bytes: number, op: string): void {
    if (this.closed) throw new UserError(`${this.file}: ${op} after close`);
    if (bytes % SECTOR !== 0) throw new UserError(`${this.file}: ${op} of ${bytes} bytes is not a whole number of sectors`);
    if (!Number.isSafeInteger(sector) || sector < 0 || sector * SECTOR + bytes > this.sizeBytes) {
      throw new UserError(`${this.file}: ${op} at sector ${sector} (+${bytes / SECTOR}) is beyond the disk end (${this.sizeBytes / SECTOR} sectors)`);
    }
  }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    this.check(sector, buf.length, 'read');
    let done = 0;
    while (done < buf.length) {
      const at = sector + done / SECTOR;
      const cluster = Math.floor(at / this.clusterSectors);
      const inCluster = (at % this.clusterSectors) * SECTOR;
      const n = Math.min(buf.length - done, this.header.clusterSize - inCluster);
      const part = buf.subarray(done, done + n);
      const loc = await this.map.locate(cluster);
      if (loc.kind === 'data') await this.img.readExact(loc.offset + inCluster, part, `data cluster for guest cluster ${cluster}`);
      else if (loc.kind === 'zero') part.fill(0);
      else if (loc.kind === 'compressed') {
        const data = await this.inflate(loc.offset, loc.compressedSize, cluster);
        part.set(data.subarray(inCluster, inCluster + n));
      } else await this.readBacking(at, part);
      done += n;
    }
  }

  private async readBacking(sector: number, dst: Uint8Array): Promise<void> {
    const p = this.parent;
    const within = p === undefined ? 0 : Math.max(0, Math.min(dst.length, p.sizeBytes - sector * SECTOR));
    if (within > 0) await p!.read(sector, dst.subarray(0, within));
    if (within < dst.length) dst.fill(0, within);
  }

  /** Returns a buffer of its own (never reused), so concurrent reads cannot overwrite each other's data. */
  private async inflate(offset: number, size: number, cluster: number): Promise<Uint8Array> {
    if (this.lastCompressed === offset && this.lastInflated) return this.lastInflated;
    const packed = new Uint8Array(size);
    // The last compressed cluster may be recorded as ending past EOF (sector rounding): zero-fill.
    await this.img.readZeroFilled(offset, packed);
    const where = `compressed cluster for guest cluster ${cluster} at offset ${offset}`;
    let out: Buffer;
    try {
      out = inflateRawSync(packed, { maxOutputLength: this.header.clusterSize });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new FormatError(this.file, `${where} inflates to more than one cluster (${this.header.clusterSize} bytes)`);
      throw new FormatError(this.file, `${where} does not inflate: ${errorMessage(e)}`);
    }
    const data = new Uint8Array(this.header.clusterSize);
    data.set(out);
    this.lastCompressed = offset;
    this.lastInflated = data;
    return data;
  }

  private async fillCluster(cluster: number, loc: ClusterLocation, dst: Uint8Array): Promise<void> {
    if (loc.kind === 'compressed') {
      dst.set(await this.inflate(loc.offset, loc.compressedSize, cluster));
    } else if (loc.kind === 'unallocated') {
      await this.readBacking(cluster * this.clusterSectors, dst);
    } else {
      dst.fill(0);
    }
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    if (!this.writer) throw new UserError(`${this.file}: image is open read-only; write refused`);
    this.check(sector, buf.length, 'write');
    this.lastCompressed = -1;
    this.lastInflated = undefined;
    await this.writer.write(sector, buf);
  }

  async discard(sector: number, count: number): Promise<void> {
    if (!this.writer) throw new UserError(`${this.file}: image is open read-only; discard refused`);
    this.check(sector, count * SECTOR, 'discard');
    this.lastCompressed = -1;
    this.lastInflated = undefined;
    await this.writer.discard(sector, count);
  }

  async flush(): Promise<void> {
    if (this.writer) await this.img.sync();
  }

  private kindAt(cluster: number): Promise<ClusterKind> {
    return this.map.locate(cluster).then((l) => l.kind);
  }

  async allocation(sector: number, count: number): Promise<AllocationRun> {
    this.check(sector, count * SECTOR, 'allocation query');
    const cluster = Math.floor(sector / this.clusterSectors);
    const kind = await this.kindAt(cluster);
    const same = (k: ClusterKind): boolean => (kind === 'data' || kind === 'compressed' ? k === 'data' || k === 'compressed' : k === kind);
    let n = Math.min(count, this.clusterSectors - (sector % this.clusterSectors));
    const l2Sectors = this.map.l2Entries * this.clusterSectors;
    while (n < count) {
      const next = sector + n;
      const c = Math.floor(next / this.clusterSectors);
      const l1i = Math.floor(c / this.map.l2Entries);
      if (kind === 'unallocated' && (l1i >= this.map.l1.length || this.map.l1[l1i] === 0)) {
        n = Math.min(count, (l1i + 1) * l2Sectors - sector); // a whole L2 range with no table
        continue;
      }
      if (!same(await this.kindAt(c))) break;
      n = Math.min(count, n + this.clusterSectors);
    }
    if (kind === 'unallocated') return { allocated: false, zero: this.parent === undefined, sectors: n };
    return { allocated: true, zero: kind === 'zero', sectors: n };
  }

  async info(): Promise<DiskInfo> {
    const h = this.header;
    const identifiers: Record<string, string> = { version: String(h.version), compat: h.version === 2 ? '0.10' : '1.1' };
    if (h.backingFile !== undefined) identifiers.backingFile = h.backingFile;
    if (h.backingFormat !== undefined) identifiers.backingFormat = h.backingFormat;
    if (h.nbSnapshots > 0) identifiers.snapshots = String(h.nbSnapshots);
    if (h.dirty) identifiers.dirty = 'true';
    if (h.corrupt) identifiers.corrupt = 'true';
    const info: DiskInfo = {
      file: this.file,
      format: 'qcow2',
      type: this.parent !== undefined ? 'differencing' : 'dynamic',
      virtualSize: h.size,
      allocatedSize: await this.img.allocatedBytes(),
      blockSize: h.clusterSize,
      logicalSectorSize: SECTOR,
      physicalSectorSize: SECTOR,
      identifiers,
    };
    if (this.parent !== undefined) info.parent = this.parent.file;
    return info;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      await this.img.close();
    }
    if (this.parent) await this.parent.close();
  }
}
