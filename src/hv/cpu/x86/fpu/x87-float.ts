/**
 * Extended-precision (80-bit) arithmetic in software for the x87. An operand is unpacked into a
 * sign, a class and an exact value m·2^e (m an integer BigInt), arithmetic is exact, and one
 * rounding step produces the result for any precision (24/53/64 bits), rounding mode and
 * destination format (80-bit register, binary64, binary32), reporting inexact, rounded-up
 * (for C1), tiny and overflow. x87 arithmetic is not a hot path in guests that use SSE, so BigInt
 * keeps this exact and short; registers themselves stay plain bytes.
 */

export const X_IE = 1, X_DE = 2, X_ZE = 4, X_OE = 8, X_UE = 0x10, X_PE = 0x20, X_SF = 0x40;
export const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;

export const K_ZERO = 0, K_NORMAL = 1, K_DENORMAL = 2, K_INF = 3, K_QNAN = 4, K_SNAN = 5, K_INVALID = 6;

/** An unpacked operand: value = (-1)^sign · m · 2^e for finite classes. */
export class Ext {
  sign = 0;
  cls = K_ZERO;
  m = 0n;
  e = 0;
  /** Raw 80-bit fields (kept for NaN propagation and FXAM). */
  exp = 0;
  mant = 0n;

  set(o: Ext): this { this.sign = o.sign; this.cls = o.cls; this.m = o.m; this.e = o.e; this.exp = o.exp; this.mant = o.mant; return this; }
}

const M64 = (1n << 64n) - 1n;
export const INDEFINITE_MANT = 0xc000000000000000n;

/** Reads the 10 bytes at `b[o..o+9]` into `x`. */
export function unpack80(b: Uint8Array, o: number, x: Ext): Ext {
  let mant = 0n;
  for (let k = 7; k >= 0; k--) mant = (mant << 8n) | BigInt(b[o + k]!);
  const se = b[o + 8]! | (b[o + 9]! << 8);
  return fromFields(x, se >> 15, se & 0x7fff, mant);
}

export function fromFields(x: Ext, sign: number, exp: number, mant: bigint): Ext {
  x.sign = sign; x.exp = exp; x.mant = mant;
  const integer = (mant >> 63n) & 1n;
  if (exp === 0x7fff) {
    if (integer === 0n) x.cls = K_INVALID;                         // pseudo-infinity / pseudo-NaN
    else if ((mant & ((1n << 63n) - 1n)) === 0n) x.cls = K_INF;
    else x.cls = ((mant >> 62n) & 1n) === 1n ? K_QNAN : K_SNAN;
    x.m = 0n; x.e = 0;
    return x;
  }
  if (exp === 0) {
    x.cls = mant === 0n ? K_ZERO : K_DENORMAL;                    // pseudo-denormals are denormal operands
    x.m = mant; x.e = 1 - 16383 - 63;
    return x;
  }
  x.cls = integer === 0n ? K_INVALID : K_NORMAL;                  // unnormals are invalid operands
  x.m = mant; x.e = exp - 16383 - 63;
  return x;
}

export function pack80(b: Uint8Array, o: number, sign: number, exp: number, mant: bigint): void {
  let v = mant & M64;
  for (let k = 0; k < 8; k++) { b[o + k] = Number(v & 0xffn); v >>= 8n; }
  const se = (sign << 15) | (exp & 0x7fff);
  b[o + 8] = se & 0xff; b[o + 9] = se >> 8;
}

export function bitLength(m: bigint): number {
  let n = 0;
  let v = m;
  while (v >= 1n << 64n) { v >>= 64n; n += 64; }
  while (v > 0n) { v >>= 1n; n++; }
  return n;
}

/** Destination formats: precision, minimum and maximum unbiased exponents. */
export interface Format { p: number; emin: number; emax: number }
export const F80: Format = { p: 64, emin: -16382, emax: 16383 };
export const F64: Format = { p: 53, emin: -1022, emax: 1023 };
export const F32: Format = { p: 24, emin: -126, emax: 127 };
export function precisionFormat(pc: number): Format {
  return pc === 0 ? { p: 24, emin: -16382, emax: 16383 } : pc === 2 ? { p: 53, emin: -16382, emax: 16383 } : F80;
}

/** Result of round(): value = rm·2^rq (rm < 2^p), with what happened. */
export const rounded = { m: 0n, q: 0, inexact: false, up: false, tiny: false, overflow: false };

/**
 * Rounds (−1)^sign·m·2^e (m > 0) to `f` in mode rc (0 nearest, 1 down, 2 up, 3 toward zero).
 * Tininess is judged after rounding (as x86 does); overflow leaves the caller to pick the
 * masked response.
 */
export function round(sign: number, m: bigint, e: number, f: Format, rc: number): void {
  const len = bitLength(m);
  const top = e + len - 1;
  const q = Math.max(top - f.p + 1, f.emin - f.p + 1);
  const shift = q - e;
  let rm: bigint, rq = q, inexact = false, up = false;
  if (shift <= 0) rm = m << BigInt(-shift);
  else {
    const sh = BigInt(shift);
    rm = m >> sh;
    const rem = m & ((1n << sh) - 1n);
    if (rem !== 0n) {
      inexact = true;
      const half = 1n << (sh - 1n);
      let inc: boolean;
      switch (rc) {
        case 0: inc = rem > half || (rem === half && (rm & 1n) === 1n); break;
        case 1: inc = sign === 1; break;
        case 2: inc = sign === 0; break;
        default: inc = false;
      }
      if (inc) {
        up = true;
        rm += 1n;
        if (rm === 1n << BigInt(f.p)) { rm >>= 1n; rq++; }
      }
    }
  }
  const rtop = rq + bitLength(rm) - 1;
  rounded.m = rm; rounded.q = rq; rounded.inexact = inexact; rounded.up = up;
  rounded.tiny = rm !== 0n && rtop < f.emin || (rm === 0n && inexact);
  rounded.overflow = rtop > f.emax;
}

