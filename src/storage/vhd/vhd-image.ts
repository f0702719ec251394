/**
 * An open VHD: fixed, dynamic or differencing. Writes are serialized so two requests never allocate
 * the same block twice. Allocation keeps the file valid at every step: the footer moves to the new
 * end first, then the bitmap and data land. BAT entries and sector-bitmap updates that make new data
 * visible are held in memory until flush(), which syncs the data, then writes them, then syncs
 * again. A crash can leak a block or lose unflushed writes; it cannot make metadata point at garbage.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import type { AllocationRun, DiskImage, DiskInfo, OpenOptions } from '../disk-image.js';
import { readExact, readUpTo, writeAll } from '../io/file-io.js';
import { checkRange } from '../io/range.js';
import { FOOTER_SIZE, VHD_EPOCH_MS, formatUuid, serializeFooter, type VhdFooter } from './footer.js';
import { BAT_UNUSED, readLayout, type VhdLayout } from './layout.js';
import { resolveParent } from './parent.js';
import type { DynamicHeader } from './dynamic-header.js';

const SECTOR = 512;
const BITMAP_CACHE_LIMIT = 4096;
const ZERO_RUN = 2048;
/** Shared and never written to: writes only read from their buffer. */
const ZEROS = new Uint8Array(ZERO_RUN * SECTOR);

export class VhdImage implements DiskImage {
  readonly format = 'vhd' as const;
  readonly sectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  readonly sizeBytes: number;
  private readonly footer: VhdFooter;
  private readonly header: DynamicHeader | undefined;
  private readonly bat: Uint32Array;
  private readonly bitmapSize: number;
  private readonly blockSize: number;
  private readonly sectorsPerBlock: number;
  /** Where the end footer sits: new blocks are placed here. */
  private dataEnd: number;
  private readonly bitmaps = new Map<number, Uint8Array>();
  /** BAT entries changed since the last flush (block -> value), written by flush() after a data sync. */
  private readonly pendingBat = new Map<number, number>();
  /** Blocks whose cached sector bitmap gained bits since the last flush. */
  private readonly dirtyBitmaps = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(readonly file: string, private readonly fh: FileHandle, layout: VhdLayout, readonly readOnly: boolean, readonly parent: DiskImage | undefined) {
    this.footer = layout.footer;
    this.header = layout.header;
    this.bat = layout.bat;
    this.bitmapSize = layout.bitmapSize;
    this.sizeBytes = layout.footer.currentSize;
    this.blockSize = layout.header?.blockSize ?? 0;
    this.sectorsPerBlock = this.blockSize / SECTOR;
    this.dataEnd = layout.fileSize - FOOTER_SIZE;
  }

  static async open(file: string, opts: OpenOptions): Promise<VhdImage> {
    const fh = await open(file, opts.readOnly ? 'r' : 'r+');
    let parent: DiskImage | undefined;
    try {
      const layout = await readLayout(fh, file);
      if (layout.footer.diskType === 'differencing') {
        if (opts.openParent === undefined) throw new UserError(`${file}: differencing VHD must be opened through the registry to reach its parent`);
        parent = await resolveParent(fh, file, layout, opts.openParent);
      }
      return new VhdImage(file, fh, layout, opts.readOnly, parent);
    } catch (e) {
      if (parent !== undefined) await parent.close().catch(() => undefined);
      await fh.close();
      throw e;
    }
  }

