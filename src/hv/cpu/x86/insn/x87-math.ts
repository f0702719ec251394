/**
 * x87 functions of ST(0): FSQRT (exact, precision-controlled), FRNDINT, FSCALE, FXTRACT, FPREM,
 * FPREM1 (exact partial remainders with the quotient bits in C0/C3/C1). The transcendentals live
 * in x87-transcendental.ts, registered through the import below (the engine loads this module).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  Ext, sqrtExact, exact, bitLength, K_ZERO, K_INF, K_DENORMAL, K_NORMAL, C0, C1, C2, C3,
} from '../fpu/x87-float.js';
import {
  xf, x87Begin, commit, phys, readSt, underflowInto, push, deliver, nanOperands, invalidInto, denormalCheck,
  writeInf, writeZero, writePhys, writeIndefinite, isEmpty, masked, X_IE, X_ZE, X_SF,
} from './x87-common.js';
import { toInteger } from './x87-load.js';
import './x87-transcendental.js';

const XA = new Ext(), XB = new Ext();

function isFiniteClass(x: Ext): boolean { return x.cls === K_NORMAL || x.cls === K_DENORMAL; }

/** Unary op on ST(0) with the common empty/NaN/denormal prologue; `body` handles the rest. */
function unary(name: string, rm: number, body: (c: X86Cpu, p: number, x: Ext) => void, invalidNeg = false): void {
  def(0, 0xd9, { name, reg: rm >> 3, rm: rm & 7 }, (c: X86Cpu, i: Insn) => {
    x87Begin(c, i);
    const p = phys(c, 0);
    if (!readSt(c, 0, XA)) underflowInto(c, p);
    else if (nanOperands(c, p, XA, null)) { /* done */ }
    else if (invalidNeg && XA.sign === 1 && XA.cls !== K_ZERO) invalidInto(c, p); // reported without DE
    else if (!denormalCheck(c, XA, null, K_DENORMAL)) body(c, p, XA);
    commit(c);
  });
}

unary('fsqrt', 0x3a, (c, p, x) => {
  if (x.cls === K_ZERO) return;                           // √±0 = ±0
  if (x.sign === 1) { invalidInto(c, p); return; }
  if (x.cls === K_INF) return;
  sqrtExact(x);
  deliver(c, p, 0, exact.m, exact.e);
}, true);

unary('frndint', 0x3c, (c, p, x) => {
  if (!isFiniteClass(x)) return;
  const v = toInteger(c, x, false);
  if (v === null) return;
  const up = xf.c1;
  if (v === 0n) writeZero(c, p, x.sign);
  else deliver(c, p, v < 0n ? 1 : 0, v < 0n ? -v : v, 0, false);
  xf.c1 = up;
});

def(0, 0xd9, { name: 'fxtract', reg: 6, rm: 4 }, (c: X86Cpu, i: Insn) => {
  x87Begin(c, i);
  const p = phys(c, 0);
  if (!readSt(c, 0, XA)) {
    // Underflow wins over overflow: masked, both results are the indefinite (no overflow check).
    underflowInto(c, p);
    if (masked(c, X_IE)) { c.fpu.top = phys(c, 7); writeIndefinite(c, c.fpu.top); }
  } else if (!isEmpty(c, 7)) {
    // Stack overflow is checked before the operand: no ZE/DE, both results are the indefinite.
    xf.flags |= X_IE | X_SF; xf.c1 = 1;
    if (masked(c, X_IE)) { writeIndefinite(c, p); c.fpu.top = phys(c, 7); writeIndefinite(c, c.fpu.top); }
  } else if (nanOperands(c, p, XA, null)) {
    // Both results are the (quieted) NaN.
    if ((xf.flags & ~c.fpu.fcw & 0x3f) === 0) { const q = push(c); if (q >= 0) { c.fpu.st.copyWithin(q * 10, p * 10, p * 10 + 10); writePhys(c, q, c.fpu.st[q * 10 + 9]! >> 7, 0x7fff, readMant(c, q)); } }
  } else if (!denormalCheck(c, XA, null, K_DENORMAL)) fxtract(c, p, XA);
  commit(c);
});
function readMant(c: X86Cpu, p: number): bigint {
  let m = 0n;
  for (let k = 7; k >= 0; k--) m = (m << 8n) | BigInt(c.fpu.st[p * 10 + k]!);
  return m;
}
function fxtract(c: X86Cpu, p: number, x: Ext): void {
  if (x.cls === K_ZERO) {
    // Divide-by-zero: ST(0) = −∞, then push the zero.
    xf.flags |= X_ZE;
    if (!masked(c, X_ZE)) return;
    const sign = x.sign;
    writeInf(c, p, 1);
    const q = push(c);
    if (q >= 0) writeZero(c, q, sign);
    return;
  }
  if (x.cls === K_INF) {
    const sign = x.sign;
    writeInf(c, p, 0);
    const q = push(c);
    if (q >= 0) writeInf(c, q, sign);
    return;
  }
  const top = x.e + bitLength(x.m) - 1;
  const sign = x.sign, m = x.m, shift = -(bitLength(x.m) - 1);
  if (top === 0) writeZero(c, p, 0);
  else deliver(c, p, top < 0 ? 1 : 0, BigInt(Math.abs(top)), 0, false);
  const q = push(c);
  if (q >= 0) deliver(c, q, sign, m, shift, false);
}

