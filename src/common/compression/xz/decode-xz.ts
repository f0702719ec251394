/**
 * Decodes a whole .xz file held in memory (the XZ file format, tukaani.org): one or more streams,
 * each of blocks then an index, with zero padding between streams. Every structure is validated
 * (CRC32s, index against the blocks, footer against header) and every block check verified; any
 * violation is a FormatError naming the offset and the rule. Work and memory are bounded by the
 * caller's output limit, never by size fields in the input.
 */
import { ByteReader } from './byte-reader.js';
import { decodeBlock, type BlockRecord } from './block.js';
import { LzmaDecoder } from './lzma-decoder.js';
import { OutputBuffer, initialCapacity } from './output-buffer.js';
import { readIndex, readStreamFooter, readStreamHeader } from './stream-parts.js';

export interface XzDecodeOptions {
  /** Names the data in error messages (a file name); default "xz data". */
  name?: string;
  /** Most bytes the output may have; larger output is a FormatError. Default 1 GiB. */
  maxOutput?: number;
  /** Largest LZMA2 dictionary accepted. Default 1.5 GiB (the largest xz itself creates). */
  maxDictionary?: number;
  /** Expected output size, to allocate once (e.g. the size a kernel image appends). */
  sizeHint?: number;
  /** Decode only the first stream and ignore what follows it (as `xz --single-stream`). */
  singleStream?: boolean;
}

export interface XzDecodeResult {
  data: Uint8Array;
  /** Input bytes used: the whole input, or the end of the first stream with singleStream. */
  consumed: number;
  streams: number;
  blocks: number;
}

export const DEFAULT_MAX_OUTPUT = 1 << 30;
export const DEFAULT_MAX_DICTIONARY = 1536 * 1024 * 1024;

export function decodeXz(input: Uint8Array, opts: XzDecodeOptions = {}): XzDecodeResult {
  const name = opts.name ?? 'xz data';
  const limit = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const limits = { maxDictionary: opts.maxDictionary ?? DEFAULT_MAX_DICTIONARY };
  const r = new ByteReader(name, input, 0, input.length);
  if (input.length === 0) r.fail('empty input (no XZ stream)');
  const out = new OutputBuffer(name, limit, initialCapacity(input.length, opts.sizeHint));
  const lzma = new LzmaDecoder(name);
  let streams = 0, blocks = 0;
  for (;;) {
    const check = readStreamHeader(r);
    const records: BlockRecord[] = [];
    for (;;) {
      r.need(1, 'block header or index');
      if (input[r.pos] === 0) break;
      records.push(decodeBlock(r, out, lzma, check, limits));
    }
    const indexSize = readIndex(r, records);
    readStreamFooter(r, check, indexSize);
    streams++;
    blocks += records.length;
    if (opts.singleStream) break;
    const padStart = r.pos;
    while (r.pos < r.end && input[r.pos] === 0) r.pos++;
    if (((r.pos - padStart) & 3) !== 0) r.fail(`stream padding at offset ${padStart} is ${r.pos - padStart} bytes, not a multiple of 4`);
    if (r.pos === r.end) break;
  }
  return { data: out.result(), consumed: r.pos, streams, blocks };
}
