/**
 * x87 transcendentals: FSIN, FCOS, FSINCOS, FPTAN, FPATAN, FYL2X, F2XM1, FYL2XP1. Special operands,
 * stack faults and flags follow the SDM's tables for each instruction; the values come from
 * fpu/x87-elementary.ts (arguments prepared exactly, then binary64): about 2^-52 relative, not the
 * hardware's 64-bit accuracy. FSIN/FCOS/FSINCOS/FPTAN reduce with the x87's 66-bit π, so large
 * arguments give the hardware's (not the mathematically exact) results; |x| ≥ 2^63 sets C2 and
 * leaves the operand. Every result that is not exact reports PE; tiny results underflow through
 * deliver() (with the +24576 bias when UE is unmasked).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  Ext, fromNumber, toNumber, mulExact, divExact, exact, K_ZERO, K_NORMAL, K_INF, K_DENORMAL, C2,
} from '../fpu/x87-float.js';
import { topExp, reduceHalfPi, sinReduced, cosReduced, tanReduced, log2Of, atan2Of } from '../fpu/x87-elementary.js';
import {
  xf, x87Begin, commit, phys, readSt, underflowInto, pop, deliver, nanOperands, invalidInto, denormalCheck,
  writeInf, writeZero, writePhys, writeIndefinite, copyPhys, isEmpty, masked, X_IE, X_ZE, X_DE, X_PE, X_SF,
} from './x87-common.js';

const XA = new Ext(), XB = new Ext(), XR = new Ext();

/**
 * Rounds a value known only approximately into register p: (−1)^sign·m·2^e nudged in direction
 * `dir` (+1 above, −1 below in magnitude) by far less than the 64-bit result's last bit, so the
 * result is always inexact (PE, and UE when tiny) and rounds the way the true value does when
 * that lies on the given side.
 */
function deliverNear(c: X86Cpu, p: number, sign: number, m: bigint, e: number, dir: number): void {
  deliver(c, p, sign, (m << NUDGE) + (dir < 0 ? -1n : 1n), e - NUDGE_BITS, false);
}
const NUDGE_BITS = 66, NUDGE = BigInt(NUDGE_BITS);
/** A binary64 approximation (finite, non-zero) into register p. */
function deliverNumber(c: X86Cpu, p: number, v: number): void {
  fromNumber(XR, v);
  deliverNear(c, p, XR.sign, XR.m, XR.e, 1);
}
function writeOne(c: X86Cpu, p: number): void { writePhys(c, p, 0, 0x3fff, 1n << 63n); }

/** Decrements TOP without the overflow check (the caller has done it, or the SDM skips it). */
function forcePush(c: X86Cpu): number {
  c.fpu.top = (c.fpu.top - 1) & 7;
  return c.fpu.top;
}

// Below 2^-32, sin x = x − x³/6 and tan x = x + x³/3 are within a quarter ulp of x, cos x of 1.
const TINY_TOP = -33;

const SIN = 0, COS = 1, SINCOS = 2, TAN = 3;

function trig(name: string, rm: number, kind: number): void {
  const pushes = kind === SINCOS || kind === TAN;
  def(0, 0xd9, { name, reg: rm >> 3, rm: rm & 7 }, (c: X86Cpu, i: Insn) => {
    x87Begin(c, i);
    c.fpu.fsw &= ~C2;
    const p = phys(c, 0);
    if (!readSt(c, 0, XA)) {
      // Underflow is checked before overflow; the masked response fills both results.
      underflowInto(c, p);
      if (pushes && masked(c, X_IE)) writeIndefinite(c, forcePush(c));
      commit(c); return;
    }
    if (pushes && !isEmpty(c, 7)) {
      // Stack overflow comes before the operand's class: no other flag, both results indefinite.
      xf.flags |= X_IE | X_SF; xf.c1 = 1;
      if (masked(c, X_IE)) { writeIndefinite(c, p); writeIndefinite(c, forcePush(c)); }
      commit(c); return;
    }
    if (XA.cls === K_INF || nanOperands(c, p, XA, null)) {
      if (XA.cls === K_INF) invalidInto(c, p);
      // Both results of FSINCOS/FPTAN are the NaN (or the indefinite) unless IE is unmasked.
      if (pushes && ((xf.flags & X_IE) === 0 || masked(c, X_IE))) copyPhys(c, p, forcePush(c));
      commit(c); return;
    }
    if (denormalCheck(c, XA, null, K_DENORMAL)) { commit(c); return; }
    if (XA.cls !== K_ZERO && topExp(XA) >= 63) { c.fpu.fsw |= C2; commit(c); return; }
    if (kind === SIN) sinInto(c, p, XA);
    else if (kind === COS) cosInto(c, p, XA);
    else if (kind === SINCOS) {
      // ST(0) = cos, ST(1) = sin: sin replaces the operand, cos is pushed.
      XB.set(XA);
      sinInto(c, p, XA);
      cosInto(c, forcePush(c), XB);
    } else {
      tanInto(c, p, XA);
      writeOne(c, forcePush(c));
    }
    commit(c);
  });
}

