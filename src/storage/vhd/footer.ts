/**
 * The VHD footer (Microsoft VHD specification, "Hard Disk Footer Format"): 512 big-endian bytes at
 * the end of every VHD, with a copy at offset 0 of dynamic and differencing disks.
 */
import { FormatError } from '../../common/errors.js';

export const FOOTER_SIZE = 512;
export const VHD_MAX_SIZE = 2040 * 1024 ** 3;
export const NO_DATA_OFFSET = 0xffffffffffffffffn;
export const DISK_TYPE_CODE = { fixed: 2, dynamic: 3, differencing: 4 } as const;
/** VHD timestamps count seconds from 2000-01-01 00:00:00 UTC. */
export const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);
/**
 * The creator application field decides, for qemu and Virtual PC, whether the disk size comes from
 * the CHS geometry or from Current Size. "win " declares Hyper-V semantics (Current Size wins),
 * which is what we implement, so other tools see exactly the size we wrote.
 */
export const CREATOR_APP = 'win ';
const COOKIE = 'conectix';

export interface VhdFooter {
  features: number;
  dataOffset: bigint;
  timestamp: number;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: number;
  originalSize: number;
  currentSize: number;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  diskType: 'fixed' | 'dynamic' | 'differencing';
  uniqueId: Uint8Array;
  savedState: number;
}

/** One's complement of the byte sum, skipping the 4 checksum bytes at `skip`. */
export function vhdChecksum(bytes: Uint8Array, skip: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= skip && i < skip + 4) continue;
    sum = (sum + bytes[i]!) >>> 0;
  }
  return ~sum >>> 0;
}

export function hasFooterCookie(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).toString('latin1') === COOKIE;
}

/** CHS geometry exactly as the specification's appendix computes it. */
export function chsGeometry(sizeBytes: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  let total = Math.floor(sizeBytes / 512);
  if (total > 65535 * 16 * 255) total = 65535 * 16 * 255;
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.floor((cth + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export function parseFooter(file: string, bytes: Uint8Array, where: string): VhdFooter {
  if (bytes.length < FOOTER_SIZE) throw new FormatError(file, `VHD footer ${where} is truncated`);
  if (!hasFooterCookie(bytes)) throw new FormatError(file, `VHD footer ${where} lacks the 'conectix' cookie`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, FOOTER_SIZE);
  const stored = v.getUint32(64);
  const computed = vhdChecksum(bytes.subarray(0, FOOTER_SIZE), 64);
  if (stored !== computed) {
    throw new FormatError(file, `VHD footer ${where} checksum is 0x${stored.toString(16)}, expected 0x${computed.toString(16)}`);
  }
  const version = v.getUint32(12);
  if (version >>> 16 !== 1) throw new FormatError(file, `VHD footer ${where} has unsupported format version 0x${version.toString(16)}`);
  const typeCode = v.getUint32(60);
  const diskType = typeCode === 2 ? 'fixed' : typeCode === 3 ? 'dynamic' : typeCode === 4 ? 'differencing' : undefined;
  if (diskType === undefined) throw new FormatError(file, `VHD footer ${where} has unknown disk type ${typeCode}`);
  const currentSize = v.getBigUint64(48);
  if (currentSize > BigInt(VHD_MAX_SIZE) || currentSize % 512n !== 0n || currentSize === 0n) {
    throw new FormatError(file, `VHD footer ${where}: current size ${currentSize} is not a multiple of 512 between 512 bytes and 2040 GiB`);
  }
  const originalSize = v.getBigUint64(40);
  return {
    features: v.getUint32(8),
    dataOffset: v.getBigUint64(16),
    timestamp: v.getUint32(24),
    creatorApp: Buffer.from(bytes.subarray(28, 32)).toString('latin1'),
    creatorVersion: v.getUint32(32),
    creatorHostOs: v.getUint32(36),
    originalSize: originalSize > BigInt(Number.MAX_SAFE_INTEGER) ? Number(currentSize) : Number(originalSize),
    currentSize: Number(currentSize),
    cylinders: v.getUint16(56),
    heads: bytes[58]!,
    sectorsPerTrack: bytes[59]!,
    diskType,
    uniqueId: bytes.slice(68, 84),
    savedState: bytes[84]!,
  };
}

export function serializeFooter(f: VhdFooter): Uint8Array {
  const bytes = new Uint8Array(FOOTER_SIZE);
  const v = new DataView(bytes.buffer);
  bytes.set(Buffer.from(COOKIE, 'latin1'), 0);
  v.setUint32(8, f.features);
  v.setUint32(12, 0x00010000);
  v.setBigUint64(16, f.dataOffset);
  v.setUint32(24, f.timestamp);
  bytes.set(Buffer.from(f.creatorApp.padEnd(4).slice(0, 4), 'latin1'), 28);
  v.setUint32(32, f.creatorVersion);
  v.setUint32(36, f.creatorHostOs);
  v.setBigUint64(40, BigInt(f.originalSize));
  v.setBigUint64(48, BigInt(f.currentSize));
  v.setUint16(56, f.cylinders);
  bytes[58] = f.heads;
  bytes[59] = f.sectorsPerTrack;
  v.setUint32(60, DISK_TYPE_CODE[f.diskType]);
  bytes.set(f.uniqueId.subarray(0, 16), 68);
  bytes[84] = f.savedState;
  v.setUint32(64, vhdChecksum(bytes, 64));
  return bytes;
}

export function vhdTimestampNow(): number {
  return Math.max(0, Math.floor((Date.now() - VHD_EPOCH_MS) / 1000)) >>> 0;
}

export function newFooter(size: number, diskType: VhdFooter['diskType'], uniqueId: Uint8Array): VhdFooter {
  const g = chsGeometry(size);
  return {
    features: 2,
    dataOffset: diskType === 'fixed' ? NO_DATA_OFFSET : 512n,
    timestamp: vhdTimestampNow(),
    creatorApp: CREATOR_APP,
    creatorVersion: 0x000a0000,
    creatorHostOs: 0x5769326b, // "Wi2k"
    originalSize: size,
    currentSize: size,
    cylinders: g.cylinders,
    heads: g.heads,
    sectorsPerTrack: g.sectorsPerTrack,
    diskType,
    uniqueId,
    savedState: 0,
  };
}

export function formatUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
