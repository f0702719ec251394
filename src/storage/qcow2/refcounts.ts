/**
 * The refcount table and blocks of a writable qcow2 image, and the cluster allocator built on
 * them. New clusters are always appended at the end of the file, so an allocation never overlaps a
 * structure that exists; refcounts are raised before anything points at the new cluster, so a
 * crash can leak clusters but never leave a referenced cluster with refcount 0.
 */
import { FormatError } from '../../common/errors.js';
import type { ImageFile } from '../vmdk/image-file.js';
import { u64, viewOf } from '../vmdk/image-file.js';
import type { Qcow2Header } from './header.js';

const BLOCK_CACHE_LIMIT = 64;

export class Refcounts {
  private readonly table: Float64Array;
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly bits: number;
  private readonly perBlock: number;
  private readonly max: number;
  private end: number;

  private constructor(private readonly file: ImageFile, private readonly h: Qcow2Header, table: Float64Array) {
    this.table = table;
    this.bits = 2 ** h.refcountOrder;
    this.perBlock = (h.clusterSize * 8) / this.bits;
    this.max = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.end = Math.ceil(file.size / h.clusterSize) * h.clusterSize;
  }

  /** Host offsets of the refcount blocks (0 where a block is absent). */
  get blockOffsets(): Float64Array {
    return this.table;
  }

  static async load(file: ImageFile, h: Qcow2Header): Promise<Refcounts> {
    const bytes = h.refcountTableClusters * h.clusterSize;
    const raw = new Uint8Array(bytes);
    await file.readExact(h.refcountTableOffset, raw, 'refcount table');
    const v = viewOf(raw);
    const table = new Float64Array(bytes / 8);
    for (let i = 0; i < table.length; i++) {
      const off = u64(v, i * 8, false, file.path, `refcount table entry ${i}`);
      const aligned = off - (off % 512);
      if (aligned % h.clusterSize !== 0) throw new FormatError(file.path, `refcount table entry ${i} points to unaligned offset ${aligned}`);
      table[i] = aligned;
    }
    return new Refcounts(file, h, table);
  }

  private async block(t: number): Promise<Uint8Array> {
    let b = this.blocks.get(t);
    if (b === undefined) {
      b = new Uint8Array(this.h.clusterSize);
      await this.file.readExact(this.table[t]!, b, `refcount block ${t}`);
      if (this.blocks.size >= BLOCK_CACHE_LIMIT) this.blocks.delete(this.blocks.keys().next().value as number);
      this.blocks.set(t, b);
    }
    return b;
  }

  private read(b: Uint8Array, i: number): number {
    const v = viewOf(b);
    switch (this.bits) {
      case 64: return v.getUint32(i * 8, false) * 0x1_0000_0000 + v.getUint32(i * 8 + 4, false);
      case 32: return v.getUint32(i * 4, false);
      case 16: return v.getUint16(i * 2, false);
      case 8: return b[i]!;
      default: return (b[Math.floor((i * this.bits) / 8)]! >> ((i * this.bits) % 8)) & (this.max);
    }
  }

  /** Stores the value in the cached block and returns the byte range that changed. */
  private store(b: Uint8Array, i: number, value: number): [number, number] {
    const v = viewOf(b);
    switch (this.bits) {
      case 64:
        v.setUint32(i * 8, Math.floor(value / 0x1_0000_0000), false);
        v.setUint32(i * 8 + 4, value % 0x1_0000_0000, false);
        return [i * 8, 8];
      case 32: v.setUint32(i * 4, value, false); return [i * 4, 4];
      case 16: v.setUint16(i * 2, value, false); return [i * 2, 2];
      case 8: b[i] = value; return [i, 1];
      default: {
        const byte = Math.floor((i * this.bits) / 8);
        const shift = (i * this.bits) % 8;
        b[byte] = (b[byte]! & ~(this.max << shift)) | (value << shift);
        return [byte, 1];
      }
    }
  }

  /** Adds delta to the refcount of host cluster `index`, creating its refcount block if needed. */
  async adjust(index: number, delta: number): Promise<void> {
    const t = Math.floor(index / this.perBlock);
    if (t >= this.table.length) {
      throw new FormatError(this.file.path, `refcount table is full (${this.table.length} entries); growing it is not supported — convert the image with qemu-img`);
    }
    if (this.table[t] === 0) await this.newBlock(t);
    const b = await this.block(t);
    const i = index % this.perBlock;
    const next = this.read(b, i) + delta;
    if (next < 0 || next > this.max) throw new FormatError(this.file.path, `refcount of cluster ${index} would become ${next}; the refcounts are damaged (run qemu-img check)`);
    const [at, len] = this.store(b, i, next);
    await this.file.write(this.table[t]! + at, b.subarray(at, at + len));
  }

  /** Appends a refcount block for table entry t; the block counts itself when it lies in its own range. */
  private async newBlock(t: number): Promise<void> {
    const off = this.end;
    this.end += this.h.clusterSize;
    const b = new Uint8Array(this.h.clusterSize);
    const self = off / this.h.clusterSize;
    const counted = Math.floor(self / this.perBlock) === t;
    if (counted) this.store(b, self % this.perBlock, 1);
    await this.file.write(off, b);
    if (!counted) await this.adjust(self, 1);
    await this.file.sync();
    const e = new Uint8Array(8);
    viewOf(e).setUint32(0, Math.floor(off / 0x1_0000_0000), false);
    viewOf(e).setUint32(4, off % 0x1_0000_0000, false);
    await this.file.write(this.h.refcountTableOffset + t * 8, e);
    this.table[t] = off;
    this.blocks.set(t, b);
  }

  /** A new cluster at the end of the file with refcount 1 (its contents are the caller's to write). */
  async allocate(): Promise<number> {
    const off = this.end;
    this.end += this.h.clusterSize;
    await this.adjust(off / this.h.clusterSize, 1);
    // adjust() may have appended a refcount block past `off`; the file end moved with it.
    return off;
  }
}
