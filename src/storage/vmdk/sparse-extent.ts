/**
 * A hosted sparse extent: grain directory -> grain tables -> grains, optionally deflate-compressed
 * with grain markers (streamOptimized). Writes (uncompressed extents only) put the grain data on
 * disk before the grain-table entries that point to it, so a crash leaves the old contents visible.
 */
import { inflateSync } from 'node:zlib';
import { FormatError, errorMessage } from '../../common/errors.js';
import type { BelowReader, Extent, ExtentRun } from './extent.js';
import { ImageFile, u64, viewOf } from './image-file.js';
import {
  FLAG_COMPRESSED, FLAG_MARKERS, FLAG_REDUNDANT_GT, FLAG_ZERO_GRAIN, SECTOR, hasSparseMagic, parseSparseHeader,
  type SparseHeader,
} from './sparse-header.js';

/** Bounds the grain directory loaded at open (16 MiB) whatever the header claims. */
const MAX_GD_ENTRIES = 1 << 22;
const GT_CACHE_BYTES = 8 * 1024 * 1024;
const GTE_ZEROED = 1;

export async function readSparseHeader(file: ImageFile): Promise<SparseHeader> {
  const head = new Uint8Array(SECTOR);
  await file.readExact(0, head, 'sparse extent header');
  let h = parseSparseHeader(head, file.path, 'sparse extent header');
  if (h.gdOffset < 0) {
    // streamOptimized: footer marker, footer (a header copy with the real GD), end-of-stream marker.
    if (file.size < 3 * SECTOR) throw new FormatError(file.path, 'streamOptimized footer is missing (file too short)');
    const foot = new Uint8Array(SECTOR);
    await file.readExact(file.size - 2 * SECTOR, foot, 'streamOptimized footer');
    if (!hasSparseMagic(foot)) throw new FormatError(file.path, 'streamOptimized footer is missing or has bad magic (truncated file?)');
    h = parseSparseHeader(foot, file.path, 'streamOptimized footer');
    if (h.gdOffset < 0) throw new FormatError(file.path, 'streamOptimized footer does not give the grain directory offset');
  }
  return h;
}

