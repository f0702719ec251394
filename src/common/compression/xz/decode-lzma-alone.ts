/**
 * The legacy .lzma ("LZMA_Alone") container: a 13-byte header (properties byte, dictionary size,
 * uncompressed size or all ones for "unknown, ends with an end marker") and one raw LZMA stream.
 * Linux kernels built with CONFIG_KERNEL_LZMA carry their payload this way.
 */
import { FormatError } from '../../errors.js';
import { LzmaDecoder } from './lzma-decoder.js';
import { OutputBuffer, initialCapacity } from './output-buffer.js';
import { DEFAULT_MAX_DICTIONARY, DEFAULT_MAX_OUTPUT } from './decode-xz.js';

export interface LzmaAloneOptions {
  name?: string;
  maxOutput?: number;
  maxDictionary?: number;
  sizeHint?: number;
}

/**
 * Plausible .lzma header (the format has no magic): a valid properties byte, a dictionary size of
 * 2^n or 2^n + 2^(n-1) as encoders write, and an uncompressed size that is unknown or below 2^48.
 */
export function looksLikeLzmaAlone(data: Uint8Array): boolean {
  if (data.length < 18 || data[0]! >= 225) return false;
  const dict = (data[1]! | (data[2]! << 8) | (data[3]! << 16) | (data[4]! << 24)) >>> 0;
  const isPow2 = (v: number): boolean => v !== 0 && (v & (v - 1)) === 0;
  const dictOk = isPow2(dict) || isPow2(dict & (dict - 1));
  const sizeUnknown = data.subarray(5, 13).every((b) => b === 0xff);
  return dictOk && (sizeUnknown || (data[11] === 0 && data[12] === 0));
}

export function decodeLzmaAlone(input: Uint8Array, opts: LzmaAloneOptions = {}): { data: Uint8Array; consumed: number } {
  const name = opts.name ?? 'lzma data';
  const fail = (message: string): never => { throw new FormatError(name, message); };
  const limit = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  if (input.length < 13 + 5) fail(`truncated: ${input.length} bytes, shorter than an .lzma header and range coder`);
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const dictSize = Math.max(4096, dv.getUint32(1, true));
  if (dictSize > (opts.maxDictionary ?? DEFAULT_MAX_DICTIONARY)) fail(`LZMA dictionary of ${dictSize} bytes is too large`);
  const lo = dv.getUint32(5, true), hi = dv.getUint32(9, true);
  const known = !(lo === 0xffffffff && hi === 0xffffffff);
  const size = hi * 2 ** 32 + lo;
  if (known && size > limit) fail(`uncompressed size ${size} exceeds the limit of ${limit} bytes`);
  const lzma = new LzmaDecoder(name);
  lzma.setProperties(input[0]!, 12);
  lzma.dictSize = dictSize;
  lzma.startRange(input, 13);
  const out = new OutputBuffer(name, limit, initialCapacity(input.length, known ? size : opts.sizeHint));
  for (;;) {
    if (known && out.length === size) break;
    // Unknown size: decode into whatever room there is, growing until the end marker.
    let room = known ? size - out.length : Math.min(Math.max(1 << 20, out.buf.length - out.length), limit - out.length);
    if (room === 0) fail(`decompressed data would exceed the limit of ${limit} bytes`);
    out.reserve(room);
    room = Math.min(room, out.buf.length - out.length);
    out.length = lzma.decode(input, out.buf.subarray(0, out.length + room), out.length, out.length + room);
    if (lzma.inPos > input.length) fail(`truncated: the LZMA data ends before its ${known ? 'announced size' : 'end marker'}`);
    if (lzma.sawEndMarker) {
      if (known && out.length !== size) fail(`end marker after ${out.length} of the announced ${size} bytes`);
      break;
    }
  }
  if (!lzma.finishRange(input) || lzma.inPos > input.length) fail('corrupt LZMA data (the range coder does not end cleanly)');
  return { data: out.result(), consumed: lzma.inPos };
}
