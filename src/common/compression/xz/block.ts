/**
 * One XZ Block: header, LZMA2 data decoded onto the output, the other filters undone in place over
 * the block's bytes (reverse encoding order), zero padding to 4 bytes, and the check of the
 * uncompressed bytes. Returns the sizes the stream's index must repeat.
 */
import type { ByteReader } from './byte-reader.js';
import { checkSize, computeCheck, checkName } from './check.js';
import { decodeX86 } from './bcj-x86.js';
import { decodeDelta } from './delta.js';
import { FILTER_DELTA, FILTER_LZMA2, FILTER_X86, readBlockHeader, type BlockLimits } from './block-header.js';
import { decodeLzma2 } from './lzma2-decoder.js';
import type { LzmaDecoder } from './lzma-decoder.js';
import type { OutputBuffer } from './output-buffer.js';

export interface BlockRecord { unpaddedSize: number; uncompressedSize: number }

export function decodeBlock(r: ByteReader, out: OutputBuffer, lzma: LzmaDecoder, checkId: number, limits: BlockLimits): BlockRecord {
  const start = r.pos;
  const header = readBlockHeader(r, limits);
  const dataStart = r.pos;
  let dataEnd = r.end;
  if (header.compressedSize !== undefined) {
    dataEnd = dataStart + header.compressedSize;
    if (dataEnd > r.end) r.fail(`truncated: block at offset ${start} announces ${header.compressedSize} compressed bytes, ${r.end - dataStart} remain`);
  }
  const outStart = out.length;
  if (header.uncompressedSize !== undefined) out.reserve(header.uncompressedSize);
  const lzma2 = header.filters[header.filters.length - 1]!;
  const dictSize = lzma2.id === FILTER_LZMA2 ? lzma2.dictSize : 0;
  const after = decodeLzma2(r.name, r.data, dataStart, dataEnd, out, lzma, dictSize);
  const compressed = after - dataStart;
  if (header.compressedSize !== undefined && after !== dataEnd) {
    r.fail(`block at offset ${start}: its header says ${header.compressedSize} compressed bytes, its LZMA2 data ends after ${compressed}`);
  }
  const size = out.length - outStart;
  if (header.uncompressedSize !== undefined && size !== header.uncompressedSize) {
    r.fail(`block at offset ${start}: its header says ${header.uncompressedSize} uncompressed bytes, it decodes to ${size}`);
  }
  const data = out.buf.subarray(outStart, out.length);
  for (let k = header.filters.length - 2; k >= 0; k--) {
    const f = header.filters[k]!;
    if (f.id === FILTER_X86) decodeX86(data, f.startOffset);
    else if (f.id === FILTER_DELTA) decodeDelta(data, f.distance);
  }
  r.pos = after;
  r.zeros((4 - (compressed & 3)) & 3, 'block padding');
  const n = checkSize(checkId);
  r.need(n, `${checkName(checkId)} check of the block at offset ${start}`);
  const expected = computeCheck(checkId, data);
  for (let k = 0; k < n; k++) {
    if (r.data[r.pos + k] !== expected[k]) r.fail(`block at offset ${start}: ${checkName(checkId)} check mismatch (the data is corrupt)`);
  }
  r.pos += n;
  return { unpaddedSize: header.headerSize + compressed + n, uncompressedSize: size };
}
