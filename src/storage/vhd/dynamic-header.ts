/**
 * The VHD dynamic disk header ("cxsparse", 1024 bytes) and its parent locator entries.
 */
import { FormatError } from '../../common/errors.js';
import { vhdChecksum } from './footer.js';

export const DYN_HEADER_SIZE = 1024;
export const LOCATOR_COUNT = 8;
const COOKIE = 'cxsparse';

export interface ParentLocator {
  /** 'W2ru' (Windows relative, UTF-16LE), 'W2ku' (Windows absolute, UTF-16LE), 'MacX' (file URL, UTF-8)... */
  platformCode: string;
  dataSpace: number;
  dataLength: number;
  dataOffset: number;
}

export interface DynamicHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  parentUniqueId: Uint8Array;
  parentTimestamp: number;
  parentName: string;
  locators: ParentLocator[];
}

export function parseDynamicHeader(file: string, bytes: Uint8Array, fileSize: number): DynamicHeader {
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== COOKIE) {
    throw new FormatError(file, "VHD dynamic header lacks the 'cxsparse' cookie");
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, DYN_HEADER_SIZE);
  const stored = v.getUint32(36);
  const computed = vhdChecksum(bytes.subarray(0, DYN_HEADER_SIZE), 36);
  if (stored !== computed) {
    throw new FormatError(file, `VHD dynamic header checksum is 0x${stored.toString(16)}, expected 0x${computed.toString(16)}`);
  }
  const version = v.getUint32(24);
  if (version >>> 16 !== 1) throw new FormatError(file, `VHD dynamic header has unsupported version 0x${version.toString(16)}`);
  const tableOffset = v.getBigUint64(16);
  if (tableOffset >= BigInt(fileSize) || tableOffset % 512n !== 0n) {
    throw new FormatError(file, `VHD dynamic header: BAT offset ${tableOffset} is not a sector inside the ${fileSize}-byte file`);
  }
  const blockSize = v.getUint32(32);
  // A power of two from one sector up to 256 MiB keeps bitmaps small and offsets in range.
  if (blockSize < 512 || blockSize > 256 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw new FormatError(file, `VHD dynamic header: block size ${blockSize} is not a power of two between 512 bytes and 256 MiB`);
  }
  const maxTableEntries = v.getUint32(28);
  const nameBytes = bytes.subarray(64, 576);
  const parentName = decodeUtf16Be(nameBytes);
  const locators: ParentLocator[] = [];
  for (let i = 0; i < LOCATOR_COUNT; i++) {
    const o = 576 + i * 24;
    const code = v.getUint32(o);
    if (code === 0) continue;
    const dataOffset = v.getBigUint64(o + 16);
    locators.push({
      platformCode: Buffer.from(bytes.subarray(o, o + 4)).toString('latin1'),
      dataSpace: v.getUint32(o + 4),
      dataLength: v.getUint32(o + 8),
      dataOffset: dataOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(dataOffset),
    });
  }
  return {
    tableOffset: Number(tableOffset), maxTableEntries, blockSize,
    parentUniqueId: bytes.slice(40, 56), parentTimestamp: v.getUint32(56), parentName, locators,
  };
}

export function serializeDynamicHeader(h: DynamicHeader): Uint8Array {
  const bytes = new Uint8Array(DYN_HEADER_SIZE);
  const v = new DataView(bytes.buffer);
  bytes.set(Buffer.from(COOKIE, 'latin1'), 0);
  v.setBigUint64(8, 0xffffffffffffffffn);
  v.setBigUint64(16, BigInt(h.tableOffset));
  v.setUint32(24, 0x00010000);
  v.setUint32(28, h.maxTableEntries);
  v.setUint32(32, h.blockSize);
  bytes.set(h.parentUniqueId.subarray(0, 16), 40);
  v.setUint32(56, h.parentTimestamp);
  bytes.set(encodeUtf16Be(h.parentName).subarray(0, 512), 64);
  h.locators.slice(0, LOCATOR_COUNT).forEach((l, i) => {
    const o = 576 + i * 24;
    bytes.set(Buffer.from(l.platformCode.padEnd(4).slice(0, 4), 'latin1'), o);
    v.setUint32(o + 4, l.dataSpace);
    v.setUint32(o + 8, l.dataLength);
    v.setBigUint64(o + 16, BigInt(l.dataOffset));
  });
  v.setUint32(36, vhdChecksum(bytes, 36));
  return bytes;
}

function decodeUtf16Be(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = (b[i]! << 8) | b[i + 1]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function encodeUtf16Be(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i * 2] = c >> 8;
    out[i * 2 + 1] = c & 0xff;
  }
  return out;
}

/** Encodes a locator's path the way its platform code requires. */
export function encodeLocatorPath(code: string, path: string): Uint8Array {
  if (code === 'MacX') return Buffer.from(`file://${encodeURI(path)}`, 'utf8');
  return Buffer.from(path, 'utf16le');
}

/** Decodes a locator into a host path, or undefined when the data is not a usable path. */
export function decodeLocatorPath(code: string, data: Uint8Array): string | undefined {
  if (code === 'W2ru' || code === 'W2ku') {
    let s = Buffer.from(data).toString('utf16le');
    const nul = s.indexOf('\0');
    if (nul >= 0) s = s.slice(0, nul);
    return s.length > 0 ? s : undefined;
  }
  if (code === 'MacX') {
    let s = Buffer.from(data).toString('utf8');
    const nul = s.indexOf('\0');
    if (nul >= 0) s = s.slice(0, nul);
    const m = /^file:\/\/(?:localhost)?(\/.*)$/.exec(s);
    if (!m) return undefined;
    try {
      return decodeURI(m[1]!);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