function sinInto(c: X86Cpu, p: number, x: Ext): void {
  if (x.cls === K_ZERO) { writeZero(c, p, x.sign); return; }
  if (topExp(x) < TINY_TOP) { deliverNear(c, p, x.sign, x.m, x.e, -1); return; }
  reduceHalfPi(x);
  const v = sinReduced();
  deliverNumber(c, p, x.sign ? -v : v);
}
function cosInto(c: X86Cpu, p: number, x: Ext): void {
  if (x.cls === K_ZERO) { writeOne(c, p); return; }
  if (topExp(x) < TINY_TOP) { deliverNear(c, p, 0, 1n, 0, -1); return; }
  reduceHalfPi(x);
  deliverNumber(c, p, cosReduced());
}
function tanInto(c: X86Cpu, p: number, x: Ext): void {
  if (x.cls === K_ZERO) { writeZero(c, p, x.sign); return; }
  if (topExp(x) < TINY_TOP) { deliverNear(c, p, x.sign, x.m, x.e, 1); return; }
  reduceHalfPi(x);
  const v = tanReduced();
  deliverNumber(c, p, x.sign ? -v : v);
}

trig('fsin', 0x3e, SIN);
trig('fcos', 0x3f, COS);
trig('fsincos', 0x3b, SINCOS);
trig('fptan', 0x32, TAN);

// ---- F2XM1 and the two-operand functions ----

/** Below 2^-60, 2^x − 1 and log2(1 + x) are x·ln 2 and x/ln 2 to far better than binary64. */
const TINY_LOG = -60;
const LN2 = fromNumber(new Ext(), Math.LN2), LOG2E = fromNumber(new Ext(), Math.LOG2E);

/** A binary64 result of F2XM1/FYL2XP1 (NaN: invalid). */
function putNumber(c: X86Cpu, p: number, v: number): void {
  if (v !== v) { invalidInto(c, p); return; }
  if (v === 0) { writeZero(c, p, Object.is(v, -0) ? 1 : 0); return; }
  if (!Number.isFinite(v)) { writeInf(c, p, v < 0 ? 1 : 0); return; }
  deliverNumber(c, p, v);
  xf.flags |= X_PE;
}

def(0, 0xd9, { name: 'f2xm1', reg: 6, rm: 0 }, (c: X86Cpu, i: Insn) => {
  x87Begin(c, i);
  const p = phys(c, 0);
  if (!readSt(c, 0, XA)) underflowInto(c, p);
  else if (nanOperands(c, p, XA, null) || denormalCheck(c, XA, null, K_DENORMAL)) { /* done */ }
  else if (XA.cls === K_ZERO) { /* 2^±0 − 1 = ±0 */ }
  else if (XA.cls === K_INF) { if (XA.sign) writePhys(c, p, 1, 0x3fff, 1n << 63n); }
  else if (topExp(XA) < TINY_LOG) {
    // 2^x − 1 = x·ln 2·(1 + x·ln 2/2 + …): beyond x·ln 2 for x > 0, short of it for x < 0.
    mulExact(XA, LN2);
    deliverNear(c, p, exact.sign, exact.m, exact.e, XA.sign ? -1 : 1);
  } else putNumber(c, p, Math.expm1(toNumber(XA) * Math.LN2));
  commit(c);
});

/**
 * FPATAN, FYL2X, FYL2XP1: ST(1) = f(ST(1), ST(0)), then pop, unless an unmasked IE, ZE or DE
 * suppressed the operation. `fn` checks denormal operands itself: FYL2X reports invalid and
 * zero-divide operands without DE.
 */
