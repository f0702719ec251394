/**
 * The framing of an XZ Stream around its blocks: the 12-byte Stream Header (magic, flags naming the
 * check, CRC32), the Index (one record of unpadded and uncompressed size per block, padded, CRC32)
 * and the 12-byte Stream Footer (CRC32, Backward Size = index size, flags again, "YZ").
 */
import type { ByteReader } from './byte-reader.js';
import { crc32 } from './crc.js';
import { checkName, isSupportedCheck } from './check.js';
import type { BlockRecord } from './block.js';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export function hasXzMagic(data: Uint8Array, at = 0): boolean {
  return MAGIC.every((b, k) => data[at + k] === b);
}

function le32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

/** Reads the Stream Header at r.pos; returns the check ID. */
export function readStreamHeader(r: ByteReader): number {
  const at = r.pos;
  r.need(12, 'stream header');
  if (!hasXzMagic(r.data, at)) {
    const seen = Array.from(r.data.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    r.fail(at === 0 ? `not XZ data (bad magic bytes ${seen})` : `bad magic bytes ${seen} at offset ${at}: expected another XZ stream or zero padding`);
  }
  const f0 = r.data[at + 6]!, f1 = r.data[at + 7]!;
  if (crc32(r.data.subarray(at + 6, at + 8)) !== le32(r.data, at + 8)) r.fail(`stream header at offset ${at}: CRC32 mismatch`);
  if (f0 !== 0 || (f1 & 0xf0) !== 0) r.fail(`stream header at offset ${at}: unsupported stream flags 0x${f0.toString(16)} 0x${f1.toString(16)} (from a newer XZ format?)`);
  const check = f1 & 0x0f;
  if (!isSupportedCheck(check)) r.fail(`stream at offset ${at} uses ${checkName(check)}, which this decoder cannot verify`);
  r.pos = at + 12;
  return check;
}

/** Reads the Index at r.pos (its indicator byte is zero) and compares it with the decoded blocks; returns its size. */
export function readIndex(r: ByteReader, blocks: BlockRecord[]): number {
  const at = r.pos;
  r.pos++;
  const count = r.varint('index record count');
  if (count !== blocks.length) r.fail(`index at offset ${at} lists ${count} blocks, but the stream has ${blocks.length}`);
  for (let k = 0; k < count; k++) {
    const unpadded = r.varint('index unpadded size');
    const uncompressed = r.varint('index uncompressed size');
    const b = blocks[k]!;
    if (unpadded !== b.unpaddedSize || uncompressed !== b.uncompressedSize) {
      r.fail(`index at offset ${at}: record ${k + 1} says ${unpadded}/${uncompressed} bytes (unpadded/uncompressed), the block has ${b.unpaddedSize}/${b.uncompressedSize}`);
    }
  }
  r.zeros((4 - ((r.pos - at) & 3)) & 3, 'index padding');
  const crc = crc32(r.data.subarray(at, r.pos));
  if (r.u32('index CRC32') !== crc) r.fail(`index at offset ${at}: CRC32 mismatch`);
  return r.pos - at;
}

/** Reads the Stream Footer at r.pos and checks it against the header flags and the index size. */
export function readStreamFooter(r: ByteReader, check: number, indexSize: number): void {
  const at = r.pos;
  r.need(12, 'stream footer');
  const d = r.data;
  if (d[at + 10] !== 0x59 || d[at + 11] !== 0x5a) r.fail(`stream footer at offset ${at}: bad magic bytes (expected "YZ")`);
  if (crc32(d.subarray(at + 4, at + 10)) !== le32(d, at)) r.fail(`stream footer at offset ${at}: CRC32 mismatch`);
  const backward = (le32(d, at + 4) + 1) * 4;
  if (backward !== indexSize) r.fail(`stream footer at offset ${at}: backward size ${backward} does not match the ${indexSize}-byte index`);
  if (d[at + 8] !== 0 || d[at + 9] !== check) r.fail(`stream footer at offset ${at}: flags differ from the stream header's`);
  r.pos = at + 12;
}
