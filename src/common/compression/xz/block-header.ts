/**
 * The XZ Block Header: its size, optional compressed/uncompressed sizes and the filter chain
 * (listed in encoding order, so LZMA2 comes last), padded and protected by a CRC32.
 */
import { ByteReader } from './byte-reader.js';
import { crc32 } from './crc.js';
import { lzma2DictionarySize } from './lzma2-decoder.js';

export const FILTER_DELTA = 0x03, FILTER_X86 = 0x04, FILTER_LZMA2 = 0x21;

const UNSUPPORTED_FILTERS: Record<number, string> = {
  0x05: 'PowerPC BCJ', 0x06: 'IA-64 BCJ', 0x07: 'ARM BCJ', 0x08: 'ARM-Thumb BCJ', 0x09: 'SPARC BCJ', 0x0a: 'ARM64 BCJ', 0x0b: 'RISC-V BCJ',
};

export type Filter =
  | { id: typeof FILTER_LZMA2; dictSize: number }
  | { id: typeof FILTER_X86; startOffset: number }
  | { id: typeof FILTER_DELTA; distance: number };

export interface BlockHeader {
  headerSize: number;
  compressedSize?: number;
  uncompressedSize?: number;
  /** Encoding order: filters[length - 1] is LZMA2. */
  filters: Filter[];
}

export interface BlockLimits {
  /** Largest LZMA2 dictionary accepted (bytes). */
  maxDictionary: number;
}

/** Parses the header at r.pos (whose first byte is non-zero) and moves r past it. */
export function readBlockHeader(r: ByteReader, limits: BlockLimits): BlockHeader {
  const start = r.pos;
  const headerSize = (r.data[start]! + 1) * 4;
  r.need(headerSize, 'block header');
  const crcAt = start + headerSize - 4;
  const stored = (r.data[crcAt]! | (r.data[crcAt + 1]! << 8) | (r.data[crcAt + 2]! << 16) | (r.data[crcAt + 3]! << 24)) >>> 0;
  if (crc32(r.data.subarray(start, crcAt)) !== stored) r.fail(`block header at offset ${start}: CRC32 mismatch`);
  const h = new ByteReader(r.name, r.data, start + 1, crcAt);
  const flags = h.u8('block flags');
  if ((flags & 0x3c) !== 0) h.fail(`block header at offset ${start}: reserved flag bits set (0x${flags.toString(16)})`);
  const header: BlockHeader = { headerSize, filters: [] };
  if ((flags & 0x40) !== 0) {
    header.compressedSize = h.varint('block compressed size');
    if (header.compressedSize === 0) h.fail(`block header at offset ${start}: compressed size is zero`);
  }
  if ((flags & 0x80) !== 0) header.uncompressedSize = h.varint('block uncompressed size');
  const count = (flags & 3) + 1;
  for (let k = 0; k < count; k++) {
    const id = h.varint('filter ID');
    const propsSize = h.varint('filter properties size');
    h.need(propsSize, 'filter properties');
    const props = h.data.subarray(h.pos, h.pos + propsSize);
    h.pos += propsSize;
    const last = k === count - 1;
    const where = `block header at offset ${start}, filter ${k + 1} of ${count}`;
    if (id === FILTER_LZMA2) {
      if (!last) h.fail(`${where}: LZMA2 must be the last filter`);
      if (propsSize !== 1) h.fail(`${where}: LZMA2 properties are ${propsSize} bytes (must be 1)`);
      const p = props[0]!;
      if (p > 40) h.fail(`${where}: LZMA2 dictionary size property ${p} is invalid (at most 40)`);
      const dictSize = lzma2DictionarySize(p);
      if (dictSize > limits.maxDictionary) {
        h.fail(`${where}: LZMA2 dictionary of ${dictSize} bytes is too large (limit ${limits.maxDictionary})`);
      }
      header.filters.push({ id, dictSize });
    } else if (id !== FILTER_X86 && id !== FILTER_DELTA) {
      const known = UNSUPPORTED_FILTERS[id];
      h.fail(`${where}: ${known ? `the ${known} filter (0x${id.toString(16)}) is` : `filter ID 0x${id.toString(16)} is unknown and`} not supported (supported: LZMA2, x86 BCJ, delta)`);
    } else if (last) {
      h.fail(`${where}: the last filter must be LZMA2, not 0x${id.toString(16)}`);
    } else if (id === FILTER_X86) {
      if (propsSize !== 0 && propsSize !== 4) h.fail(`${where}: x86 BCJ properties are ${propsSize} bytes (must be 0 or 4)`);
      const startOffset = propsSize === 4 ? (props[0]! | (props[1]! << 8) | (props[2]! << 16) | (props[3]! << 24)) >>> 0 : 0;
      header.filters.push({ id, startOffset });
    } else {
      if (propsSize !== 1) h.fail(`${where}: delta properties are ${propsSize} bytes (must be 1)`);
      header.filters.push({ id, distance: props[0]! + 1 });
    }
  }
  h.zeros(crcAt - h.pos, 'block header padding');
  r.pos = start + headerSize;
  return header;
}
