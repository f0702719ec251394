/**
 * LZMA2 (the XZ format's filter 0x21): a sequence of chunks, each either stored bytes or an LZMA
 * chunk with its own range coder, announcing its sizes and whether it resets the dictionary, the
 * LZMA state or the lc/lp/pb properties. Control byte: 0x00 end, 0x01 stored + dictionary reset,
 * 0x02 stored, 0x80-0xFF LZMA with bits 5-6 = reset level and bits 0-4 = uncompressed size bits 16-20.
 */
import { FormatError } from '../../errors.js';
import type { LzmaDecoder } from './lzma-decoder.js';
import type { OutputBuffer } from './output-buffer.js';

/** The dictionary size the properties byte (0..40) encodes: 2 or 3 times a power of two, or 4 GiB - 1. */
export function lzma2DictionarySize(props: number): number {
  if (props === 40) return 0xffffffff;
  return (2 | (props & 1)) * 2 ** ((props >>> 1) + 11);
}

/**
 * Decodes the LZMA2 data at input[start..end) onto `out`; returns the offset just past the end
 * byte. The first chunk must reset the dictionary, so nothing decoded before `start` is reachable.
 */
export function decodeLzma2(name: string, input: Uint8Array, start: number, end: number, out: OutputBuffer, lzma: LzmaDecoder, dictSize: number): number {
  const fail = (message: string): never => { throw new FormatError(name, `LZMA2 ${message}`); };
  lzma.dictSize = dictSize;
  let pos = start;
  let dictStart = out.length;
  let needDictReset = true, needProps = true;
  for (;;) {
    if (pos >= end) fail(`data truncated at offset ${pos} (no end-of-data chunk)`);
    const at = pos;
    const control = input[pos++]!;
    if (control === 0x00) return pos;
    if (control === 0x01 || control >= 0xe0) {
      dictStart = out.length;
      needDictReset = false;
      needProps = true;
    } else if (needDictReset) {
      fail(`chunk at offset ${at} (control 0x${control.toString(16)}) does not reset the dictionary, but it comes first`);
    }
    if (control >= 0x80) {
      if (pos + 4 > end) fail(`chunk header at offset ${at} is truncated`);
      const usize = ((control & 0x1f) << 16) + (input[pos]! << 8) + input[pos + 1]! + 1;
      const csize = (input[pos + 2]! << 8) + input[pos + 3]! + 1;
      pos += 4;
      if (control >= 0xc0) {
        if (pos >= end) fail(`chunk header at offset ${at} is truncated`);
        lzma.setProperties(input[pos++]!, 4);
        needProps = false;
      } else if (needProps) {
        fail(`chunk at offset ${at} does not set LZMA properties after a dictionary reset`);
      } else if (control >= 0xa0) {
        lzma.resetState();
      }
      if (pos + csize > end) fail(`chunk at offset ${at} is truncated (${csize} compressed bytes announced, ${end - pos} available)`);
      if (csize < 5) fail(`chunk at offset ${at} has ${csize} compressed bytes, fewer than the range coder's 5`);
      out.reserve(usize);
      const from = out.length - dictStart;
      const dict = out.buf.subarray(dictStart, out.length + usize);
      lzma.startRange(input, pos);
      const reached = lzma.decode(input, dict, from, from + usize);
      if (lzma.sawEndMarker) fail(`chunk at offset ${at} contains an LZMA end marker`);
      if (lzma.pendingLen !== 0) fail(`chunk at offset ${at}: a match runs past the chunk's ${usize} bytes`);
      if (!lzma.finishRange(input) || lzma.inPos !== pos + csize || reached !== from + usize) {
        fail(`chunk at offset ${at} is corrupt (its ${csize} compressed bytes do not decode to exactly ${usize} bytes)`);
      }
      out.length += usize;
      pos += csize;
    } else if (control <= 0x02) {
      if (pos + 2 > end) fail(`chunk header at offset ${at} is truncated`);
      const size = (input[pos]! << 8) + input[pos + 1]! + 1;
      pos += 2;
      if (pos + size > end) fail(`stored chunk at offset ${at} is truncated (${size} bytes announced, ${end - pos} available)`);
      out.reserve(size);
      out.buf.set(input.subarray(pos, pos + size), out.length);
      out.length += size;
      pos += size;
    } else {
      fail(`control byte 0x${control.toString(16)} at offset ${at} is invalid`);
    }
  }
}