/** Encodes `rounded` (no overflow) as 80-bit fields with an exponent bias adjustment. */
export function encode80(adjust: number): { exp: number; mant: bigint } {
  const rm = rounded.m;
  if (rm === 0n) return { exp: 0, mant: 0n };
  const len = bitLength(rm);
  const top = rounded.q + len - 1;
  if (top < -16382 && adjust === 0) return { exp: 0, mant: rm << BigInt(rounded.q + 16382 + 63) };
  return { exp: top + 16383 + adjust, mant: rm << BigInt(64 - len) };
}

/** Encodes `rounded` as binary64 (hi, lo words) or binary32 (lo). */
export function encodeIeee(sign: number, f: Format): { hi: number; lo: number } {
  const rm = rounded.m;
  const fracBits = f.p - 1, bias = f.emax;
  let bits: bigint;
  if (rm === 0n) bits = 0n;
  else {
    const len = bitLength(rm);
    const top = rounded.q + len - 1;
    if (top < f.emin) bits = rm << BigInt(rounded.q - (f.emin - fracBits));
    else bits = (BigInt(top + bias) << BigInt(fracBits)) | ((rm << BigInt(f.p - len)) & ((1n << BigInt(fracBits)) - 1n));
  }
  if (f.p === 24) return { hi: 0, lo: (Number(bits) | (sign << 31)) | 0 };
  return { hi: (Number(bits >> 32n) | (sign << 31)) | 0, lo: Number(bits & 0xffffffffn) | 0 };
}

/** Masked overflow: infinity or the largest finite value of the precision, by rounding mode. */
export function overflowValue(sign: number, f: Format, rc: number): { inf: boolean; m: bigint; q: number } {
  const toInf = rc === 0 || (rc === 2 && sign === 0) || (rc === 1 && sign === 1);
  const m = (1n << BigInt(f.p)) - 1n;
  return { inf: toInf, m, q: f.emax - f.p + 1 };
}

// ---- exact operations on finite, non-zero-class operands ----

export const exact = { sign: 0, m: 0n, e: 0 };

export function addExact(a: Ext, b: Ext, negB: boolean): void {
  const sb = negB ? b.sign ^ 1 : b.sign;
  let am = a.m, ae = a.e, bm = b.m, be = b.e;
  // A far smaller operand only matters as a sticky bit below the rounding point.
  if (am !== 0n && bm !== 0n) {
    const at = ae + bitLength(am), bt = be + bitLength(bm);
    if (at - bt > 200) { bm = 1n; be = at - 200; }
    else if (bt - at > 200) { am = 1n; ae = bt - 200; }
  }
  const e = Math.min(ae, be);
  const x = am << BigInt(ae - e), y = bm << BigInt(be - e);
  const vx = a.sign === 1 ? -x : x, vy = sb === 1 ? -y : y;
  const s = vx + vy;
  exact.sign = s < 0n ? 1 : 0; exact.m = s < 0n ? -s : s; exact.e = e;
}

export function mulExact(a: Ext, b: Ext): void {
  exact.sign = a.sign ^ b.sign; exact.m = a.m * b.m; exact.e = a.e + b.e;
}

export function divExact(a: Ext, b: Ext): void {
  const shift = 130;
  const n = a.m << BigInt(shift);
  let q = n / b.m;
  const r = n - q * b.m;
  q = (q << 1n) | (r !== 0n ? 1n : 0n);
  exact.sign = a.sign ^ b.sign; exact.m = q; exact.e = a.e - b.e - shift - 1;
}

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrtExact(a: Ext): void {
  let m = a.m, e = a.e;
  if ((e & 1) !== 0) { m <<= 1n; e -= 1; }
  const extra = 140;
  m <<= BigInt(extra); e -= extra;
  const r = isqrt(m);
  const sticky = r * r !== m ? 1n : 0n;
  exact.sign = 0; exact.m = (r << 1n) | sticky; exact.e = e / 2 - 1;
}

const numF = new Float64Array(1), numW = new Uint32Array(numF.buffer);
/** An exact value from a finite JavaScript number (binary64 fields read directly). */
export function fromNumber(x: Ext, v: number): Ext {
  numF[0] = v;
  const hi = numW[1]!, lo = numW[0]!;
  x.sign = hi >>> 31;
  const bexp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (bexp === 0 && frac === 0n) { x.cls = K_ZERO; x.m = 0n; x.e = 0; return x; }
  x.cls = K_NORMAL;
  if (bexp === 0) { x.m = frac; x.e = -1074; } else { x.m = frac | (1n << 52n); x.e = bexp - 1075; }
  return x;
}

/** The value of a finite operand as a JavaScript number (rounded to nearest binary64). */
export function toNumber(x: Ext): number {
  if (x.cls === K_ZERO) return x.sign ? -0 : 0;
  if (x.cls === K_INF) return x.sign ? -Infinity : Infinity;
  round(x.sign, x.m, x.e, { p: 53, emin: -1022, emax: 1023 }, 0);
  const v = rounded.overflow ? Infinity : Number(rounded.m) * 2 ** rounded.q;
  return x.sign ? -v : v;
}
