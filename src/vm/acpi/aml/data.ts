/**
 * Data objects (ACPI 6.x, 20.2.3): integers in the smallest encoding that holds them, strings,
 * buffers and packages, plus the two ASL macros that produce data: EisaId() and ToUUID().
 */
import { bytes, concat, le, type Aml } from './bytes.js';
import { withPkgLength } from './pkg-length.js';
import {
  BufferOp, BytePrefix, DWordPrefix, OneOp, PackageOp, QWordPrefix, StringPrefix, WordPrefix, ZeroOp,
} from './opcodes.js';

const MAX_QWORD = (1n << 64n) - 1n;

/** Zero, One, or a Byte/Word/DWord/QWord constant. Numbers must be safe integers; use bigint above 2^53. */
export function integer(value: number | bigint): Aml {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`AML integer ${value} is not a safe integer (pass a bigint)`);
  const v = BigInt(value);
  if (v < 0n || v > MAX_QWORD) throw new RangeError(`AML integer ${value} is outside 0..2^64-1`);
  if (v === 0n) return bytes(ZeroOp);
  if (v === 1n) return bytes(OneOp);
  if (v <= 0xffn) return concat([bytes(BytePrefix), le(v, 1)]);
  if (v <= 0xffffn) return concat([bytes(WordPrefix), le(v, 2)]);
  if (v <= 0xffffffffn) return concat([bytes(DWordPrefix), le(v, 4)]);
  return concat([bytes(QWordPrefix), le(v, 8)]);
}

/** A String constant: ASCII 0x01-0x7F, NUL-terminated. */
export function string(text: string): Aml {
  const out = new Uint8Array(text.length + 2);
  out[0] = StringPrefix;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 1 || c > 0x7f) throw new RangeError(`AML string ${JSON.stringify(text)} has a non-ASCII or NUL character at ${i}`);
    out[i + 1] = c;
  }
  return out;
}

/** Buffer with its size given as an integer constant and fully initialised contents. */
export function buffer(contents: Uint8Array): Aml {
  return withPkgLength(bytes(BufferOp), [integer(contents.length), contents]);
}

/** Package of already-encoded elements (data objects or name strings). */
export function pkg(elements: readonly Aml[]): Aml {
  if (elements.length > 255) throw new RangeError(`AML Package has ${elements.length} elements; at most 255 fit its NumElements byte`);
  return withPkgLength(bytes(PackageOp), [bytes(elements.length), ...elements]);
}

/** The 32-bit compressed EISA ID of "PNP0A08"-style names, as a DWord constant (what ASL EisaId() gives). */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`EISA ID "${id}" must be three capital letters and four hex digits`);
  const c = (i: number): number => id.charCodeAt(i) - 0x40;
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  const product = parseInt(id.slice(3), 16);
  return bytes(DWordPrefix, b0, b1, product >> 8, product & 0xff);
}

/** The 16-byte buffer of ASL ToUUID(): the first three fields little-endian, the last two as written. */
export function uuid(text: string): Aml {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(text);
  if (m === null) throw new RangeError(`UUID "${text}" is not in 8-4-4-4-12 hex form`);
  const hex = (s: string): number[] => s.match(/../g)!.map((h) => parseInt(h, 16));
  const raw = [...hex(m[1]!).reverse(), ...hex(m[2]!).reverse(), ...hex(m[3]!).reverse(), ...hex(m[4]!), ...hex(m[5]!)];
  return buffer(Uint8Array.from(raw));
}
