/**
 * x87 arithmetic and comparisons: FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR with m32/m64/m16int/m32int and
 * register operands (D8, DC, DE, DA, including the reversed and popping forms), FCOM/FCOMP/
 * FCOMPP, FUCOM/FUCOMP/FUCOMPP, FICOM(P), FCOMI(P), FUCOMI(P), FTST and FXAM.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { setArithFlags } from '../flags.js';
import {
  Ext, addExact, mulExact, divExact, exact, K_ZERO, K_INF, K_DENORMAL, K_QNAN, K_SNAN, K_INVALID, K_NORMAL,
  C0, C1, C2, C3,
} from '../fpu/x87-float.js';
import {
  xf, x87Begin, noteData, commit, phys, readSt, underflowInto, pop, deliver, nanOperands, invalidInto, denormalCheck,
  writeInf, writeZero, masked, rc, isEmpty, unmaskedPreComputation, X_IE, X_ZE,
} from './x87-common.js';
import { readReal32, readReal64, readInt } from './x87-operands.js';

const XA = new Ext(), XB = new Ext(), ZERO = new Ext();

export const OP_ADD = 0, OP_MUL = 1, OP_SUB = 4, OP_SUBR = 5, OP_DIV = 6, OP_DIVR = 7;

/**
 * dst(p) = a op b, all special cases per the SDM tables. Two NaNs with equal significands: the
 * hardware returns ST(0)'s, whatever the operand order or destination (checked on the host), so
 * NaN selection sees ST(0) (always XA here) first.
 */
function binary(c: X86Cpu, op: number, a0: Ext, b0: Ext, p: number): void {
  let a = a0, b = b0;
  if (a0 === XA ? nanOperands(c, p, a0, b0) : nanOperands(c, p, b0, a0)) return;
  if (op === OP_SUBR || op === OP_DIVR) { a = b0; b = a0; }
  const aInf = a.cls === K_INF, bInf = b.cls === K_INF, aZero = a.cls === K_ZERO, bZero = b.cls === K_ZERO;
  // Invalid operations and division by zero are reported without DE.
  const isDiv = op === OP_DIV || op === OP_DIVR;
  if (isDiv && bZero && !aZero && !aInf) {
    xf.flags |= X_ZE;
    if (masked(c, X_ZE)) writeInf(c, p, a.sign ^ b.sign);
    return;
  }
  if (denormalCheck(c, a, b, K_DENORMAL)) return;
  switch (op) {
    case OP_ADD: case OP_SUB: case OP_SUBR: {
      const sb = op === OP_ADD ? b.sign : b.sign ^ 1;
      if (aInf && bInf) { if (a.sign !== sb) invalidInto(c, p); else writeInf(c, p, a.sign); return; }
      if (aInf) { writeInf(c, p, a.sign); return; }
      if (bInf) { writeInf(c, p, sb); return; }
      addExact(a, b, op !== OP_ADD);
      if (exact.m === 0n) {
        const sign = aZero && bZero && a.sign === sb ? a.sign : rc(c) === 1 ? 1 : 0;
        writeZero(c, p, sign);
        return;
      }
      deliver(c, p, exact.sign, exact.m, exact.e);
      return;
    }
    case OP_MUL: {
      const sign = a.sign ^ b.sign;
      if ((aInf && bZero) || (bInf && aZero)) { invalidInto(c, p); return; }
      if (aInf || bInf) { writeInf(c, p, sign); return; }
      if (aZero || bZero) { writeZero(c, p, sign); return; }
      mulExact(a, b);
      deliver(c, p, exact.sign, exact.m, exact.e);
      return;
    }
    default: {
      const sign = a.sign ^ b.sign;
      if ((aInf && bInf) || (aZero && bZero)) { invalidInto(c, p); return; }
      if (aInf) { writeInf(c, p, sign); return; }
      if (bInf || aZero) { writeZero(c, p, sign); return; }
      if (bZero) {
        xf.flags |= X_ZE;
        if (masked(c, X_ZE)) writeInf(c, p, sign);
        return;
      }
      divExact(a, b);
      deliver(c, p, exact.sign, exact.m, exact.e);
    }
  }
}

// ---- arithmetic registration ----

function memOperand(c: X86Cpu, i: Insn, kind: number, x: Ext): void {
  const size = kind === 0 ? 4 : kind === 1 ? 8 : kind === 2 ? 4 : 2;
  const la = c.addr(i, size);
  noteData(c, la);
  if (kind === 0) readReal32(c, la, x);
  else if (kind === 1) readReal64(c, la, x);
  else readInt(c, la, size, x);
}

