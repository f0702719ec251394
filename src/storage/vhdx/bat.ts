/**
 * Block allocation table geometry and entries (MS-VHDX 2.5). Entries are kept as two flat arrays
 * (state, file offset in MiB) so lookups on the I/O path are plain typed-array reads, 5 bytes per
 * entry. Offsets of 4 PiB and more cannot lie inside any file; they are kept as 0xffffffff MiB, which
 * validation then reports as past the end of the file.
 */
import { MiB } from './layout.js';

export const PAYLOAD_NOT_PRESENT = 0;
export const PAYLOAD_UNDEFINED = 1;
export const PAYLOAD_ZERO = 2;
export const PAYLOAD_UNMAPPED = 3;
export const PAYLOAD_FULLY_PRESENT = 6;
export const PAYLOAD_PARTIALLY_PRESENT = 7;
export const SB_NOT_PRESENT = 0;
export const SB_PRESENT = 6;
/** Sectors one sector bitmap block (1 MiB of bits) describes. */
export const SECTORS_PER_BITMAP = 8 * MiB;

export interface BatGeometry {
  chunkRatio: number;
  dataBlocks: number;
  bitmapBlocks: number;
  totalEntries: number;
}

export function batGeometry(virtualSize: number, blockSize: number, logicalSectorSize: number, hasParent: boolean): BatGeometry {
  const chunkRatio = (SECTORS_PER_BITMAP * logicalSectorSize) / blockSize;
  const dataBlocks = Math.ceil(virtualSize / blockSize);
  const bitmapBlocks = Math.ceil(dataBlocks / chunkRatio);
  const totalEntries = hasParent ? bitmapBlocks * (chunkRatio + 1) : dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
  return { chunkRatio, dataBlocks, bitmapBlocks, totalEntries };
}

export const payloadIndex = (block: number, chunkRatio: number): number => block + Math.floor(block / chunkRatio);
export const bitmapIndex = (chunk: number, chunkRatio: number): number => chunk * (chunkRatio + 1) + chunkRatio;
export const isBitmapIndex = (index: number, chunkRatio: number): boolean => index % (chunkRatio + 1) === chunkRatio;

export class BatTable {
  constructor(readonly state: Uint8Array, readonly offsetMiB: Uint32Array) {}

  static empty(count: number): BatTable {
    return new BatTable(new Uint8Array(count), new Uint32Array(count));
  }

  /** Decodes raw entries into [first, first + raw.length / 8). */
  decode(raw: Uint8Array, first: number): void {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    for (let k = 0; k < raw.length / 8; k++) {
      const lo = dv.getUint32(k * 8, true), hi = dv.getUint32(k * 8 + 4, true);
      this.state[first + k] = lo & 7;
      this.offsetMiB[first + k] = hi >= 0x100000 ? 0xffffffff : (lo >>> 20) + hi * 4096;
    }
  }

  /** A copy with `count` entries (new ones NOT_PRESENT, dropped ones gone). */
  resized(count: number): BatTable {
    const state = new Uint8Array(count);
    const off = new Uint32Array(count);
    const n = Math.min(count, this.state.length);
    state.set(this.state.subarray(0, n));
    off.set(this.offsetMiB.subarray(0, n));
    return new BatTable(state, off);
  }

  /** Serialises entries [first, first + out.length / 8) into `out`; entries past the table are zero. */
  serialize(first: number, out: Uint8Array): void {
    const dv = new DataView(out.buffer, out.byteOffset, out.length);
    for (let k = 0; k < out.length / 8; k++) {
      const i = first + k;
      const present = i < this.state.length;
      const off = present ? this.offsetMiB[i]! : 0;
      dv.setUint32(k * 8, present ? (this.state[i]! | ((off % 4096) << 20)) >>> 0 : 0, true);
      dv.setUint32(k * 8 + 4, present ? Math.floor(off / 4096) : 0, true);
    }
  }
}
