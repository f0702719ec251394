/**
 * The qcow2 header (QEMU docs/interop/qcow2.txt), big-endian, and its extensions. Every field the
 * reader relies on is range-checked here so later code can trust it.
 */
import { FormatError } from '../../common/errors.js';
import { u64, viewOf, type ImageFile } from '../vmdk/image-file.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU's own limits: L1 at most 32 MiB, refcount table at most 8 MiB. */
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;

const INCOMPAT_DIRTY = 1;
const INCOMPAT_CORRUPT = 2;
const INCOMPAT_DATA_FILE = 4;
const INCOMPAT_COMPRESSION = 8;
const INCOMPAT_EXTL2 = 16;
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const EXT_CRYPTO = 0x0537be77;
const EXT_DATA_FILE = 0x44415441;
const EXT_BITMAPS = 0x23852875;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  size: number;
  backingFile: string | undefined;
  backingFormat: string | undefined;
  l1Size: number;
  l1Offset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  dirty: boolean;
  corrupt: boolean;
  hasBitmaps: boolean;
}

export function hasQcow2Magic(head: Uint8Array): boolean {
  return head.length >= 4 && viewOf(head).getUint32(0, false) === QCOW2_MAGIC;
}

/** `head` holds the start of the file (at least the first cluster, or the whole file if shorter). */
export function parseQcow2Header(head: Uint8Array, fileSize: number, file: string): Qcow2Header {
  if (head.length < 72) throw new FormatError(file, `qcow2 header is truncated (${head.length} bytes, at least 72 needed)`);
  const v = viewOf(head);
  if (v.getUint32(0, false) !== QCOW2_MAGIC) throw new FormatError(file, 'bad magic: not a qcow2 image');
  const version = v.getUint32(4, false);
  if (version !== 2 && version !== 3) throw new FormatError(file, `qcow2 version ${version} is not supported (2 and 3 are)`);
  const clusterBits = v.getUint32(20, false);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new FormatError(file, `cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const clusterSize = 2 ** clusterBits;
  const crypt = v.getUint32(32, false);
  if (crypt !== 0) throw new FormatError(file, `image is encrypted (crypt_method ${crypt === 1 ? 'AES' : crypt === 2 ? 'LUKS' : crypt}); encrypted qcow2 is not supported — decrypt it with qemu-img convert first`);
  const size = u64(v, 24, false, file, 'virtual size');
  if (size > 2 ** 50) throw new FormatError(file, `virtual size ${size} is larger than the 1 PiB this reader accepts`);
  const h: Qcow2Header = {
    version, clusterBits, clusterSize, size,
    backingFile: undefined, backingFormat: undefined,
    l1Size: v.getUint32(36, false),
    l1Offset: u64(v, 40, false, file, 'l1_table_offset'),
    refcountTableOffset: u64(v, 48, false, file, 'refcount_table_offset'),
    refcountTableClusters: v.getUint32(56, false),
    refcountOrder: 4,
    nbSnapshots: v.getUint32(60, false),
    snapshotsOffset: u64(v, 64, false, file, 'snapshots_offset'),
    dirty: false, corrupt: false, hasBitmaps: false,
  };
  const l2Entries = clusterSize / 8;
  const needL1 = Math.ceil(size / (clusterSize * l2Entries));
  if (h.l1Size < needL1) throw new FormatError(file, `L1 table has ${h.l1Size} entries but the virtual size needs ${needL1}`);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw new FormatError(file, `L1 table of ${h.l1Size} entries is larger than 32 MiB`);
  if (h.l1Size > 0 && h.l1Offset % clusterSize !== 0) throw new FormatError(file, `L1 table offset ${h.l1Offset} is not cluster aligned`);
  if (h.l1Offset + h.l1Size * 8 > fileSize) throw new FormatError(file, `L1 table (offset ${h.l1Offset}, ${h.l1Size} entries) lies past the end of the file (${fileSize} bytes)`);
  if (h.refcountTableOffset % clusterSize !== 0) throw new FormatError(file, `refcount table offset ${h.refcountTableOffset} is not cluster aligned`);
  if (h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) throw new FormatError(file, `refcount table of ${h.refcountTableClusters} clusters is larger than 8 MiB`);
  if (h.nbSnapshots > 65536) throw new FormatError(file, `${h.nbSnapshots} snapshots is more than 65536`);

  let headerLength = 72;
  if (version === 3) {
    if (head.length < 104) throw new FormatError(file, 'qcow2 v3 header is truncated (104 bytes needed)');
    const incompatHi = v.getUint32(72, false);
    const incompat = v.getUint32(76, false);
    h.refcountOrder = v.getUint32(96, false);
    headerLength = v.getUint32(100, false);
    if (headerLength < 104 || headerLength > Math.min(clusterSize, head.length)) throw new FormatError(file, `header_length ${headerLength} is out of range`);
    if (h.refcountOrder > 6) throw new FormatError(file, `refcount_order ${h.refcountOrder} is larger than 6`);
    if (incompat & INCOMPAT_DATA_FILE) throw new FormatError(file, 'image keeps its data in an external data file; not supported');
    if (incompat & INCOMPAT_EXTL2) throw new FormatError(file, 'image uses extended L2 entries (subclusters); not supported — convert it with qemu-img convert -o extended_l2=off');
    if (incompat & INCOMPAT_COMPRESSION) {
      const type = headerLength > 104 ? head[104]! : 0;
      if (type !== 0) throw new FormatError(file, `compression type ${type === 1 ? 'zstd' : type} is not supported (only zlib/deflate)`);
    }
    const unknown = (incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2)) >>> 0;
    if (unknown !== 0 || incompatHi !== 0) {
      throw new FormatError(file, `unknown incompatible feature bits 0x${incompatHi.toString(16)}${unknown.toString(16).padStart(8, '0')}`);
    }
    h.dirty = (incompat & INCOMPAT_DIRTY) !== 0;
    h.corrupt = (incompat & INCOMPAT_CORRUPT) !== 0;
  }
  parseExtensions(head, headerLength, h, file);
  const bfOffset = u64(v, 8, false, file, 'backing_file_offset');
  const bfSize = v.getUint32(16, false);
  if (bfOffset !== 0) {
    if (bfSize === 0 || bfSize > 1023) throw new FormatError(file, `backing file name length ${bfSize} is out of range (1..1023)`);
    if (bfOffset + bfSize > Math.min(clusterSize, head.length)) throw new FormatError(file, 'backing file name lies outside the first cluster');
    h.backingFile = Buffer.from(head.subarray(bfOffset, bfOffset + bfSize)).toString('utf8');
  }
  return h;
}

function parseExtensions(head: Uint8Array, start: number, h: Qcow2Header, file: string): void {
  const v = viewOf(head);
  const limit = Math.min(h.clusterSize, head.length);
  let at = start;
  for (let n = 0; at + 8 <= limit; n++) {
    if (n > 1024) throw new FormatError(file, 'too many header extensions');
    const type = v.getUint32(at, false);
    const len = v.getUint32(at + 4, false);
    if (type === EXT_END) return;
    if (at + 8 + len > limit) throw new FormatError(file, `header extension 0x${type.toString(16)} at offset ${at} runs past the first cluster`);
    const data = head.subarray(at + 8, at + 8 + len);
    if (type === EXT_BACKING_FORMAT) h.backingFormat = Buffer.from(data).toString('utf8');
    else if (type === EXT_CRYPTO) throw new FormatError(file, 'image has a full-disk-encryption header; encrypted qcow2 is not supported');
    else if (type === EXT_DATA_FILE) throw new FormatError(file, 'image names an external data file; not supported');
    else if (type === EXT_BITMAPS) h.hasBitmaps = true;
    else if (type === EXT_FEATURE_NAMES) { /* names for feature bits; only used by tools that print them */ }
    at += 8 + Math.ceil(len / 8) * 8;
  }
}

/** Reads and parses the header from the first cluster of the file. */
export async function readQcow2Header(file: ImageFile): Promise<Qcow2Header> {
  const first = new Uint8Array(Math.min(file.size, 104));
  await file.readExact(0, first, 'header');
  if (first.length >= 24 && hasQcow2Magic(first)) {
    const bits = viewOf(first).getUint32(20, false);
    if (bits >= MIN_CLUSTER_BITS && bits <= MAX_CLUSTER_BITS) {
      const head = new Uint8Array(Math.min(file.size, 2 ** bits));
      await file.readExact(0, head, 'header cluster');
      return parseQcow2Header(head, file.size, file.path);
    }
  }
  return parseQcow2Header(first, file.size, file.path);
}