/** ST(0) = ST(0) op mem (kind 0 m32real, 1 m64real, 2 m32int, 3 m16int). */
function arithMem(op: number, kind: number) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    memOperand(c, i, kind, XB);
    const p = phys(c, 0);
    if (!readSt(c, 0, XA)) underflowInto(c, p);
    else binary(c, op, XA, XB, p);
    commit(c);
  };
}
/** Register forms: dst = ST(0) (D8) or ST(i) (DC/DE); `popAfter` for DE. */
function arithReg(op: number, toSti: boolean, popAfter: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const k = i.rm & 7;
    const p = toSti ? phys(c, k) : phys(c, 0);
    const ok0 = readSt(c, 0, XA), ok1 = readSt(c, k, XB);
    if (!ok0 || !ok1) underflowInto(c, p);
    else if (toSti) binary(c, op, XB, XA, p); // ST(i) = ST(i) op ST(0)
    else binary(c, op, XA, XB, p);
    if (popAfter && !unmaskedPreComputation(c)) pop(c);
    commit(c);
  };
}

const ARITH = [OP_ADD, OP_MUL, -1, -1, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR];
const NAMES = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
for (let r = 0; r < 8; r++) {
  const op = ARITH[r]!;
  if (op < 0) continue;
  def(0, 0xd8, { name: `${NAMES[r]} m32`, reg: r, form: 'mem' }, arithMem(op, 0));
  def(0, 0xdc, { name: `${NAMES[r]} m64`, reg: r, form: 'mem' }, arithMem(op, 1));
  def(0, 0xda, { name: `fi${NAMES[r]!.slice(1)} m32int`, reg: r, form: 'mem' }, arithMem(op, 2));
  def(0, 0xde, { name: `fi${NAMES[r]!.slice(1)} m16int`, reg: r, form: 'mem' }, arithMem(op, 3));
  def(0, 0xd8, { name: `${NAMES[r]} st0,sti`, reg: r, form: 'reg' }, arithReg(op, false, false));
  // DC/DE register forms swap SUB/SUBR and DIV/DIVR relative to the /r numbering.
  const swapped = op === OP_SUB ? OP_SUBR : op === OP_SUBR ? OP_SUB : op === OP_DIV ? OP_DIVR : op === OP_DIVR ? OP_DIV : op;
  def(0, 0xdc, { name: `${NAMES[r]} sti,st0`, reg: r, form: 'reg' }, arithReg(swapped, true, false));
  def(0, 0xde, { name: `${NAMES[r]}p sti,st0`, reg: r, form: 'reg' }, arithReg(swapped, true, true));
}

// ---- comparisons ----

const REL_GT = 0, REL_LT = 1, REL_EQ = 2, REL_UN = 3;

/** Orders a and b; IE for SNaN/unsupported (and for QNaN when `signalQuiet`), DE for denormals. */
export function compare(c: X86Cpu, a: Ext, b: Ext, signalQuiet: boolean): number {
  const nan = (x: Ext): boolean => x.cls === K_QNAN || x.cls === K_SNAN || x.cls === K_INVALID;
  if (nan(a) || nan(b)) {
    if (signalQuiet || a.cls === K_SNAN || b.cls === K_SNAN || a.cls === K_INVALID || b.cls === K_INVALID) xf.flags |= X_IE;
    return REL_UN;
  }
  denormalCheck(c, a, b, K_DENORMAL);
  const ai = a.cls === K_INF, bi = b.cls === K_INF;
  if (ai || bi) {
    const av = ai ? (a.sign ? -1 : 1) : 0, bv = bi ? (b.sign ? -1 : 1) : 0;
    if (ai && bi) return av === bv ? REL_EQ : av > bv ? REL_GT : REL_LT;
    if (ai) return av > 0 ? REL_GT : REL_LT;
    return bv > 0 ? REL_LT : REL_GT;
  }
  addExact(a, b, true);
  if (exact.m === 0n) return REL_EQ;
  return exact.sign === 0 ? REL_GT : REL_LT;
}

function setCC(c: X86Cpu, rel: number): void {
  const f = c.fpu;
  const cc = rel === REL_GT ? 0 : rel === REL_LT ? C0 : rel === REL_EQ ? C3 : C0 | C2 | C3;
  f.fsw = (f.fsw & ~(C0 | C1 | C2 | C3)) | cc;
}

