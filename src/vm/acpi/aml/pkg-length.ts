/**
 * PkgLength (ACPI 6.x, 20.2.4): the length of a package *including the PkgLength bytes themselves*.
 * One byte holds lengths up to 63 in bits 5:0. Longer lengths use 1-3 following bytes: the lead
 * byte's bits 7:6 count them, its bits 3:0 carry the low nibble (bits 5:4 stay zero) and each
 * following byte the next 8 bits, so the largest length is 2^28 - 1.
 */
import { concat, type Aml } from './bytes.js';

export const MAX_PKG_LENGTH = 0x0fffffff;

/** Encodes the PkgLength for a body of `bodyLength` bytes (the bytes that follow the PkgLength). */
export function encodePkgLength(bodyLength: number): Uint8Array {
  if (!Number.isInteger(bodyLength) || bodyLength < 0) throw new RangeError(`AML package body length ${bodyLength} is invalid`);
  if (bodyLength + 1 <= 0x3f) return Uint8Array.of(bodyLength + 1);
  for (let follow = 1; follow <= 3; follow++) {
    const total = bodyLength + 1 + follow;
    if (total < 2 ** (4 + 8 * follow)) {
      const out = new Uint8Array(1 + follow);
      out[0] = (follow << 6) | (total & 0x0f);
      for (let i = 1; i <= follow; i++) out[i] = Math.floor(total / 2 ** (4 + 8 * (i - 1))) & 0xff;
      return out;
    }
  }
  throw new RangeError(`AML package of ${bodyLength} bytes exceeds the PkgLength limit of ${MAX_PKG_LENGTH}`);
}

/** `prefix PkgLength body...`: the shape of Scope, Device, Method, Package, Buffer, If and Else. */
export function withPkgLength(prefix: Uint8Array, body: readonly Uint8Array[]): Aml {
  const inner = concat(body);
  return concat([prefix, encodePkgLength(inner.length), inner]);
}
