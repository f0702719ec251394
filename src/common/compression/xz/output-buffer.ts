/**
 * The growing output of a decoder, bounded by a caller-given limit. Decoders reserve room before
 * each piece whose size they know (an LZMA2 chunk is at most 2 MiB), so a hostile size field can
 * only ever cost the limit, and the buffer doubles rather than growing per piece.
 */
import { FormatError } from '../../errors.js';

/**
 * First allocation for decoding `inputLength` bytes: the hint if given, else four times the input,
 * and never more than 64 times the input plus 1 MiB before the data proves it needs more, so a
 * hint taken from the input itself cannot force a large allocation.
 */
export function initialCapacity(inputLength: number, hint: number | undefined): number {
  return Math.min(hint ?? inputLength * 4, inputLength * 64 + (1 << 20));
}

export class OutputBuffer {
  buf: Uint8Array;
  length = 0;

  constructor(readonly name: string, readonly limit: number, initial: number) {
    this.buf = new Uint8Array(Math.max(0, Math.min(limit, initial)));
  }

  /** Makes room for `extra` more bytes, or fails if that would pass the limit. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need > this.limit) {
      throw new FormatError(this.name, `decompressed data would exceed the limit of ${this.limit} bytes`);
    }
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, Math.min(this.limit, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** The decoded bytes; copied out when more than a quarter of the buffer would be wasted. */
  result(): Uint8Array {
    const view = this.buf.subarray(0, this.length);
    return this.buf.length - this.length > this.buf.length / 4 ? view.slice() : view;
  }
}
