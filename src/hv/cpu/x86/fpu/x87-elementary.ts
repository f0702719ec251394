/**
 * Elementary functions of extended-precision operands for the x87 transcendentals. The argument is
 * prepared exactly with BigInt (reduction modulo the x87's own π, the exponent split of log2,
 * a common scale for atan2) so that only the final step runs in binary64 (JavaScript's Math):
 * results are accurate to a few binary64 ulps (about 2^-52 relative) for every 80-bit operand,
 * including those far outside binary64's exponent range.
 */
import { type Ext, bitLength } from './x87-float.js';

/**
 * π with the 66 significant bits the x87 reduces with (Intel SDM vol. 1, 8.3.10): value
 * PI66_M·2^-66. The bit after the 66th is 0, so this is π both truncated and rounded; the host's
 * FSIN on arguments up to 2^63 matches a reduction by exactly this value.
 */
export const PI66_M = 0xc90fdaa22168c234cn;

/** Exponent of the leading bit of a finite non-zero operand: |x| ∈ [2^t, 2^(t+1)). */
export function topExp(x: Ext): number { return x.e + bitLength(x.m) - 1; }

/** m·2^e as a binary64 (m ≥ 0); exact scaling, so one rounding of m unless the value underflows. */
function scaled(m: bigint, e: number): number {
  const len = bitLength(m);
  // Keep the integer within 2^64 so Number() rounds once and 2^e stays representable.
  if (len > 64) { const s = len - 64; return Number(m >> BigInt(s)) * 2 ** (e + s); }
  if (e < -1000) return Number(m) * 2 ** (e + 200) * 2 ** -200;
  return Number(m) * 2 ** e;
}

/** The last reduction: |x| = q·(π66/2) + r, |r| ≤ π66/4 (q kept modulo 4). */
export const reduced = { q: 0, r: 0 };

/**
 * Reduces |x| (finite, non-zero, below 2^63) modulo π66/2 exactly; arguments below 1/2 need no
 * reduction and are only rounded to binary64.
 */
export function reduceHalfPi(x: Ext): void {
  if (topExp(x) < -1) { reduced.q = 0; reduced.r = scaled(x.m, x.e); return; }
  // |x| ≥ 1/2 has x.e ≥ -64, so e0 = -67 and both sides are integers at that scale.
  const e0 = Math.min(x.e, -67);
  const a = x.m << BigInt(x.e - e0);
  const p = PI66_M << BigInt(-67 - e0);
  const n = (2n * a + p) / (2n * p);
  const r = a - n * p;
  reduced.q = Number(n & 3n);
  reduced.r = r < 0n ? -scaled(-r, e0) : scaled(r, e0);
}

/** sin |x| after reduceHalfPi(x). */
export function sinReduced(): number {
  const r = reduced.r;
  switch (reduced.q) { case 0: return Math.sin(r); case 1: return Math.cos(r); case 2: return -Math.sin(r); default: return -Math.cos(r); }
}
/** cos |x| after reduceHalfPi(x). */
export function cosReduced(): number {
  const r = reduced.r;
  switch (reduced.q) { case 0: return Math.cos(r); case 1: return -Math.sin(r); case 2: return -Math.cos(r); default: return Math.sin(r); }
}
/** tan |x| after reduceHalfPi(x) (r is never exactly 0 for q odd: π66/2 has 66 significant bits). */
export function tanReduced(): number {
  const r = reduced.r;
  return (reduced.q & 1) === 0 ? Math.tan(r) : -1 / Math.tan(r);
}

/**
 * log2 x for a finite positive x (normal or denormal). x = g·2^k with g ∈ [√½, √2), and
 * log2 g = log1p(g − 1)/ln 2 with g − 1 formed exactly, so x near 1 keeps full relative accuracy.
 */
export function log2Of(x: Ext): number {
  const len = bitLength(x.m);
  let k = x.e + len - 1;
  let num: bigint, den: number;
  // g = m / 2^(len-1) ∈ [1, 2); above √2 (m² > 2^(2·len−1)) use g/2 and k + 1 instead.
  if (x.m * x.m > 1n << BigInt(2 * len - 1)) { num = x.m - (1n << BigInt(len)); den = len; k += 1; }
  else { num = x.m - (1n << BigInt(len - 1)); den = len - 1; }
  const d = num < 0n ? -scaled(-num, -den) : scaled(num, -den);
  return k + Math.log1p(d) / Math.LN2;
}

/**
 * atan2(y, x) for finite non-zero y and x, both scaled by the same power of two so that the larger
 * is near 1 (the smaller one may vanish to 0 when it cannot affect the binary64 result).
 */
export function atan2Of(y: Ext, x: Ext): number {
  const k = Math.max(topExp(y), topExp(x));
  const yv = scaled(y.m, y.e - k), xv = scaled(x.m, x.e - k);
  return Math.atan2(y.sign ? -yv : yv, x.sign ? -xv : xv);
}
