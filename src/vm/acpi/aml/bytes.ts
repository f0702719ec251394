/**
 * AML is built bottom-up as byte arrays: every encoder returns the finished bytes of one term, and
 * containers (scopes, packages, methods) wrap their children's bytes. Tables are a few KiB, so
 * copying children into parents costs nothing worth a streaming writer.
 */

/** The encoded bytes of one AML term or data object. */
export type Aml = Uint8Array;

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function bytes(...values: number[]): Uint8Array {
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`AML byte ${v} is not 0..255`);
  }
  return Uint8Array.from(values);
}

/** Little-endian bytes of an unsigned value that must fit in `size` bytes. */
export function le(value: number | bigint, size: 1 | 2 | 4 | 8): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(8 * size)) throw new RangeError(`${value} does not fit in ${size} byte(s)`);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The byte that makes the 8-bit sum of `data` (with this byte included) zero. */
export function checksumByte(data: Uint8Array): number {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}
