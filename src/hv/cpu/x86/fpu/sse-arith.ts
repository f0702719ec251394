/**
 * SSE floating-point arithmetic on one lane, under an MXCSR: rounding control, DAZ, FTZ and the
 * six exception flags. Operands arrive as numbers that are not NaN (NaN lanes are handled on their
 * bit patterns by the instruction files, so payloads survive); a NaN result from here means
 * "invalid operation" and becomes the default QNaN.
 */
import { round32, round64, twoSum, errLo, mulExact, divExact, sqrtExact, errSign, RC_DOWN, RC_ZERO, RC_UP } from './ieee-round.js';

export const FE_IE = 1, FE_DE = 2, FE_ZE = 4, FE_OE = 8, FE_UE = 16, FE_PE = 32;
export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_SQRT = 4;

/** The MXCSR fields of the instruction being executed, and the flags its lanes raised. */
export const sse = { flags: 0, rc: 0, daz: false, ftz: false, masks: 0x3f };

export function sseBegin(mxcsr: number): void {
  sse.flags = 0;
  sse.rc = (mxcsr >> 13) & 3;
  sse.daz = (mxcsr & 0x40) !== 0;
  sse.ftz = (mxcsr & 0x8000) !== 0;
  sse.masks = (mxcsr >> 7) & 0x3f;
}

const MIN_NORMAL64 = 2 ** -1022, MIN_NORMAL32 = 2 ** -126;
const MAX32 = 3.4028234663852886e38;

/** Denormal operand: zero under DAZ, else DE is raised and the value is used as is. */
export function operand64(x: number): number {
  if (x !== 0 && Math.abs(x) < MIN_NORMAL64) {
    if (sse.daz) return x < 0 ? -0 : 0;
    sse.flags |= FE_DE;
  }
  return x;
}
export function operand32(x: number): number {
  if (x !== 0 && Math.abs(x) < MIN_NORMAL32) {
    if (sse.daz) return x < 0 ? -0 : 0;
    sse.flags |= FE_DE;
  }
  return x;
}

/**
 * Overflowed result. With OE unmasked the destination stays unchanged and PE reports whether the
 * result, rounded with an unbounded exponent, is inexact (SDM vol. 1, appendix E).
 */
function overflowed(negative: boolean, wide: boolean, unboundedInexact: () => boolean): number {
  if ((sse.masks & FE_OE) === 0) {
    sse.flags |= FE_OE | (unboundedInexact() ? FE_PE : 0);
    return negative ? -Infinity : Infinity;
  }
  sse.flags |= FE_OE | FE_PE;
  const max = wide ? Number.MAX_VALUE : MAX32;
  switch (sse.rc) {
    case RC_ZERO: return negative ? -max : max;
    case RC_UP: return negative ? -max : Infinity;
    case RC_DOWN: return negative ? -Infinity : max;
    default: return negative ? -Infinity : Infinity;
  }
}

/**
 * Applies the tininess/underflow and FTZ rules to a rounded result. With UE unmasked the
 * destination stays unchanged and PE reports whether the result rounded with an unbounded
 * exponent is inexact, not the denormalised one.
 */
function finish(r: number, inexact: boolean, minNormal: number, unboundedInexact: () => boolean): number {
  if (r !== 0 ? Math.abs(r) < minNormal : inexact) {
    if ((sse.masks & FE_UE) === 0) { sse.flags |= FE_UE | (unboundedInexact() ? FE_PE : 0); return r; }
    if (sse.ftz) { sse.flags |= FE_UE | FE_PE; return r < 0 || Object.is(r, -0) ? -0 : 0; }
    if (inexact) sse.flags |= FE_UE;
  }
  if (inexact) sse.flags |= FE_PE;
  return r;
}

/** |x| scaled by a power of two into [1, 2) (exact: only the exponent changes); x finite, non-zero. */
function unit(x: number): number {
  let y = Math.abs(x);
  if (y < 2 ** -1000) y *= 2 ** 1000;
  else if (y >= 2 ** 1000) y *= 2 ** -1000;
  y *= 2 ** -Math.floor(Math.log2(y));
  return y >= 2 ? y / 2 : y < 1 ? y * 2 : y;
}

