/**
 * Guest cluster -> host location through the L1 and L2 tables. L2 tables are cached (bounded by
 * bytes), and every host offset is checked for alignment and against the file length.
 */
import { FormatError } from '../../common/errors.js';
import type { ImageFile } from '../vmdk/image-file.js';
import { viewOf } from '../vmdk/image-file.js';
import type { Qcow2Header } from './header.js';

const L2_CACHE_BYTES = 16 * 1024 * 1024;
const OFFSET_HI_MASK = 0x00ffffff; // bits 32..55 of a standard L1/L2 entry
const OFFSET_LO_MASK = 0xfffffe00; // bits 9..31

export type ClusterKind = 'unallocated' | 'zero' | 'data' | 'compressed';

/** Where one guest cluster lives. `offset`/`compressedSize` are meaningful for data/compressed only. */
export interface ClusterLocation {
  kind: ClusterKind;
  offset: number;
  compressedSize: number;
}

export class ClusterMap {
  readonly l2Entries: number;
  private readonly l2Cache = new Map<number, DataView>();
  private readonly l2CacheLimit: number;
  private readonly csizeShift: number;

  private constructor(
    private readonly file: ImageFile,
    private readonly h: Qcow2Header,
    readonly l1: Float64Array,
  ) {
    this.l2Entries = h.clusterSize / 8;
    this.l2CacheLimit = Math.max(4, Math.floor(L2_CACHE_BYTES / h.clusterSize));
    this.csizeShift = 62 - (h.clusterBits - 8);
  }

  static async load(file: ImageFile, h: Qcow2Header, l1Offset = h.l1Offset, l1Size = h.l1Size): Promise<ClusterMap> {
    const raw = new Uint8Array(l1Size * 8);
    await file.readExact(l1Offset, raw, 'L1 table');
    const v = viewOf(raw);
    const l1 = new Float64Array(l1Size);
    for (let i = 0; i < l1Size; i++) {
      const off = standardOffset(v.getUint32(i * 8, false), v.getUint32(i * 8 + 4, false));
      if (off % h.clusterSize !== 0) throw new FormatError(file.path, `L1 entry ${i} points to unaligned offset ${off}`);
      l1[i] = off;
    }
    return new ClusterMap(file, h, l1);
  }

  /** The L2 table for L1 index i, or undefined when the whole range is unallocated. */
  async l2(i: number): Promise<DataView | undefined> {
    const off = this.l1[i]!;
    if (off === 0) return undefined;
    let t = this.l2Cache.get(i);
    if (t === undefined) {
      const raw = new Uint8Array(this.h.clusterSize);
      await this.file.readExact(off, raw, `L2 table ${i} (L1 entry ${i})`);
      t = viewOf(raw);
      if (this.l2Cache.size >= this.l2CacheLimit) this.l2Cache.delete(this.l2Cache.keys().next().value as number);
      this.l2Cache.set(i, t);
    }
    return t;
  }

  /** Points L1 entry i at a new L2 table (marked COPIED: refcount exactly 1). */
  async setL1(i: number, l2Offset: number): Promise<void> {
    await this.file.write(this.h.l1Offset + i * 8, entryBytes(l2Offset, 0x80000000, 0));
    this.l1[i] = l2Offset;
  }

  /** Rewrites one L2 entry: a data cluster (COPIED), or 0 / the zero flag when offset is 0. */
  async setL2(i: number, slot: number, offset: number, zeroFlag: boolean): Promise<void> {
    const bytes = entryBytes(offset, offset !== 0 ? 0x80000000 : 0, zeroFlag ? 1 : 0);
    await this.file.write(this.l1[i]! + slot * 8, bytes);
    const t = this.l2Cache.get(i);
    if (t !== undefined) {
      t.setUint32(slot * 8, viewOf(bytes).getUint32(0, false), false);
      t.setUint32(slot * 8 + 4, viewOf(bytes).getUint32(4, false), false);
    }
  }

  async locate(cluster: number): Promise<ClusterLocation> {
    const i = Math.floor(cluster / this.l2Entries);
    const t = i < this.l1.length ? await this.l2(i) : undefined;
    if (t === undefined) return { kind: 'unallocated', offset: 0, compressedSize: 0 };
    return this.decode(t, cluster % this.l2Entries, cluster);
  }

  decode(t: DataView, slot: number, cluster: number): ClusterLocation {
    const hi = t.getUint32(slot * 8, false);
    const lo = t.getUint32(slot * 8 + 4, false);
    if (hi & 0x40000000) return this.decodeCompressed(hi, lo, cluster);
    const offset = standardOffset(hi, lo);
    if (this.h.version === 3 && lo & 1) return { kind: 'zero', offset, compressedSize: 0 };
    if (offset === 0) return { kind: 'unallocated', offset: 0, compressedSize: 0 };
    if (offset % this.h.clusterSize !== 0) {
      throw new FormatError(this.file.path, `L2 entry for guest cluster ${cluster} points to unaligned offset ${offset}`);
    }
    if (offset + this.h.clusterSize > this.file.size) {
      throw new FormatError(this.file.path, `L2 entry for guest cluster ${cluster} points to offset ${offset}, past the end of the file (${this.file.size} bytes)`);
    }
    return { kind: 'data', offset, compressedSize: 0 };
  }

  private decodeCompressed(hi: number, lo: number, cluster: number): ClusterLocation {
    // Bits 0..x-1 are the host byte offset, bits x..61 the count of extra 512-byte sectors (x >= 49).
    const hiBits = this.csizeShift - 32;
    const offset = (hi & ((1 << hiBits) - 1)) * 0x1_0000_0000 + lo;
    const sectors = ((hi & 0x3fffffff) >>> hiBits) + 1;
    const compressedSize = sectors * 512 - (offset % 512);
    if (!Number.isSafeInteger(offset) || offset >= this.file.size) {
      throw new FormatError(this.file.path, `compressed cluster for guest cluster ${cluster} starts at offset ${offset}, past the end of the file (${this.file.size} bytes)`);
    }
    return { kind: 'compressed', offset, compressedSize };
  }
}

function standardOffset(hi: number, lo: number): number {
  return (hi & OFFSET_HI_MASK) * 0x1_0000_0000 + ((lo & OFFSET_LO_MASK) >>> 0);
}

function entryBytes(offset: number, hiFlags: number, loFlags: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = viewOf(b);
  v.setUint32(0, (Math.floor(offset / 0x1_0000_0000) | hiFlags) >>> 0, false);
  v.setUint32(4, ((offset % 0x1_0000_0000) | loFlags) >>> 0, false);
  return b;
}