// FSCALE: ST(0) · 2^trunc(ST(1)).
def(0, 0xd9, { name: 'fscale', reg: 7, rm: 5 }, (c, i) => {
  x87Begin(c, i);
  const p = phys(c, 0);
  if (!readSt(c, 0, XA) || !readSt(c, 1, XB)) { underflowInto(c, p); commit(c); return; }
  if (nanOperands(c, p, XA, XB) || denormalCheck(c, XA, XB, K_DENORMAL)) { commit(c); return; }
  if (XB.cls === K_INF) {
    if (XA.cls === K_ZERO && XB.sign === 0) invalidInto(c, p);
    else if (XA.cls === K_INF && XB.sign === 1) invalidInto(c, p);
    else if (XA.cls === K_ZERO || XA.cls === K_INF) { /* unchanged */ }
    else if (XB.sign === 0) writeInf(c, p, XA.sign);
    else writeZero(c, p, XA.sign);
    commit(c); return;
  }
  if (XA.cls === K_ZERO || XA.cls === K_INF) { commit(c); return; }
  let n = 0;
  if (XB.cls !== K_ZERO) {
    const top = XB.e + bitLength(XB.m) - 1;
    if (top > 20) n = XB.sign ? -100000 : 100000;            // far beyond any exponent range
    else { const v = XB.e >= 0 ? XB.m << BigInt(XB.e) : XB.m >> BigInt(-XB.e); n = Number(XB.sign ? -v : v); }
  }
  deliver(c, p, XA.sign, XA.m, XA.e + n, false);
  commit(c);
});

/** FPREM (truncating quotient) and FPREM1 (IEEE, nearest-even quotient). */
function fprem(ieee: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const p = phys(c, 0);
    const f = c.fpu;
    // C2 (reduction incomplete) is cleared on every path; C0 and C3 survive the exceptional ones.
    f.fsw &= ~C2;
    if (!readSt(c, 0, XA) || !readSt(c, 1, XB)) { underflowInto(c, p); commit(c); return; }
    if (nanOperands(c, p, XA, XB)) { commit(c); return; }
    if (XA.cls === K_INF || XB.cls === K_ZERO) { invalidInto(c, p); commit(c); return; } // without DE
    if (denormalCheck(c, XA, XB, K_DENORMAL)) { commit(c); return; }
    f.fsw &= ~(C0 | C1 | C2 | C3);
    if (XA.cls === K_ZERO) { commit(c, false); return; }
    if (XB.cls === K_INF) {
      // The remainder is the dividend; a denormal one still underflows when UE is unmasked.
      deliver(c, p, XA.sign, XA.m, XA.e, false);
      commit(c, false); return;
    }
    const ta = XA.e + bitLength(XA.m), tb = XB.e + bitLength(XB.m);
    const d = ta - tb;
    const e = Math.min(XA.e, XB.e);
    let A = XA.m << BigInt(XA.e - e);
    let B = XB.m << BigInt(XB.e - e);
    let partial = false;
    if (d >= 64) {
      // Partial reduction (the caller loops while C2 = 1): the quotient keeps N = 32-63 bits.
      B <<= BigInt(d - ((d & 31) | 32));
      partial = true;
    }
    let q = A / B;
    let r = A - q * B;
    let neg = XA.sign;
    if (ieee && !partial && (2n * r > B || (2n * r === B && (q & 1n) === 1n))) { q += 1n; r = B - r; neg ^= 1; }
    A = r;
    if (partial) f.fsw |= C2;
    else {
      // C0 = Q2, C3 = Q1, C1 = Q0.
      f.fsw |= ((q & 4n) !== 0n ? C0 : 0) | ((q & 2n) !== 0n ? C3 : 0) | ((q & 1n) !== 0n ? C1 : 0);
    }
    if (A === 0n) writeZero(c, p, XA.sign);
    else deliver(c, p, neg, A, e, false);
    xf.c1 = (f.fsw & C1) !== 0 ? 1 : 0;
    commit(c);
  };
}
def(0, 0xd9, { name: 'fprem', reg: 7, rm: 0 }, fprem(false));
def(0, 0xd9, { name: 'fprem1', reg: 6, rm: 5 }, fprem(true));
