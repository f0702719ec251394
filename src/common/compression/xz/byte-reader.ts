/**
 * A bounds-checked cursor over the structural parts of an XZ file (headers, index, footers): every
 * read past `end` is a FormatError saying which structure was cut short, and multibyte integers
 * follow the format's rules (at most 9 bytes, no redundant trailing zero byte).
 */
import { FormatError } from '../../errors.js';

export class ByteReader {
  constructor(readonly name: string, readonly data: Uint8Array, public pos: number, public end: number) {}

  fail(message: string): never {
    throw new FormatError(this.name, message);
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.end) this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, but only ${Math.max(0, this.end - this.pos)} remain`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.data[this.pos++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const d = this.data, p = this.pos;
    this.pos += 4;
    return (d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24)) >>> 0;
  }

  /** A multibyte integer. Values the format allows but that exceed 2^53 are refused as too large. */
  varint(what: string): number {
    let value = 0;
    for (let k = 0; k < 9; k++) {
      const b = this.u8(what);
      const part = b & 0x7f;
      if (k === 7 && part > 0x0f) this.fail(`${what} at offset ${this.pos - k - 1} is too large`);
      if (k === 8) this.fail(`${what} at offset ${this.pos - k - 1} is too large`);
      value += part * 2 ** (7 * k);
      if ((b & 0x80) === 0) {
        if (b === 0 && k > 0) this.fail(`${what} at offset ${this.pos - k - 1} has a redundant zero byte`);
        return value;
      }
    }
    return this.fail(`${what} is longer than 9 bytes`);
  }

  /** The next `n` bytes must all be zero (padding). */
  zeros(n: number, what: string): void {
    this.need(n, what);
    for (let k = 0; k < n; k++) {
      if (this.data[this.pos + k] !== 0) this.fail(`${what} at offset ${this.pos + k} is not zero`);
    }
    this.pos += n;
  }
}