  get diskType(): VhdFooter['diskType'] {
    return this.footer.diskType;
  }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    checkRange(this, sector, buf.length);
    if (this.header === undefined) {
      await readExact(this.fh, this.file, buf, sector * SECTOR, 'VHD data');
      return;
    }
    let done = 0;
    const total = buf.length / SECTOR;
    while (done < total) {
      const s = sector + done;
      const block = Math.floor(s / this.sectorsPerBlock);
      const inBlock = s - block * this.sectorsPerBlock;
      const n = Math.min(total - done, this.sectorsPerBlock - inBlock);
      const part = buf.subarray(done * SECTOR, (done + n) * SECTOR);
      await this.readInBlock(block, inBlock, s, part);
      done += n;
    }
  }

  private async readInBlock(block: number, inBlock: number, sector: number, part: Uint8Array): Promise<void> {
    const entry = this.bat[block]!;
    if (entry === BAT_UNUSED) {
      if (this.parent !== undefined) await this.parent.read(sector, part);
      else part.fill(0);
      return;
    }
    const dataPos = entry * SECTOR + this.bitmapSize;
    if (this.parent === undefined) {
      await readUpTo(this.fh, part, dataPos + inBlock * SECTOR);
      return;
    }
    const bitmap = await this.bitmapOf(block);
    const n = part.length / SECTOR;
    let i = 0;
    while (i < n) {
      const present = bitSet(bitmap, inBlock + i);
      let j = i + 1;
      while (j < n && bitSet(bitmap, inBlock + j) === present) j++;
      const sub = part.subarray(i * SECTOR, j * SECTOR);
      if (present) await readUpTo(this.fh, sub, dataPos + (inBlock + i) * SECTOR);
      else await this.parent.read(sector + i, sub);
      i = j;
    }
  }

  private async bitmapOf(block: number): Promise<Uint8Array> {
    let bm = this.bitmaps.get(block);
    if (bm === undefined) {
      bm = new Uint8Array(this.bitmapSize);
      await readExact(this.fh, this.file, bm, this.bat[block]! * SECTOR, `VHD sector bitmap of block ${block}`);
      if (this.bitmaps.size >= BITMAP_CACHE_LIMIT) {
        for (const b of this.bitmaps.keys()) if (!this.dirtyBitmaps.has(b)) this.bitmaps.delete(b);
      }
      this.bitmaps.set(block, bm);
    }
    return bm;
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    this.writable();
    checkRange(this, sector, buf.length);
    return this.serialized(() => this.writeNow(sector, buf));
  }

  private async writeNow(sector: number, buf: Uint8Array): Promise<void> {
    if (this.header === undefined) {
      await writeAll(this.fh, buf, sector * SECTOR);
      return;
    }
    let done = 0;
    const total = buf.length / SECTOR;
    while (done < total) {
      const s = sector + done;
      const block = Math.floor(s / this.sectorsPerBlock);
      const inBlock = s - block * this.sectorsPerBlock;
      const n = Math.min(total - done, this.sectorsPerBlock - inBlock);
      await this.writeInBlock(block, inBlock, buf.subarray(done * SECTOR, (done + n) * SECTOR));
      done += n;
    }
  }

  private async writeInBlock(block: number, inBlock: number, part: Uint8Array): Promise<void> {
    const n = part.length / SECTOR;
    if (this.bat[block] === BAT_UNUSED) {
      await this.allocate(block, inBlock, part);
      return;
    }
    const base = this.bat[block]! * SECTOR;
    await writeAll(this.fh, part, base + this.bitmapSize + inBlock * SECTOR);
    if (this.parent === undefined) return;
    const bitmap = await this.bitmapOf(block);
    for (let i = 0; i < n; i++) {
      if (!bitSet(bitmap, inBlock + i)) {
        setBit(bitmap, inBlock + i);
        this.dirtyBitmaps.add(block);
      }
    }
  }

  private async allocate(block: number, inBlock: number, part: Uint8Array): Promise<void> {
    const pos = this.dataEnd;
    const span = this.bitmapSize + this.blockSize;
    const bitmap = new Uint8Array(this.bitmapSize);
    // A dynamic disk has no parent: the whole block reads as written (zeros where untouched).
    if (this.parent === undefined) bitmap.fill(0xff);
    else for (let i = 0; i < part.length / SECTOR; i++) setBit(bitmap, inBlock + i);
    await writeAll(this.fh, serializeFooter(this.footer), pos + span);
    await writeAll(this.fh, bitmap, pos);
    await writeAll(this.fh, part, pos + this.bitmapSize + inBlock * SECTOR);
    this.bitmaps.set(block, bitmap);
    this.setBatEntry(block, pos / SECTOR);
    this.dataEnd = pos + span;
  }

  private setBatEntry(block: number, value: number): void {
    this.bat[block] = value;
    this.pendingBat.set(block, value);
  }

  /** Data first, then the metadata that refers to it: each step is made durable before the next. */
  private async flushNow(): Promise<void> {
    await this.fh.datasync();
    if (this.pendingBat.size === 0 && this.dirtyBitmaps.size === 0) return;
    for (const block of this.dirtyBitmaps) {
      const bm = this.bitmaps.get(block);
      if (bm !== undefined && this.bat[block] !== BAT_UNUSED) await writeAll(this.fh, bm, this.bat[block]! * SECTOR);
    }
    const e = new Uint8Array(4);
    const dv = new DataView(e.buffer);
    for (const [block, value] of this.pendingBat) {
      dv.setUint32(0, value);
      await writeAll(this.fh, e, this.header!.tableOffset + block * 4);
    }
    await this.fh.datasync();
    this.dirtyBitmaps.clear();
    this.pendingBat.clear();
  }

  flush(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    return this.serialized(() => this.flushNow());
  }

  async discard(sector: number, count: number): Promise<void> {
    this.writable();
    checkRange(this, sector, count * SECTOR);
    return this.serialized(async () => {
      let done = 0;
      while (done < count) {
        const s = sector + done;
        if (this.header === undefined) {
          const n = Math.min(count - done, ZERO_RUN);
          await this.writeNow(s, ZEROS.subarray(0, n * SECTOR));
          done += n;
          continue;
        }
        const block = Math.floor(s / this.sectorsPerBlock);
        const n = Math.min(count - done, this.sectorsPerBlock - (s - block * this.sectorsPerBlock));
        if (this.parent !== undefined) {
          // A differencing disk must store the zeros, or reads would fall through to the parent.
          await this.zeroFill(s, n);
        } else if (this.bat[block] !== BAT_UNUSED) {
          if (n === this.sectorsPerBlock) {
            // A whole block goes back to unallocated; compact reclaims its space in the file.
            this.setBatEntry(block, BAT_UNUSED);
            this.dirtyBitmaps.delete(block);
            this.bitmaps.delete(block);
          } else {
            await this.zeroFill(s, n);
          }
        }
        done += n;
      }
    });
  }

  private async zeroFill(sector: number, count: number): Promise<void> {
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, ZERO_RUN);
      await this.writeNow(sector + done, ZEROS.subarray(0, n * SECTOR));
      done += n;
    }
  }

  async allocation(sector: number, count: number): Promise<AllocationRun> {
    checkRange(this, sector, count * SECTOR);
    if (this.header === undefined) return { allocated: true, zero: false, sectors: count };
    const block = Math.floor(sector / this.sectorsPerBlock);
    const entry = this.bat[block]!;
    const inBlock = sector - block * this.sectorsPerBlock;
    let run = Math.min(count, this.sectorsPerBlock - inBlock);
    if (entry === BAT_UNUSED) {
      // Merge following unallocated blocks into one run so sparse scans stay fast.
      let b = block + 1;
      while (run < count && b < this.bat.length && this.bat[b] === BAT_UNUSED) {
        run = Math.min(count, run + this.sectorsPerBlock);
        b++;
      }
      return { allocated: false, zero: this.parent === undefined, sectors: run };
    }
    if (this.parent === undefined) return { allocated: true, zero: false, sectors: run };
    const bitmap = await this.bitmapOf(block);
    const present = bitSet(bitmap, inBlock);
    let j = 1;
    while (j < run && bitSet(bitmap, inBlock + j) === present) j++;
    return { allocated: present, zero: false, sectors: j };
  }

  async info(): Promise<DiskInfo> {
    const st = await this.fh.stat();
    const f = this.footer;
    const ids: Record<string, string> = {
      uniqueId: formatUuid(f.uniqueId),
      creatorApp: f.creatorApp,
      creatorVersion: `0x${f.creatorVersion.toString(16).padStart(8, '0')}`,
      creatorHostOs: Buffer.from([f.creatorHostOs >>> 24, (f.creatorHostOs >>> 16) & 255, (f.creatorHostOs >>> 8) & 255, f.creatorHostOs & 255]).toString('latin1'),
      timestamp: new Date(VHD_EPOCH_MS + f.timestamp * 1000).toISOString(),
      geometry: `${f.cylinders}/${f.heads}/${f.sectorsPerTrack}`,
    };
    if (this.header !== undefined && f.diskType === 'differencing') {
      ids['parentUniqueId'] = formatUuid(this.header.parentUniqueId);
      ids['parentTimestamp'] = new Date(VHD_EPOCH_MS + this.header.parentTimestamp * 1000).toISOString();
      ids['parentName'] = this.header.parentName;
    }
    const info: DiskInfo = {
      file: this.file, format: 'vhd', type: f.diskType, virtualSize: this.sizeBytes,
      allocatedSize: Math.min(st.size, st.blocks * 512), logicalSectorSize: SECTOR, physicalSectorSize: SECTOR,
      identifiers: ids,
    };
    if (this.header !== undefined) info.blockSize = this.blockSize;
    if (this.parent !== undefined) info.parent = this.parent.file;
    return info;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.queue.catch(() => undefined);
      if (!this.readOnly) await this.flushNow();
    } finally {
      await this.fh.close();
    }
    if (this.parent !== undefined) await this.parent.close();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private writable(): void {
    if (this.readOnly) throw new UserError(`${this.file}: image is open read-only; write refused`);
    if (this.closed) throw new UserError(`${this.file}: image is closed`);
  }
}

function bitSet(bm: Uint8Array, i: number): boolean {
  return (bm[i >> 3]! & (0x80 >> (i & 7))) !== 0;
}

function setBit(bm: Uint8Array, i: number): void {
  bm[i >> 3] = bm[i >> 3]! | (0x80 >> (i & 7));
}

