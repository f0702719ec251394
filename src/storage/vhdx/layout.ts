/**
 * Fixed structures of an MS-VHDX file: the file type identifier, the two headers and the two region
 * tables, with their parse (validating every field a hostile file can set) and serialise.
 */
import { FormatError } from '../../common/errors.js';
import { crc32c, crc32cWithZeroField } from './crc32c.js';
import { guidEquals, parseGuid, type Guid } from './guid.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
export const REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const;
export const HEADER_SIZE = 4 * KiB;
export const REGION_TABLE_SIZE = 64 * KiB;
/** Everything below this offset is the fixed header section; regions live at or above it. */
export const HEADER_SECTION_END = 1 * MiB;
/** The largest virtual disk MS-VHDX allows (64 TiB). */
export const MAX_VIRTUAL_SIZE = 64 * 1024 * 1024 * MiB;

export const BAT_REGION_GUID = parseGuid('2DC27766-F623-4200-9D64-115E9BFD4A08');
export const METADATA_REGION_GUID = parseGuid('8B7CA206-4790-4B9A-B8FE-575F050F886E');

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const FILE_SIGNATURE = enc('vhdxfile');
const HEADER_SIGNATURE = enc('head');
const REGION_SIGNATURE = enc('regi');

export function bytesEqual(buf: Uint8Array, off: number, sig: Uint8Array): boolean {
  for (let i = 0; i < sig.length; i++) if (buf[off + i] !== sig[i]) return false;
  return true;
}

export function u64(dv: DataView, off: number): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  // Offsets and sizes above 2^53 cannot be meaningful in a file; report them as unsafe instead of rounding.
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
  return hi * 0x100000000 + lo;
}

export function setU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 0x100000000, true);
  dv.setUint32(off + 4, Math.floor(v / 0x100000000), true);
}

export function fileIdentifier(creator: string): Uint8Array {
  const buf = new Uint8Array(64 * KiB);
  buf.set(FILE_SIGNATURE, 0);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < creator.length && i < 256; i++) dv.setUint16(8 + i * 2, creator.charCodeAt(i), true);
  return buf;
}

export interface VhdxHeader {
  sequenceNumber: number;
  fileWriteGuid: Guid;
  dataWriteGuid: Guid;
  logGuid: Guid;
  logLength: number;
  logOffset: number;
}

/** Parses one header slot; returns a reason string instead of a header when the slot is not valid. */
export function parseHeader(buf: Uint8Array): VhdxHeader | string {
  if (!bytesEqual(buf, 0, HEADER_SIGNATURE)) return 'bad signature (expected "head")';
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const stored = dv.getUint32(4, true);
  const actual = crc32cWithZeroField(buf.subarray(0, HEADER_SIZE), 4);
  if (stored !== actual) return `bad CRC-32C checksum (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`;
  const logVersion = dv.getUint16(64, true);
  const version = dv.getUint16(66, true);
  if (version !== 1) return `unsupported version ${version} (expected 1)`;
  if (logVersion !== 0) return `unsupported log version ${logVersion} (expected 0)`;
  const sequenceNumber = u64(dv, 8);
  if (!Number.isFinite(sequenceNumber)) return 'sequence number is beyond 2^53';
  return {
    sequenceNumber,
    fileWriteGuid: buf.slice(16, 32),
    dataWriteGuid: buf.slice(32, 48),
    logGuid: buf.slice(48, 64),
    logLength: dv.getUint32(68, true),
    logOffset: u64(dv, 72),
  };
}

export function serializeHeader(h: VhdxHeader): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(buf.buffer);
  buf.set(HEADER_SIGNATURE, 0);
  setU64(dv, 8, h.sequenceNumber);
  buf.set(h.fileWriteGuid, 16);
  buf.set(h.dataWriteGuid, 32);
  buf.set(h.logGuid, 48);
  dv.setUint16(64, 0, true);
  dv.setUint16(66, 1, true);
  dv.setUint32(68, h.logLength, true);
  setU64(dv, 72, h.logOffset);
  dv.setUint32(4, crc32c(buf), true);
  return buf;
}

export interface Region {
  offset: number;
  length: number;
}

export interface RegionTable {
  bat: Region;
  metadata: Region;
}

/** Parses one region table copy; a string return names why the copy is unusable. */
export function parseRegionTable(buf: Uint8Array, file: string): RegionTable | string {
  if (!bytesEqual(buf, 0, REGION_SIGNATURE)) return 'bad signature (expected "regi")';
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const stored = dv.getUint32(4, true);
  const actual = crc32cWithZeroField(buf.subarray(0, REGION_TABLE_SIZE), 4);
  if (stored !== actual) return `bad CRC-32C checksum (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`;
  const count = dv.getUint32(8, true);
  if (count > 2047) return `entry count ${count} exceeds the limit of 2047`;
  let bat: Region | undefined;
  let metadata: Region | undefined;
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 32;
    const region = { offset: u64(dv, at + 16), length: dv.getUint32(at + 24, true) };
    const required = (dv.getUint32(at + 28, true) & 1) !== 0;
    if (guidEquals(buf, at, BAT_REGION_GUID)) bat = region;
    else if (guidEquals(buf, at, METADATA_REGION_GUID)) metadata = region;
    else if (required) throw new FormatError(file, `region table entry ${i} is a required region this driver does not know`);
  }
  if (bat === undefined) return 'no BAT region entry';
  if (metadata === undefined) return 'no metadata region entry';
  return { bat, metadata };
}

export function serializeRegionTable(t: RegionTable): Uint8Array {
  const buf = new Uint8Array(REGION_TABLE_SIZE);
  const dv = new DataView(buf.buffer);
  buf.set(REGION_SIGNATURE, 0);
  dv.setUint32(8, 2, true);
  const put = (i: number, guid: Guid, r: Region): void => {
    const at = 16 + i * 32;
    buf.set(guid, at);
    setU64(dv, at + 16, r.offset);
    dv.setUint32(at + 24, r.length, true);
    dv.setUint32(at + 28, 1, true);
  };
  put(0, BAT_REGION_GUID, t.bat);
  put(1, METADATA_REGION_GUID, t.metadata);
  dv.setUint32(4, crc32c(buf), true);
  return buf;
}