function binaryPop(name: string, rm: number, fn: (c: X86Cpu, p: number, y: Ext, x: Ext) => void): void {
  def(0, 0xd9, { name, reg: rm >> 3, rm: rm & 7 }, (c: X86Cpu, i: Insn) => {
    x87Begin(c, i);
    const p1 = phys(c, 1);
    if (!readSt(c, 0, XA) || !readSt(c, 1, XB)) { underflowInto(c, p1); if (masked(c, X_IE)) pop(c); commit(c); return; }
    if (!nanOperands(c, p1, XB, XA)) fn(c, p1, XB, XA);
    if ((xf.flags & ~c.fpu.fcw & (X_IE | X_ZE | X_DE)) === 0) pop(c);
    commit(c);
  });
}

binaryPop('fpatan', 0x33, (c, p, y, x) => {
  if (denormalCheck(c, y, x, K_DENORMAL)) return;
  const sy = y.sign ? -1 : 1;
  if (y.cls === K_ZERO) { if (x.sign === 1) deliverNumber(c, p, sy * Math.PI); return; } // else ±0 stays
  if (y.cls === K_INF) { deliverNumber(c, p, sy * (x.cls !== K_INF ? Math.PI / 2 : x.sign ? 3 * Math.PI / 4 : Math.PI / 4)); return; }
  if (x.cls === K_ZERO) { deliverNumber(c, p, sy * Math.PI / 2); return; }
  if (x.cls === K_INF) { if (x.sign) deliverNumber(c, p, sy * Math.PI); else writeZero(c, p, y.sign); return; }
  if (x.sign === 0 && topExp(y) - topExp(x) < -62) {
    // atan t = t − t³/3 with t = y/x below 2^-61: the exact quotient, a hair toward zero.
    divExact(y, x);
    deliverNear(c, p, exact.sign, exact.m, exact.e, -1);
    return;
  }
  deliverNumber(c, p, atan2Of(y, x));
});

binaryPop('fyl2x', 0x31, (c, p, y, x) => {
  if (x.sign === 1 && x.cls !== K_ZERO) { invalidInto(c, p); return; }     // log of a negative
  if (x.cls === K_ZERO) {
    if (y.cls === K_ZERO) { invalidInto(c, p); return; }
    if (y.cls !== K_INF) { xf.flags |= X_ZE; if (!masked(c, X_ZE)) return; } // ∞·(−∞) is no division by zero
    writeInf(c, p, y.sign ^ 1);
    return;
  }
  if (denormalCheck(c, y, x, K_DENORMAL)) return;
  if (x.cls === K_INF) { if (y.cls === K_ZERO) invalidInto(c, p); else writeInf(c, p, y.sign); return; }
  const below1 = topExp(x) < 0 ? 1 : 0;
  const isOne = topExp(x) === 0 && (x.m & (x.m - 1n)) === 0n;
  if (y.cls === K_INF) { if (isOne) invalidInto(c, p); else writeInf(c, p, y.sign ^ below1); return; }
  if (y.cls === K_ZERO) { writeZero(c, p, y.sign ^ below1); return; }
  if (isOne) { writeZero(c, p, y.sign); return; }                            // log2 1 = +0
  // The product of y and a binary64 log2 x is formed exactly, so y far outside binary64's range works.
  fromNumber(XR, log2Of(x));
  mulExact(y, XR);
  deliverNear(c, p, exact.sign, exact.m, exact.e, 1);
});

binaryPop('fyl2xp1', 0x39, (c, p, y, x) => {
  if (denormalCheck(c, y, x, K_DENORMAL)) return;
  if (x.cls === K_ZERO && y.cls === K_INF) { invalidInto(c, p); return; }
  if (y.cls === K_INF) { writeInf(c, p, y.sign ^ x.sign); return; }           // log2(1 + x) has x's sign
  if (x.cls === K_ZERO || y.cls === K_ZERO) { writeZero(c, p, y.sign ^ x.sign); return; }
  // log2(1 + x) as an exact value (x/ln 2 for tiny x), then an exact product with y.
  if (x.cls !== K_INF && topExp(x) < TINY_LOG) {
    mulExact(x, LOG2E);
    XR.cls = K_NORMAL; XR.sign = exact.sign; XR.m = exact.m; XR.e = exact.e;
  } else {
    const l = Math.log1p(toNumber(x)) / Math.LN2;
    // Outside the SDM's domain (x ≤ −1, x = ∞) the result is undefined: keep binary64's answer.
    if (!Number.isFinite(l)) { putNumber(c, p, toNumber(y) * l); return; }
    fromNumber(XR, l);
  }
  mulExact(y, XR);
  deliverNear(c, p, exact.sign, exact.m, exact.e, 1);
});
