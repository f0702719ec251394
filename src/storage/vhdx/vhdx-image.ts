/**
 * An open VHDX image. Payload data is written in place; every metadata change (BAT entries, sector
 * bitmaps, region table, metadata region) is collected as dirty 4 KiB pages and committed on flush
 * through the log: data synced, log entry written and synced, pages written in place and synced.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FormatError, UserError } from '../../common/errors.js';
import type { AllocationRun, DiskImage, DiskInfo, OpenOptions } from '../disk-image.js';
import {
  bitmapIndex, PAYLOAD_FULLY_PRESENT, PAYLOAD_PARTIALLY_PRESENT, PAYLOAD_UNMAPPED, PAYLOAD_ZERO, payloadIndex, SB_PRESENT,
} from './bat.js';
import { formatGuid, randomGuid } from './guid.js';
import { HEADER_OFFSETS, MiB, serializeHeader } from './layout.js';
import { applyEntries, buildEntry, maxPagesPerEntry, readPendingLog, SECTOR, writeFully, type Page } from './log.js';
import { openParent } from './parent.js';
import { logIsPending, readHeaders, readStructure, type VhdxStructure } from './structure.js';

export class VhdxImage implements DiskImage {
  readonly format = 'vhdx' as const;
  sizeBytes: number;
  readonly sectorSize: number;
  readonly physicalSectorSize: number;
  private readonly blockSize: number;
  private readonly sectorsPerBlock: number;
  private readonly bitmaps = new Map<number, Uint8Array>();
  private readonly dirtyBatPages = new Set<number>();
  private readonly dirtyBitmapPages = new Set<string>();
  private readonly extraPages = new Map<number, Uint8Array>();
  private logSeq = 0;
  private writeStarted = false;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    readonly fh: FileHandle,
    readonly readOnly: boolean,
    public s: VhdxStructure,
    readonly parent: DiskImage | undefined,
  ) {
    this.sizeBytes = s.meta.virtualSize;
    this.sectorSize = s.meta.logicalSectorSize;
    this.physicalSectorSize = Math.max(s.meta.physicalSectorSize, s.meta.logicalSectorSize);
    this.blockSize = s.meta.blockSize;
    this.sectorsPerBlock = this.blockSize / this.sectorSize;
  }

  /** Opens `file`. With `problems`, BAT faults are collected instead of thrown (check/repair). */
  static async open(file: string, opts: OpenOptions, problems?: string[], chain: string[] = []): Promise<VhdxImage> {
    const fh = await open(file, opts.readOnly ? 'r' : 'r+');
    let parent: DiskImage | undefined;
    try {
      let { header, slot } = await readHeaders(fh, file);
      if (logIsPending(header)) {
        const entries = await readPendingLog(fh, file, header.logOffset, header.logLength, header.logGuid);
        if (!opts.readOnly) {
          await applyEntries(fh, entries);
          slot = 1 - slot;
          header = { ...header, sequenceNumber: header.sequenceNumber + 1, logGuid: new Uint8Array(16) };
          await writeFully(fh, serializeHeader(header), HEADER_OFFSETS[slot]!);
          await fh.sync();
        } else if (entries.length > 0) {
          // Replaying only in memory would hide the pending state from every other reader; refuse instead.
          throw new FormatError(file, `log: ${entries.length} pending log entr${entries.length === 1 ? 'y' : 'ies'} must be replayed; open the image read-write once (or run check with repair)`);
        }
      }
      const s = await readStructure(fh, file, header, slot, problems);
      if (s.meta.hasParent) parent = await openParent(file, s.meta, opts, chain);
      return new VhdxImage(file, fh, opts.readOnly, s, parent);
    } catch (e) {
      await fh.close().catch(() => undefined);
      if (parent !== undefined) await parent.close().catch(() => undefined);
      throw e;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkIo(sector: number, bytes: number, writing: boolean): void {
    if (this.closed) throw new UserError(`${this.file}: image is closed`);
    if (writing && this.readOnly) throw new UserError(`${this.file}: opened read-only; refusing to modify it`);
    if (!Number.isSafeInteger(sector) || sector < 0) throw new UserError(`${this.file}: sector ${sector} is not a valid sector number`);
    if (bytes % this.sectorSize !== 0) throw new UserError(`${this.file}: ${bytes} bytes is not a whole number of ${this.sectorSize}-byte sectors`);
    if (sector * this.sectorSize + bytes > this.sizeBytes) throw new UserError(`${this.file}: sectors from ${sector} (${bytes} bytes) lie past the end of the ${this.sizeBytes}-byte disk`);
  }

  read(sector: number, buf: Uint8Array): Promise<void> {
    this.checkIo(sector, buf.length, false);
    return this.serial(() => this.readRange(sector, buf));
  }

  write(sector: number, buf: Uint8Array): Promise<void> {
    this.checkIo(sector, buf.length, true);
    return this.serial(() => this.writeRange(sector, buf));
  }

  discard(sector: number, count: number): Promise<void> {
    this.checkIo(sector, count * this.sectorSize, true);
    return this.serial(() => this.discardRange(sector, count));
  }

  flush(): Promise<void> {
    if (this.readOnly || this.closed) return Promise.resolve();
    return this.serial(() => this.commit());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.serial(async () => {
      if (!this.readOnly) {
        await this.commit();
        // A clean close leaves no log to replay: the next opener need not scan it.
        if (this.writeStarted) await this.updateHeader({ logGuid: new Uint8Array(16) });
      }
    }).finally(async () => {
      this.closed = true;
      await this.fh.close();
      if (this.parent !== undefined) await this.parent.close();
    });
  }

  // ---- reading ----

  private async readRange(sector: number, buf: Uint8Array): Promise<void> {
    const spb = this.sectorsPerBlock, ss = this.sectorSize;
    let done = 0;
    while (done < buf.length) {
      const sec = sector + done / ss;
      const block = Math.floor(sec / spb);
      const inBlock = sec - block * spb;
      const n = Math.min(spb - inBlock, (buf.length - done) / ss);
      const part = buf.subarray(done, done + n * ss);
      const i = payloadIndex(block, this.s.geometry.chunkRatio);
      const st = this.s.bat.state[i]!;
      const base = this.s.bat.offsetMiB[i]! * MiB + inBlock * ss;
      if (st === PAYLOAD_FULLY_PRESENT) await this.readFile(part, base);
      else if (st === PAYLOAD_PARTIALLY_PRESENT) await this.readPartial(block, inBlock, part, base);
      else if (this.parent !== undefined && st !== PAYLOAD_ZERO) await this.parent.read(sec, part);
      else part.fill(0);
      done += n * ss;
    }
  }

  private async readPartial(block: number, inBlock: number, part: Uint8Array, base: number): Promise<void> {
    const bm = await this.bitmap(Math.floor(block / this.s.geometry.chunkRatio), false);
    const first = (block % this.s.geometry.chunkRatio) * this.sectorsPerBlock + inBlock;
    const count = part.length / this.sectorSize;
    for (let k = 0; k < count;) {
      const present = bm !== undefined && bitSet(bm, first + k);
      let run = 1;
      while (k + run < count && (bm !== undefined && bitSet(bm, first + k + run)) === present) run++;
      const sub = part.subarray(k * this.sectorSize, (k + run) * this.sectorSize);
      if (present) await this.readFile(sub, base + k * this.sectorSize);
      else await this.parent!.read(block * this.sectorsPerBlock + inBlock + k, sub);
      k += run;
    }
  }

  private async readFile(buf: Uint8Array, pos: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
      if (bytesRead === 0) throw new FormatError(this.file, `payload block data at offset ${pos} is past the end of the file (file truncated?)`);
      done += bytesRead;
    }
  }

  /** The sector bitmap of `chunk`; created (zeroed, allocated in the file) only when `create`. */
  private async bitmap(chunk: number, create: boolean): Promise<Uint8Array | undefined> {
    const cached = this.bitmaps.get(chunk);
    if (cached !== undefined) return cached;
    const i = bitmapIndex(chunk, this.s.geometry.chunkRatio);
    if (this.s.bat.state[i] === SB_PRESENT) {
      const bm = new Uint8Array(MiB);
      await this.readFile(bm, this.s.bat.offsetMiB[i]! * MiB);
      this.bitmaps.set(chunk, bm);
      return bm;
    }
    if (!create) return undefined;
    const off = await this.allocate(MiB);
    this.setBat(i, SB_PRESENT, off);
    const bm = new Uint8Array(MiB);
    this.bitmaps.set(chunk, bm);
    return bm;
  }

  // ---- writing ----

  private async beginWrite(): Promise<void> {
    if (this.writeStarted) return;
    // New data and file write GUIDs say "changed" to anything linked to the old ones; a log GUID marks the log live.
    await this.updateHeader({ fileWriteGuid: randomGuid(), dataWriteGuid: randomGuid(), logGuid: randomGuid() });
    this.writeStarted = true;
  }

  /** Appends `len` bytes (1 MiB aligned) to the file; the extension reads as zeros. */
  private async allocate(len: number): Promise<number> {
    const off = Math.ceil(this.s.fileSize / MiB) * MiB;
    await this.fh.truncate(off + len);
    this.s.fileSize = off + len;
    return off;
  }

  setBat(index: number, state: number, offset: number): void {
    this.s.bat.state[index] = state;
    this.s.bat.offsetMiB[index] = offset / MiB;
    this.dirtyBatPages.add(Math.floor(index / 512));
  }

  private async writeRange(sector: number, buf: Uint8Array): Promise<void> {
    await this.beginWrite();
    const spb = this.sectorsPerBlock, ss = this.sectorSize, cr = this.s.geometry.chunkRatio;
    let done = 0;
    while (done < buf.length) {
      const sec = sector + done / ss;
      const block = Math.floor(sec / spb);
      const inBlock = sec - block * spb;
      const n = Math.min(spb - inBlock, (buf.length - done) / ss);
      const i = payloadIndex(block, cr);
      let st = this.s.bat.state[i]!;
      if (st !== PAYLOAD_FULLY_PRESENT && st !== PAYLOAD_PARTIALLY_PRESENT) {
        const off = await this.allocate(this.blockSize);
        // A differencing block whose content comes from the parent starts partially present.
        st = this.parent !== undefined && st !== PAYLOAD_ZERO ? PAYLOAD_PARTIALLY_PRESENT : PAYLOAD_FULLY_PRESENT;
        this.setBat(i, st, off);
      }
      await writeFully(this.fh, buf.subarray(done, done + n * ss), this.s.bat.offsetMiB[i]! * MiB + inBlock * ss);
      if (st === PAYLOAD_PARTIALLY_PRESENT) await this.markPresent(block, inBlock, n);
      done += n * ss;
    }
  }

  private async markPresent(block: number, inBlock: number, count: number): Promise<void> {
    const cr = this.s.geometry.chunkRatio;
    const chunk = Math.floor(block / cr);
    const bm = (await this.bitmap(chunk, true))!;
    const first = (block % cr) * this.sectorsPerBlock + inBlock;
    for (let k = first; k < first + count; k++) {
      bm[k >> 3] |= 1 << (k & 7);
      this.dirtyBitmapPages.add(`${chunk}:${k >> 15}`);
    }
  }

  private async discardRange(sector: number, count: number): Promise<void> {
    await this.beginWrite();
    const spb = this.sectorsPerBlock, ss = this.sectorSize, cr = this.s.geometry.chunkRatio;
    const fixed = this.s.meta.leaveBlocksAllocated;
    for (let sec = sector; sec < sector + count;) {
      const block = Math.floor(sec / spb);
      const inBlock = sec - block * spb;
      const n = Math.min(spb - inBlock, sector + count - sec);
      const i = payloadIndex(block, cr);
      const whole = inBlock === 0 && (n === spb || sec + n === this.sizeBytes / ss);
      if (whole && !fixed) {
        // In a differencing image an unmapped block would expose the parent again; ZERO keeps it reading zeros.
        this.setBat(i, this.parent !== undefined ? PAYLOAD_ZERO : PAYLOAD_UNMAPPED, 0);
      } else {
        const st = this.s.bat.state[i]!;
        const hidesParent = this.parent !== undefined && st !== PAYLOAD_ZERO;
        if (st === PAYLOAD_FULLY_PRESENT || st === PAYLOAD_PARTIALLY_PRESENT || hidesParent) {
          // Zeros go out a MiB at a time: a block can be 256 MiB.
          const zeros = new Uint8Array(Math.min(n * ss, MiB));
          for (let d = 0; d < n * ss; d += zeros.length) {
            await this.writeRange(sec + d / ss, zeros.subarray(0, Math.min(zeros.length, n * ss - d)));
          }
        }
      }
      sec += n;
    }
  }

  // ---- committing metadata ----

  /** Queues a whole metadata page (region table, metadata region) for the next commit. */
  stagePage(offset: number, data: Uint8Array): void {
    this.extraPages.set(offset, data);
  }

  async commit(): Promise<void> {
    const pages = this.collectDirtyPages();
    await this.fh.sync();
    if (pages.length === 0) return;
    if (!this.writeStarted) await this.beginWrite();
    const per = maxPagesPerEntry(this.s.header.logLength);
    for (let k = 0; k < pages.length; k += per) {
      const batch = pages.slice(k, k + per);
      const entry = buildEntry(++this.logSeq, this.s.header.logGuid, batch, this.s.fileSize, this.s.fileSize);
      await writeFully(this.fh, entry, this.s.header.logOffset);
      await this.fh.sync();
      for (const p of batch) await writeFully(this.fh, p.data, p.offset);
      await this.fh.sync();
    }
    // Cleared only now: after a failed commit (ENOSPC, EIO) the next flush retries every page.
    this.dirtyBitmapPages.clear();
    this.dirtyBatPages.clear();
    this.extraPages.clear();
  }

  private collectDirtyPages(): Page[] {
    const pages: Page[] = [];
    for (const key of this.dirtyBitmapPages) {
      const [chunk, page] = key.split(':').map(Number) as [number, number];
      const i = bitmapIndex(chunk, this.s.geometry.chunkRatio);
      const bm = this.bitmaps.get(chunk)!;
      pages.push({ offset: this.s.bat.offsetMiB[i]! * MiB + page * SECTOR, data: bm.slice(page * SECTOR, (page + 1) * SECTOR) });
    }
    // BAT pages last: a crash between batches then never maps a bitmap block before its bits are in place.
    for (const page of [...this.dirtyBatPages].sort((a, b) => a - b)) {
      const data = new Uint8Array(SECTOR);
      this.s.bat.serialize(page * 512, data);
      pages.push({ offset: this.s.regions.bat.offset + page * SECTOR, data });
    }
    // Staged pages (metadata, region table) go last so a resize split over several entries changes the size last.
    for (const [offset, data] of this.extraPages) pages.push({ offset, data });
    return pages;
  }

  private async updateHeader(change: Partial<VhdxStructure['header']>): Promise<void> {
    const slot = 1 - this.s.headerSlot;
    const header = { ...this.s.header, ...change, sequenceNumber: this.s.header.sequenceNumber + 1 };
    await writeFully(this.fh, serializeHeader(header), HEADER_OFFSETS[slot]!);
    await this.fh.sync();
    this.s.header = header;
    this.s.headerSlot = slot;
  }

  /** Lets resize swap in new geometry after its pages are staged. */
  replaceStructure(s: VhdxStructure): void {
    this.s = s;
    this.sizeBytes = s.meta.virtualSize;
  }

  /** Marks the BAT pages holding entries [from, to) for rewriting at the next commit. */
  markBatDirty(from: number, to: number): void {
    for (let p = Math.floor(from / 512); p < Math.ceil(to / 512); p++) this.dirtyBatPages.add(p);
  }

  async prepareMetadataChange(): Promise<void> {
    await this.beginWrite();
    await this.commit();
  }

  allocateSpace(len: number): Promise<number> {
    return this.allocate(len);
  }

  // ---- introspection ----

  async info(): Promise<DiskInfo> {
    const st = await this.fh.stat();
    const m = this.s.meta;
    const identifiers: Record<string, string> = {
      virtualDiskId: formatGuid(m.diskId),
      fileWriteGuid: formatGuid(this.s.header.fileWriteGuid),
      dataWriteGuid: formatGuid(this.s.header.dataWriteGuid),
      logGuid: formatGuid(this.s.header.logGuid),
      headerSequenceNumber: String(this.s.header.sequenceNumber),
    };
    if (m.parentLocator !== undefined) for (const [k, v] of m.parentLocator) identifiers[`parentLocator.${k}`] = v;
    const info: DiskInfo = {
      file: this.file, format: 'vhdx', type: m.hasParent ? 'differencing' : m.leaveBlocksAllocated ? 'fixed' : 'dynamic',
      virtualSize: this.sizeBytes, allocatedSize: st.blocks * 512, logicalSectorSize: this.sectorSize,
      physicalSectorSize: this.physicalSectorSize, identifiers,
    };
    if (!m.leaveBlocksAllocated || m.hasParent) info.blockSize = this.blockSize;
    if (this.parent !== undefined) info.parent = this.parent.file;
    return info;
  }

  allocation(sector: number, count: number): Promise<AllocationRun> {
    this.checkIo(sector, count * this.sectorSize, false);
    return this.serial(async () => {
      const spb = this.sectorsPerBlock, cr = this.s.geometry.chunkRatio;
      const block = Math.floor(sector / spb);
      const inBlock = sector - block * spb;
      const n = Math.min(spb - inBlock, count);
      const st = this.s.bat.state[payloadIndex(block, cr)]!;
      if (st === PAYLOAD_FULLY_PRESENT) return { allocated: true, zero: false, sectors: n };
      if (st !== PAYLOAD_PARTIALLY_PRESENT) {
        const zero = this.parent === undefined || st === PAYLOAD_ZERO;
        return { allocated: st === PAYLOAD_ZERO && this.parent !== undefined, zero, sectors: n };
      }
      const bm = await this.bitmap(Math.floor(block / cr), false);
      const first = (block % cr) * spb + inBlock;
      const present = bm !== undefined && bitSet(bm, first);
      let run = 1;
      while (run < n && (bm !== undefined && bitSet(bm, first + run)) === present) run++;
      return { allocated: present, zero: false, sectors: run };
    });
  }
}

function bitSet(bm: Uint8Array, k: number): boolean {
  return ((bm[k >> 3]! >> (k & 7)) & 1) !== 0;
}
