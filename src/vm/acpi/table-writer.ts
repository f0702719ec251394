/**
 * Little-endian field writer for the fixed-layout ACPI tables. Fields are appended in table order,
 * so each builder reads as the specification's field list.
 */
export type GasSpace = 'memory' | 'io';

export class TableWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number { return this.len; }

  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  private uint(value: number | bigint, size: number, what: string): this {
    const v = BigInt(value);
    if (v < 0n || v >= 1n << BigInt(8 * size)) throw new RangeError(`ACPI table field ${what} = ${value} does not fit in ${size} byte(s)`);
    const at = this.room(size);
    for (let i = 0; i < size; i++) this.buf[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
    return this;
  }

  u8(v: number, what = 'byte'): this { return this.uint(v, 1, what); }
  u16(v: number, what = 'word'): this { return this.uint(v, 2, what); }
  u32(v: number, what = 'dword'): this { return this.uint(v, 4, what); }
  u64(v: number | bigint, what = 'qword'): this { return this.uint(v, 8, what); }

  zeros(n: number): this { this.room(n); return this; }

  /** A fixed-width ASCII field, padded with spaces (ACPI OEM IDs) or `pad`. */
  ascii(text: string, width: number, pad = ' '): this {
    if (text.length > width || !/^[\x20-\x7e]*$/.test(text)) throw new RangeError(`ACPI text field "${text}" must be at most ${width} printable ASCII characters`);
    const at = this.room(width);
    const padded = text.padEnd(width, pad);
    for (let i = 0; i < width; i++) this.buf[at + i] = padded.charCodeAt(i);
    return this;
  }

  bytes(data: Uint8Array): this { const at = this.room(data.length); this.buf.set(data, at); return this; }

  /**
   * Generic Address Structure (ACPI 6.x, 5.2.3.2), 12 bytes. Access size 0 ("undefined/legacy")
   * lets the OS use the register's natural width, as Linux does for the fixed PM registers.
   */
  gas(space: GasSpace, bitWidth: number, address: number | bigint, accessSize = 0): this {
    return this.u8(space === 'io' ? 1 : 0).u8(bitWidth, 'GAS bit width').u8(0).u8(accessSize, 'GAS access size').u64(address, 'GAS address');
  }

  /** An all-zero Generic Address Structure: the register block is not implemented. */
  noGas(): this { return this.zeros(12); }

  finish(): Uint8Array { return this.buf.slice(0, this.len); }
}