/** Operands of the lane being finished, for the unbounded-exponent precision check. */
let opNow = 0, opA = 0, opB = 0;
/** Whether the binary64 result of the current operation, with an unbounded exponent, is inexact. */
function inexact64Unbounded(): boolean {
  switch (opNow) {
    case OP_MUL: mulExact(unit(opA), unit(opB)); return errSign !== 0;
    case OP_DIV: divExact(unit(opA), unit(opB)); return errSign !== 0;
    case OP_ADD: case OP_SUB: {
      const b = opNow === OP_SUB ? -opB : opB;
      if (Number.isFinite(opA + b)) return es !== 0; // a tiny sum is exact; es is twoSum's error
      // An overflowing sum, scaled by a common power of two: the same exactness, no overflow.
      const a4 = opA / 4, b4 = b / 4;
      if (a4 * 4 !== opA || b4 * 4 !== b) return true; // a tiny addend lost bits: the sum is inexact
      twoSum(a4, b4);
      return errLo !== 0;
    }
    default: return false;
  }
}
/** The same for a binary32 result r + ε (sign e) computed in binary64. */
let narrowR = 0, narrowE = 0;
function inexact32Unbounded(): boolean {
  if (narrowE !== 0) return true;
  if (narrowR === 0 || !Number.isFinite(narrowR)) return false;
  const u = unit(narrowR);
  return Math.fround(u) !== u;
}

/** The exact-zero sum takes −0 when rounding down (IEEE 754 §6.3). */
function zeroSum(s: number, a: number, b: number): number {
  if (s === 0 && sse.rc === RC_DOWN && !(Object.is(a, 0) && Object.is(b, 0))) return -0;
  return s;
}

/** Exact result r + ε of an operation on finite operands; sets `es` = sign(ε). */
let es = 0;
function exact(op: number, a: number, b: number): number {
  switch (op) {
    case OP_ADD: case OP_SUB: {
      const bb = op === OP_SUB ? -b : b;
      if (!Number.isFinite(a) || !Number.isFinite(bb)) { es = 0; return a + bb; }
      const s = twoSum(a, bb);
      es = errLo > 0 ? 1 : errLo < 0 ? -1 : 0;
      return zeroSum(s, a, bb);
    }
    case OP_MUL:
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) { es = 0; return a * b; }
      { const p = mulExact(a, b); es = errSign; return p; }
    case OP_DIV:
      if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
        if (b === 0 && a !== 0 && a === a && Number.isFinite(a)) sse.flags |= FE_ZE;
        es = 0; return a / b;
      }
      { const q = divExact(a, b); es = errSign; return q; }
    default:
      if (a < 0 || !Number.isFinite(a)) { es = 0; return Math.sqrt(a); }
      { const r = sqrtExact(a); es = errSign; return r; }
  }
}

/** One binary64 operation; NaN means invalid (IE raised). */
export function arith64(op: number, a: number, b: number): number {
  const r = exact(op, a, b);
  if (r !== r) { sse.flags |= FE_IE; return r; }
  opNow = op; opA = a; opB = b;
  if (!Number.isFinite(r)) {
    if (Number.isFinite(a) && (op === OP_SQRT || Number.isFinite(b)) && !(op === OP_DIV && b === 0)) return overflowed(r < 0, true, inexact64Unbounded);
    return r;
  }
  const v = round64(r, es, sse.rc);
  if (!Number.isFinite(v)) return overflowed(v < 0, true, inexact64Unbounded);
  return finish(v, es !== 0, MIN_NORMAL64, inexact64Unbounded);
}

/** One binary32 operation on binary32 operands (computed exactly in binary64, rounded once). */
export function arith32(op: number, a: number, b: number): number {
  const r = exact(op, a, b);
  if (r !== r) { sse.flags |= FE_IE; return r; }
  if (!Number.isFinite(r) && (!(Number.isFinite(a) && (op === OP_SQRT || Number.isFinite(b))) || (op === OP_DIV && b === 0))) return r;
  return narrow(r, es);
}

/** Rounds a binary64 value (with error sign e) to binary32 under the MXCSR. */
export function narrow(r: number, e: number): number {
  const v = round32(r, e, sse.rc);
  const inexact = v !== r || e !== 0;
  narrowR = r; narrowE = e;
  if (!Number.isFinite(v)) return overflowed(v < 0, false, inexact32Unbounded);
  if (Math.abs(r) >= 2 ** 128) return overflowed(r < 0, false, inexact32Unbounded); // beyond MAX32 by a whole ulp: overflow in every mode
  return finish(v, inexact, MIN_NORMAL32, inexact32Unbounded);
}

/** Rounds to an integer in the current mode (or toward zero); PE when inexact. */
export function toIntegral(x: number, truncate: boolean): number {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  const frac = x - t;
  if (frac === 0) return t;
  sse.flags |= FE_PE;
  if (truncate) return t;
  switch (sse.rc) {
    case RC_DOWN: return Math.floor(x);
    case RC_UP: return Math.ceil(x);
    case RC_ZERO: return t;
    default: {
      const af = Math.abs(frac);
      if (af > 0.5 || (af === 0.5 && t % 2 !== 0)) return t + (x < 0 ? -1 : 1);
      return t;
    }
  }
}