export class SparseExtent implements Extent {
  private readonly gtCache = new Map<number, Uint32Array>();
  private readonly gtCacheLimit: number;
  private readonly grainBytes: number;
  private readonly compressed: boolean;
  private readonly markers: boolean;
  private readonly zeroGrains: boolean;
  private lastGrain = -1;
  private lastGrainData: Uint8Array | undefined;
  private writeQueue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: ImageFile,
    private readonly h: SparseHeader,
    readonly sectors: number,
    readonly writable: boolean,
    private readonly gd: Uint32Array,
    private readonly rgd: Uint32Array | undefined,
  ) {
    this.grainBytes = h.grainSize * SECTOR;
    this.gtCacheLimit = Math.max(4, Math.floor(GT_CACHE_BYTES / (h.numGTEsPerGT * 4)));
    this.compressed = (h.flags & FLAG_COMPRESSED) !== 0;
    this.markers = (h.flags & FLAG_MARKERS) !== 0;
    this.zeroGrains = (h.flags & FLAG_ZERO_GRAIN) !== 0 || h.version >= 2;
  }

  get header(): SparseHeader {
    return this.h;
  }

  static async open(file: ImageFile, sectors: number, writable: boolean): Promise<SparseExtent> {
    const h = await readSparseHeader(file);
    if (h.capacity < sectors) {
      throw new FormatError(file.path, `sparse extent holds ${h.capacity} sectors but the descriptor gives it ${sectors}`);
    }
    if (writable && (h.flags & FLAG_COMPRESSED)) {
      throw new FormatError(file.path, 'compressed (streamOptimized) extents can only be opened read-only; convert to monolithicSparse to write');
    }
    const entries = Math.ceil(h.capacity / (h.grainSize * h.numGTEsPerGT));
    if (entries > MAX_GD_ENTRIES) throw new FormatError(file.path, `grain directory would need ${entries} entries (limit ${MAX_GD_ENTRIES})`);
    const gd = await readTable(file, h.gdOffset, entries, 'grain directory');
    const useRgd = (h.flags & FLAG_REDUNDANT_GT) !== 0 && h.rgdOffset !== 0;
    const rgd = useRgd ? await readTable(file, h.rgdOffset, entries, 'redundant grain directory') : undefined;
    return new SparseExtent(file, h, sectors, writable, gd, rgd);
  }

  private async table(gdi: number): Promise<Uint32Array | undefined> {
    const at = this.gd[gdi]!;
    if (at === 0) return undefined;
    let gt = this.gtCache.get(gdi);
    if (gt === undefined) {
      gt = await readTable(this.file, at, this.h.numGTEsPerGT, `grain table ${gdi}`);
      if (this.gtCache.size >= this.gtCacheLimit) this.gtCache.delete(this.gtCache.keys().next().value as number);
      this.gtCache.set(gdi, gt);
    }
    return gt;
  }

  /** The grain-table entry for the grain holding `rel`. */
  private async entry(rel: number): Promise<number> {
    const grain = Math.floor(rel / this.h.grainSize);
    const gdi = Math.floor(grain / this.h.numGTEsPerGT);
    const gt = await this.table(gdi);
    return gt === undefined ? 0 : gt[grain % this.h.numGTEsPerGT]!;
  }

  private kindOf(gte: number): ExtentRun['kind'] {
    if (gte === 0) return 'unallocated';
    if (gte === GTE_ZEROED && this.zeroGrains) return 'zero';
    return 'data';
  }

  async status(rel: number, max: number): Promise<ExtentRun> {
    const kind = this.kindOf(await this.entry(rel));
    const gtSpan = this.h.grainSize * this.h.numGTEsPerGT;
    let n = Math.min(max, this.h.grainSize - (rel % this.h.grainSize));
    while (n < max) {
      const next = rel + n;
      if (kind === 'unallocated' && this.gd[Math.floor(next / gtSpan)] === 0) {
        n = Math.min(max, (Math.floor(next / gtSpan) + 1) * gtSpan - rel); // no table: the whole span is a hole
        continue;
      }
      if (this.kindOf(await this.entry(next)) !== kind) break;
      n = Math.min(max, n + this.h.grainSize);
    }
    return { kind, sectors: n };
  }

  async read(rel: number, dst: Uint8Array, below: BelowReader): Promise<void> {
    let done = 0;
    while (done < dst.length) {
      const at = rel + done / SECTOR;
      const inGrain = at % this.h.grainSize;
      const n = Math.min(dst.length - done, (this.h.grainSize - inGrain) * SECTOR);
      const part = dst.subarray(done, done + n);
      const gte = await this.entry(at);
      const kind = this.kindOf(gte);
      if (kind === 'unallocated') await below(at, part);
      else if (kind === 'zero') part.fill(0);
      else if (this.compressed) {
        const grain = await this.inflateGrain(gte, Math.floor(at / this.h.grainSize));
        part.set(grain.subarray(inGrain * SECTOR, inGrain * SECTOR + n));
      } else {
        await this.file.readExact((gte + inGrain) * SECTOR, part, `grain at sector ${gte}`);
      }
      done += n;
    }
  }

  private async inflateGrain(gte: number, grainIndex: number): Promise<Uint8Array> {
    if (this.lastGrain === gte && this.lastGrainData) return this.lastGrainData;
    const where = `compressed grain ${grainIndex} at sector ${gte}`;
    let pos = gte * SECTOR;
    let size: number;
    if (this.markers) {
      const mk = new Uint8Array(12);
      await this.file.readExact(pos, mk, `${where} marker`);
      const v = viewOf(mk);
      const lba = u64(v, 0, true, this.file.path, `${where} marker LBA`);
      size = v.getUint32(8, true);
      if (lba !== grainIndex * this.h.grainSize) {
        throw new FormatError(this.file.path, `${where}: marker says LBA ${lba}, the grain table says ${grainIndex * this.h.grainSize}`);
      }
      pos += 12;
    } else {
      size = Math.min(this.file.size - pos, this.grainBytes + 4096);
    }
    // deflate never expands data by more than a few bytes per 16 KiB block; anything larger is hostile.
    if (size <= 0 || size > this.grainBytes + 4096) throw new FormatError(this.file.path, `${where}: compressed size ${size} is out of range`);
    const packed = new Uint8Array(size);
    await this.file.readExact(pos, packed, where);
    let out: Uint8Array;
    try {
      out = inflateSync(packed, { maxOutputLength: this.grainBytes });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new FormatError(this.file.path, `${where} inflates to more than one grain (${this.grainBytes} bytes)`);
      throw new FormatError(this.file.path, `${where} does not inflate: ${errorMessage(e)}`);
    }
    const grain = new Uint8Array(this.grainBytes);
    grain.set(out);
    this.lastGrain = gte;
    this.lastGrainData = grain;
    return grain;
  }

  write(rel: number, src: Uint8Array, below: BelowReader): Promise<void> {
    const run = this.writeQueue.then(() => this.writeLocked(rel, src, below));
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async writeLocked(rel: number, src: Uint8Array, below: BelowReader): Promise<void> {
    let done = 0;
    while (done < src.length) {
      const at = rel + done / SECTOR;
      const inGrain = at % this.h.grainSize;
      const n = Math.min(src.length - done, (this.h.grainSize - inGrain) * SECTOR);
      const part = src.subarray(done, done + n);
      const gte = await this.entry(at);
      if (this.kindOf(gte) === 'data') {
        // A hostile entry must not make a write land on metadata or grow the file.
        if (gte < this.h.overHead || (gte + inGrain) * SECTOR + n > this.file.size) {
          throw new FormatError(this.file.path, `grain table entry for sector ${at} points to sector ${gte}, outside the grain area (refusing to write)`);
        }
        await this.file.write((gte + inGrain) * SECTOR, part);
      } else {
        await this.allocateGrain(at - inGrain, gte, inGrain, part, below);
      }
      done += n;
    }
  }

  private async allocateGrain(grainRel: number, gte: number, inGrain: number, part: Uint8Array, below: BelowReader): Promise<void> {
    const grain = new Uint8Array(this.grainBytes);
    if (part.length < this.grainBytes && this.kindOf(gte) === 'unallocated') {
      const inside = Math.min(this.grainBytes, (this.sectors - grainRel) * SECTOR);
      await below(grainRel, grain.subarray(0, inside));
    }
    grain.set(part, inGrain * SECTOR);
    const grainIndex = grainRel / this.h.grainSize;
    const gdi = Math.floor(grainIndex / this.h.numGTEsPerGT);
    let gt = await this.table(gdi);
    if (gt === undefined) gt = await this.allocateTable(gdi);
    // Validate both tables before the grain is appended, so a refusal leaves the file as it was.
    this.assertTableWritable(this.gd[gdi]!, this.h.numGTEsPerGT * 4);
    if (this.rgd && this.rgd[gdi] !== 0) this.assertTableWritable(this.rgd[gdi]!, this.h.numGTEsPerGT * 4);
    const where = Math.ceil(this.file.size / SECTOR);
    if (where > 0xffffffff - this.h.grainSize) throw new FormatError(this.file.path, 'sparse extent is full: grain offsets no longer fit in 32 bits');
    await this.file.write(where * SECTOR, grain);
    const slot = grainIndex % this.h.numGTEsPerGT;
    await this.putEntry(this.gd[gdi]!, slot, where);
    if (this.rgd) await this.putEntry(this.rgd[gdi]!, slot, where);
    gt[slot] = where;
  }

  /**
   * A grain table about to be written must not overlap the header, the embedded descriptor or the
   * grain directories: a hostile directory entry could otherwise turn a guest write into metadata damage.
   */
  private assertTableWritable(tableSector: number, bytes: number): void {
    const h = this.h;
    const dirBytes = this.gd.length * 4;
    const reserved: [number, number][] = [[0, SECTOR], [h.descriptorOffset * SECTOR, h.descriptorSize * SECTOR], [h.gdOffset * SECTOR, dirBytes]];
    if (this.rgd) reserved.push([h.rgdOffset * SECTOR, dirBytes]);
    const start = tableSector * SECTOR;
    for (const [at, len] of reserved) {
      if (start < at + len && at < start + bytes) {
        throw new FormatError(this.file.path, `grain table at sector ${tableSector} overlaps the header, descriptor or grain directory (refusing to write)`);
      }
    }
    if (start + bytes > this.file.size) throw new FormatError(this.file.path, `grain table at sector ${tableSector} lies past the end of the file (refusing to write)`);
  }

  private async putEntry(tableSector: number, slot: number, value: number): Promise<void> {
    if (tableSector === 0) return;
    this.assertTableWritable(tableSector, this.h.numGTEsPerGT * 4);
    await this.put32(tableSector, slot, value);
  }

  private async put32(tableSector: number, slot: number, value: number): Promise<void> {
    const b = new Uint8Array(4);
    viewOf(b).setUint32(0, value, true);
    await this.file.write(tableSector * SECTOR + slot * 4, b);
  }

  /** Appends an empty grain table (and its redundant twin) and points the directories at it. */
  private async allocateTable(gdi: number): Promise<Uint32Array> {
    const bytes = Math.ceil((this.h.numGTEsPerGT * 4) / SECTOR) * SECTOR;
    const zeros = new Uint8Array(bytes);
    const place = async (dirSector: number, dir: Uint32Array): Promise<void> => {
      const at = Math.ceil(this.file.size / SECTOR);
      await this.file.write(at * SECTOR, zeros);
      await this.put32(dirSector, gdi, at);
      dir[gdi] = at;
    };
    if (this.rgd) await place(this.h.rgdOffset, this.rgd);
    await place(this.h.gdOffset, this.gd);
    const gt = new Uint32Array(this.h.numGTEsPerGT);
    this.gtCache.set(gdi, gt);
    return gt;
  }
}

export async function readTable(file: ImageFile, sector: number, entries: number, what: string): Promise<Uint32Array> {
  const raw = new Uint8Array(entries * 4);
  await file.readExact(sector * SECTOR, raw, what);
  const v = viewOf(raw);
  const out = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) out[i] = v.getUint32(i * 4, true);
  return out;
}