/** FCOM family: pops = number of pops after the compare; unordered = FUCOM (QNaN quiet). */
function fcomReg(pops: number, unordered: boolean, fixedIndex = -1) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const k = fixedIndex >= 0 ? fixedIndex : i.rm & 7;
    const ok = readSt(c, 0, XA) && readSt(c, k, XB);
    const rel = ok ? compare(c, XA, XB, !unordered) : REL_UN;
    finishCompare(c, rel, pops);
  };
}
/** The condition codes are written even when an unmasked exception is raised; only the pops are held back. */
function finishCompare(c: X86Cpu, rel: number, pops: number): void {
  setCC(c, rel);
  if (!unmaskedPreComputation(c)) for (let n = 0; n < pops; n++) pop(c);
  commit(c, false);
}
function fcomMem(pops: number, kind: number) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    memOperand(c, i, kind, XB);
    const rel = readSt(c, 0, XA) ? compare(c, XA, XB, true) : REL_UN;
    finishCompare(c, rel, pops);
  };
}
def(0, 0xd8, { name: 'fcom m32', reg: 2, form: 'mem' }, fcomMem(0, 0));
def(0, 0xd8, { name: 'fcomp m32', reg: 3, form: 'mem' }, fcomMem(1, 0));
def(0, 0xdc, { name: 'fcom m64', reg: 2, form: 'mem' }, fcomMem(0, 1));
def(0, 0xdc, { name: 'fcomp m64', reg: 3, form: 'mem' }, fcomMem(1, 1));
def(0, 0xda, { name: 'ficom m32int', reg: 2, form: 'mem' }, fcomMem(0, 2));
def(0, 0xda, { name: 'ficomp m32int', reg: 3, form: 'mem' }, fcomMem(1, 2));
def(0, 0xde, { name: 'ficom m16int', reg: 2, form: 'mem' }, fcomMem(0, 3));
def(0, 0xde, { name: 'ficomp m16int', reg: 3, form: 'mem' }, fcomMem(1, 3));
def(0, 0xd8, { name: 'fcom sti', reg: 2, form: 'reg' }, fcomReg(0, false));
def(0, 0xd8, { name: 'fcomp sti', reg: 3, form: 'reg' }, fcomReg(1, false));
def(0, 0xdc, { name: 'fcom sti (alias)', reg: 2, form: 'reg' }, fcomReg(0, false));
def(0, 0xdc, { name: 'fcomp sti (alias)', reg: 3, form: 'reg' }, fcomReg(1, false));
def(0, 0xde, { name: 'fcomp sti (alias)', reg: 2, form: 'reg' }, fcomReg(1, false));
def(0, 0xde, { name: 'fcompp', reg: 3, rm: 1 }, fcomReg(2, false, 1));
def(0, 0xdd, { name: 'fucom sti', reg: 4, form: 'reg' }, fcomReg(0, true));
def(0, 0xdd, { name: 'fucomp sti', reg: 5, form: 'reg' }, fcomReg(1, true));
def(0, 0xda, { name: 'fucompp', reg: 5, rm: 1 }, fcomReg(2, true, 1));

/** FCOMI/FUCOMI(P): ZF, PF, CF like an unsigned compare; unordered sets all three. */
function fcomi(unordered: boolean, popAfter: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const k = i.rm & 7;
    const ok = readSt(c, 0, XA) && readSt(c, k, XB);
    const rel = ok ? compare(c, XA, XB, !unordered) : REL_UN;
    // EFLAGS are written even with an unmasked IE or DE (unordered: ZF PF CF = 111); only the pop is
    // held back. The SDM's prose says the flags are not set with an unmasked #IA, but its Operation
    // section assigns them before raising it; the AMD host and Bochs (modelled on Intel parts) write them.
    setArithFlags(c.lf, rel === REL_GT ? 0 : rel === REL_LT ? 1 : rel === REL_EQ ? 0x40 : 0x45);
    if (popAfter && !unmaskedPreComputation(c)) pop(c);
    c.fpu.fsw &= ~C1;
    commit(c, false);
  };
}
def(0, 0xdb, { name: 'fucomi', reg: 5, form: 'reg' }, fcomi(true, false));
def(0, 0xdb, { name: 'fcomi', reg: 6, form: 'reg' }, fcomi(false, false));
def(0, 0xdf, { name: 'fucomip', reg: 5, form: 'reg' }, fcomi(true, true));
def(0, 0xdf, { name: 'fcomip', reg: 6, form: 'reg' }, fcomi(false, true));

// FTST (D9 E4): compare ST(0) with +0.0.
def(0, 0xd9, { name: 'ftst', reg: 4, rm: 4 }, (c, i) => {
  x87Begin(c, i);
  ZERO.cls = K_ZERO; ZERO.sign = 0; ZERO.m = 0n; ZERO.e = 0;
  const rel = readSt(c, 0, XA) ? compare(c, XA, ZERO, true) : REL_UN;
  finishCompare(c, rel, 0);
});

// FXAM (D9 E5): class in C3 C2 C0, sign in C1 (empty registers report "empty").
def(0, 0xd9, { name: 'fxam', reg: 4, rm: 5 }, (c, i) => {
  x87Begin(c, i);
  const f = c.fpu;
  let cc: number;
  const p = phys(c, 0);
  const sign = (f.st[p * 10 + 9]! >> 7) & 1;
  if (isEmpty(c, 0)) cc = C3 | C0;
  else {
    readSt(c, 0, XA);
    switch (XA.cls) {
      case K_ZERO: cc = C3; break;
      case K_DENORMAL: cc = C3 | C2; break;
      case K_NORMAL: cc = C2; break;
      case K_INF: cc = C2 | C0; break;
      case K_QNAN: case K_SNAN: cc = C0; break;
      default: cc = 0;
    }
  }
  f.fsw = (f.fsw & ~(C0 | C1 | C2 | C3)) | cc | (sign ? C1 : 0);
});
