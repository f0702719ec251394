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

function overflowed(negative: boolean, wide: boolean): number {
  sse.flags |= FE_OE | FE_PE;
  const max = wide ? Number.MAX_VALUE : MAX32;
  switch (sse.rc) {
    case RC_ZERO: return negative ? -max : max;
    case RC_UP: return negative ? -max : Infinity;
    case RC_DOWN: return negative ? -Infinity : max;
    default: return negative ? -Infinity : Infinity;
  }
}

/** Applies the tininess/underflow and FTZ rules to a rounded result. */
function finish(r: number, inexact: boolean, minNormal: number): number {
  if (inexact) sse.flags |= FE_PE;
  if (r !== 0 ? Math.abs(r) < minNormal : inexact) {
    const ueMasked = (sse.masks & FE_UE) !== 0;
    if (!ueMasked) sse.flags |= FE_UE;
    else if (sse.ftz) { sse.flags |= FE_UE | FE_PE; return r < 0 || Object.is(r, -0) ? -0 : 0; }
    else if (inexact) sse.flags |= FE_UE;
  }
  return r;
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
  if (!Number.isFinite(r)) {
    if (Number.isFinite(a) && (op === OP_SQRT || Number.isFinite(b)) && !(op === OP_DIV && b === 0)) return overflowed(r < 0, true);
    return r;
  }
  const v = round64(r, es, sse.rc);
  if (!Number.isFinite(v)) return overflowed(v < 0, true);
  return finish(v, es !== 0, MIN_NORMAL64);
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
  if (!Number.isFinite(v)) return overflowed(v < 0, false);
  if (Math.abs(r) >= 2 ** 128) return overflowed(r < 0, false); // beyond MAX32 by a whole ulp: overflow in every mode
  return finish(v, inexact, MIN_NORMAL32);
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
