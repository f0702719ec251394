/**
 * The metadata region: a 64 KiB table of items followed by the items themselves (file parameters,
 * virtual disk size, page 83 id, sector sizes, parent locator). Serialised as one region image so a
 * change (resize) is a set of whole 4 KiB pages that can go through the log.
 */
import { FormatError } from '../../common/errors.js';
import { formatGuid, guidEquals, parseGuid, type Guid } from './guid.js';
import { bytesEqual, KiB, MAX_VIRTUAL_SIZE, MiB, setU64, u64 } from './layout.js';
import { parseParentLocator, serializeParentLocator } from './parent-locator.js';

const FILE_PARAMETERS = parseGuid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');
const VIRTUAL_DISK_SIZE = parseGuid('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const VIRTUAL_DISK_ID = parseGuid('BECA12AB-B2E6-4523-93EF-C309E000C746');
const LOGICAL_SECTOR_SIZE = parseGuid('8141BF1D-A96F-4709-BA47-F233A8FAAB5F');
const PHYSICAL_SECTOR_SIZE = parseGuid('CDA348C7-445D-4471-9CC9-E9885251C556');
const PARENT_LOCATOR = parseGuid('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');
const SIGNATURE = new TextEncoder().encode('metadata');
const TABLE_SIZE = 64 * KiB;

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  diskId: Guid;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Parent locator key/value pairs; present exactly when hasParent. */
  parentLocator: Map<string, string> | undefined;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export function parseMetadata(region: Uint8Array, file: string): VhdxMetadata {
  const bad = (msg: string): FormatError => new FormatError(file, `metadata region: ${msg}`);
  if (!bytesEqual(region, 0, SIGNATURE)) throw bad('bad signature (expected "metadata")');
  const dv = new DataView(region.buffer, region.byteOffset, region.length);
  const count = dv.getUint16(10, true);
  if (count > 2047) throw bad(`entry count ${count} exceeds the limit of 2047`);
  const items = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32;
    const offset = dv.getUint32(at + 16, true);
    const length = dv.getUint32(at + 20, true);
    const required = (dv.getUint32(at + 24, true) & 4) !== 0;
    const id = formatGuid(region, at);
    if (length === 0) continue;
    if (offset < TABLE_SIZE || offset + length > region.length) {
      throw bad(`item ${id} at offset ${offset} length ${length} lies outside the region (${region.length} bytes)`);
    }
    const known = [FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR]
      .some((g) => guidEquals(region, at, g));
    if (!known && required) throw bad(`required item ${id} is not one this driver knows`);
    items.set(id, region.subarray(offset, offset + length));
  }
  const item = (g: Guid, name: string, min: number): DataView => {
    const data = items.get(formatGuid(g));
    if (data === undefined) throw bad(`missing the ${name} item`);
    if (data.length < min) throw bad(`${name} item is ${data.length} bytes, expected at least ${min}`);
    return new DataView(data.buffer, data.byteOffset, data.length);
  };
  const fp = item(FILE_PARAMETERS, 'file parameters', 8);
  const blockSize = fp.getUint32(0, true);
  const flags = fp.getUint32(4, true);
  if (!isPow2(blockSize) || blockSize < MiB || blockSize > 256 * MiB) {
    throw bad(`block size ${blockSize} is not a power of two between 1 MiB and 256 MiB`);
  }
  const logicalSectorSize = item(LOGICAL_SECTOR_SIZE, 'logical sector size', 4).getUint32(0, true);
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) throw bad(`logical sector size ${logicalSectorSize} is not 512 or 4096`);
  const physicalSectorSize = item(PHYSICAL_SECTOR_SIZE, 'physical sector size', 4).getUint32(0, true);
  if (physicalSectorSize !== 512 && physicalSectorSize !== 4096) throw bad(`physical sector size ${physicalSectorSize} is not 512 or 4096`);
  const virtualSize = u64(item(VIRTUAL_DISK_SIZE, 'virtual disk size', 8), 0);
  if (virtualSize === 0 || virtualSize > MAX_VIRTUAL_SIZE || virtualSize % logicalSectorSize !== 0) {
    throw bad(`virtual disk size ${virtualSize} is not a multiple of the ${logicalSectorSize}-byte sector between 1 sector and 64 TiB`);
  }
  const idView = item(VIRTUAL_DISK_ID, 'virtual disk id (page 83 data)', 16);
  const diskId = new Uint8Array(idView.buffer, idView.byteOffset, 16).slice();
  const hasParent = (flags & 2) !== 0;
  let parentLocator: Map<string, string> | undefined;
  if (hasParent) {
    const pl = items.get(formatGuid(PARENT_LOCATOR));
    if (pl === undefined) throw bad('differencing image (HasParent set) has no parent locator item');
    parentLocator = parseParentLocator(pl, file);
  }
  return { blockSize, leaveBlocksAllocated: (flags & 1) !== 0, hasParent, virtualSize, diskId, logicalSectorSize, physicalSectorSize, parentLocator };
}

/** Builds a whole metadata region of `regionLength` bytes. */
export function serializeMetadata(m: VhdxMetadata, regionLength: number): Uint8Array {
  const region = new Uint8Array(regionLength);
  const dv = new DataView(region.buffer);
  region.set(SIGNATURE, 0);
  const items: { id: Guid; data: Uint8Array; flags: number }[] = [];
  const fp = new Uint8Array(8);
  new DataView(fp.buffer).setUint32(0, m.blockSize, true);
  new DataView(fp.buffer).setUint32(4, (m.leaveBlocksAllocated ? 1 : 0) | (m.hasParent ? 2 : 0), true);
  items.push({ id: FILE_PARAMETERS, data: fp, flags: 4 });
  const vs = new Uint8Array(8);
  setU64(new DataView(vs.buffer), 0, m.virtualSize);
  items.push({ id: VIRTUAL_DISK_SIZE, data: vs, flags: 6 });
  items.push({ id: VIRTUAL_DISK_ID, data: m.diskId, flags: 6 });
  const u32 = (v: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
  items.push({ id: LOGICAL_SECTOR_SIZE, data: u32(m.logicalSectorSize), flags: 6 });
  items.push({ id: PHYSICAL_SECTOR_SIZE, data: u32(m.physicalSectorSize), flags: 6 });
  if (m.hasParent && m.parentLocator !== undefined) {
    items.push({ id: PARENT_LOCATOR, data: serializeParentLocator(m.parentLocator), flags: 4 });
  }
  dv.setUint16(10, items.length, true);
  let next = TABLE_SIZE;
  items.forEach((it, i) => {
    const at = 32 + i * 32;
    region.set(it.id, at);
    dv.setUint32(at + 16, next, true);
    dv.setUint32(at + 20, it.data.length, true);
    dv.setUint32(at + 24, it.flags, true);
    region.set(it.data, next);
    next += Math.ceil(it.data.length / 8) * 8;
  });
  if (next > regionLength) throw new Error('metadata items do not fit the metadata region');
  return region;
}

/** Offset inside the metadata region of the 8-byte virtual disk size value. */
export function virtualSizeOffset(region: Uint8Array, file: string): number {
  const dv = new DataView(region.buffer, region.byteOffset, region.length);
  const count = Math.min(dv.getUint16(10, true), 2047);
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32;
    if (guidEquals(region, at, VIRTUAL_DISK_SIZE)) return dv.getUint32(at + 16, true);
  }
  throw new FormatError(file, 'metadata region: missing the virtual disk size item');
}
