/**
 * The 512-byte header of a VMDK hosted sparse extent (VMware Virtual Disk Format 1.1, "Hosted
 * Sparse Extent Header"), little-endian. streamOptimized files may carry the real values in a
 * footer near the end of the file, flagged by gdOffset = GD_AT_END in the header.
 */
import { FormatError } from '../../common/errors.js';
import { u64, viewOf } from './image-file.js';

export const SPARSE_MAGIC = 0x564d444b; // "KDMV" read little-endian
export const SECTOR = 512;
export const FLAG_NEWLINE_TEST = 1 << 0;
export const FLAG_REDUNDANT_GT = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_DEFLATE = 1;
/** Largest grain accepted: bounds the buffer one grain read (and one inflate) may allocate. */
export const MAX_GRAIN_SECTORS = 1 << 15;
const MAX_GTES_PER_GT = 1 << 16;

export interface SparseHeader {
  version: number;
  flags: number;
  capacity: number;
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  /** Grain directory sector, or -1 when the header says it is in the footer (GD_AT_END). */
  gdOffset: number;
  overHead: number;
  uncleanShutdown: boolean;
  compressAlgorithm: number;
}

export function hasSparseMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && viewOf(buf).getUint32(0, true) === SPARSE_MAGIC;
}

export function parseSparseHeader(buf: Uint8Array, file: string, where: string): SparseHeader {
  const v = viewOf(buf);
  if (v.getUint32(0, true) !== SPARSE_MAGIC) throw new FormatError(file, `${where}: bad magic (not a VMDK sparse extent)`);
  const version = v.getUint32(4, true);
  if (version < 1 || version > 3) throw new FormatError(file, `${where}: unsupported sparse extent version ${version}`);
  const gdAtEnd = v.getUint32(56, true) === 0xffffffff && v.getUint32(60, true) === 0xffffffff;
  const h: SparseHeader = {
    version,
    flags: v.getUint32(8, true),
    capacity: u64(v, 12, true, file, `${where}: capacity`),
    grainSize: u64(v, 20, true, file, `${where}: grainSize`),
    descriptorOffset: u64(v, 28, true, file, `${where}: descriptorOffset`),
    descriptorSize: u64(v, 36, true, file, `${where}: descriptorSize`),
    numGTEsPerGT: v.getUint32(44, true),
    rgdOffset: u64(v, 48, true, file, `${where}: rgdOffset`),
    gdOffset: gdAtEnd ? -1 : u64(v, 56, true, file, `${where}: gdOffset`),
    overHead: u64(v, 64, true, file, `${where}: overHead`),
    uncleanShutdown: buf[72] !== 0,
    compressAlgorithm: v.getUint16(77, true),
  };
  if (h.flags & FLAG_NEWLINE_TEST) {
    if (buf[73] !== 0x0a || buf[74] !== 0x20 || buf[75] !== 0x0d || buf[76] !== 0x0a) {
      throw new FormatError(file, `${where}: newline test bytes are damaged (file was transferred in text mode?)`);
    }
  }
  if (h.grainSize < 1 || h.grainSize > MAX_GRAIN_SECTORS || (h.grainSize & (h.grainSize - 1)) !== 0) {
    throw new FormatError(file, `${where}: grainSize ${h.grainSize} sectors is not a power of two between 1 and ${MAX_GRAIN_SECTORS}`);
  }
  if (h.numGTEsPerGT < 1 || h.numGTEsPerGT > MAX_GTES_PER_GT) {
    throw new FormatError(file, `${where}: numGTEsPerGT ${h.numGTEsPerGT} is outside 1..${MAX_GTES_PER_GT}`);
  }
  if (h.flags & FLAG_COMPRESSED && h.compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw new FormatError(file, `${where}: unknown grain compression algorithm ${h.compressAlgorithm}`);
  }
  if (h.capacity * SECTOR > Number.MAX_SAFE_INTEGER) throw new FormatError(file, `${where}: capacity ${h.capacity} sectors is too large`);
  return h;
}

export function serializeSparseHeader(h: SparseHeader): Uint8Array {
  const buf = new Uint8Array(SECTOR);
  const v = viewOf(buf);
  const put64 = (off: number, n: number): void => {
    v.setUint32(off, n % 0x1_0000_0000, true);
    v.setUint32(off + 4, Math.floor(n / 0x1_0000_0000), true);
  };
  v.setUint32(0, SPARSE_MAGIC, true);
  v.setUint32(4, h.version, true);
  v.setUint32(8, h.flags, true);
  put64(12, h.capacity);
  put64(20, h.grainSize);
  put64(28, h.descriptorOffset);
  put64(36, h.descriptorSize);
  v.setUint32(44, h.numGTEsPerGT, true);
  put64(48, h.rgdOffset);
  if (h.gdOffset < 0) {
    v.setUint32(56, 0xffffffff, true);
    v.setUint32(60, 0xffffffff, true);
  } else {
    put64(56, h.gdOffset);
  }
  put64(64, h.overHead);
  buf[72] = h.uncleanShutdown ? 1 : 0;
  buf[73] = 0x0a;
  buf[74] = 0x20;
  buf[75] = 0x0d;
  buf[76] = 0x0a;
  v.setUint16(77, h.compressAlgorithm, true);
  return buf;
}
