/**
 * SSE/SSE2/SSE3 floating-point arithmetic: ADD/SUB/MUL/DIV/SQRT/MIN/MAX in PS/PD/SS/SD forms,
 * CMPccPS/PD/SS/SD, (U)COMISS/SD, RCP/RSQRT, ADDSUB, HADD/HSUB. Lanes run on the A/B scratch
 * vectors; NaN operands are handled on their bit patterns (SSE returns the first NaN operand,
 * quieted), everything else through the MXCSR-aware arithmetic in fpu/sse-arith.ts. An unmasked
 * exception leaves the destination untouched and raises #XM (or #UD without CR4.OSXMMEXCPT).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { CR4_OSXMMEXCPT, XM } from '../constants.js';
import { setArithFlags } from '../flags.js';
import { A, A32, B32, AF32, BF32, AF64, BF64, checkSse, xmmToA, aToXmm, srcXmm } from './sse-common.js';
import {
  sse, sseBegin, arith32, arith64, operand32, operand64, FE_IE, FE_DE, FE_ZE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT,
} from '../fpu/sse-arith.js';

const QNAN32 = 0xffc00000 | 0, QNAN64_HI = 0xfff80000 | 0;

export function isNaN32(b: number): boolean { return (b & 0x7fffffff) > 0x7f800000; }
export function isSNaN32(b: number): boolean { return isNaN32(b) && (b & 0x00400000) === 0; }
export function isNaN64(lo: number, hi: number): boolean { const h = hi & 0x7fffffff; return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0); }
export function isSNaN64(lo: number, hi: number): boolean { return isNaN64(lo, hi) && (hi & 0x00080000) === 0; }

// ---- operand plumbing ----

/** Scalar source: the low 4/8 bytes of an XMM register or of memory (no alignment check). */
function srcScalar(c: X86Cpu, i: Insn, bytes: number): void {
  if (i.mod === 3) { srcXmm(c, i); return; }
  const la = c.addr(i, bytes);
  B32[0] = c.rd32(la);
  if (bytes === 8) B32[1] = c.rd32(la + 4);
}

/**
 * Commits MXCSR flags; with an unmasked exception raises it (destination untouched). `completed`
 * holds flags of an earlier stage of the same instruction (DPPS/DPPD's products), which stand
 * whatever the last stage raised.
 */
export function sseCommit(c: X86Cpu, completed = 0): boolean {
  let f = sse.flags;
  const unmasked = (f | completed) & ~sse.masks & 0x3f;
  // Pre-computation exceptions (IE, DE, ZE) suppress the post-computation ones when unmasked.
  if ((f & ~sse.masks & (FE_IE | FE_DE | FE_ZE)) !== 0) f &= FE_IE | FE_DE | FE_ZE;
  c.fpu.mxcsr |= f | completed;
  if (unmasked !== 0) {
    if ((c.cr4 & CR4_OSXMMEXCPT) !== 0) c.fault(XM);
    c.ud();
  }
  return true;
}

// ---- lane kernels ----

/** A lane that raises IE or ZE does not also report DE (square root of a negative denormal, denormal/0). */
function dropDenormalFlag(before: number): void {
  let lane = sse.flags;
  if ((lane & (FE_IE | FE_ZE)) !== 0) lane &= ~FE_DE;
  sse.flags = before | lane;
}
/** Starts a lane's own flag accumulation; returns the flags so far for dropDenormalFlag. */
function laneFlags(): number { const f = sse.flags; sse.flags = 0; return f; }
/** DAZ applies to an operand returned alongside a NaN, but no DE is reported. */
function quiet32(x: number): number { return sse.daz && x !== 0 && Math.abs(x) < 2 ** -126 ? (x < 0 ? -0 : 0) : x; }
function quiet64(x: number): number { return sse.daz && x !== 0 && Math.abs(x) < 2 ** -1022 ? (x < 0 ? -0 : 0) : x; }

function lane32(op: number, k: number): void {
  const ab = A32[k]!, bb = B32[k]!;
  if (op === OP_SQRT) {
    if (isNaN32(bb)) { if (isSNaN32(bb)) sse.flags |= FE_IE; A32[k] = bb | 0x00400000; return; }
    const before = laneFlags();
    const r = arith32(op, operand32(BF32[k]!), 0);
    if (r !== r) A32[k] = QNAN32; else AF32[k] = r;
    dropDenormalFlag(before);
    return;
  }
  if (isNaN32(ab) || isNaN32(bb)) {
    if (isSNaN32(ab) || isSNaN32(bb)) sse.flags |= FE_IE;
    A32[k] = (isNaN32(ab) ? ab : bb) | 0x00400000;
    return;
  }
  const before = laneFlags();
  const a = operand32(AF32[k]!), b = operand32(BF32[k]!);
  const r = arith32(op, a, b);
  if (r !== r) A32[k] = QNAN32; else AF32[k] = r;
  dropDenormalFlag(before);
}

function lane64(op: number, k: number): void {
  const al = A32[2 * k]!, ah = A32[2 * k + 1]!, bl = B32[2 * k]!, bh = B32[2 * k + 1]!;
  if (op === OP_SQRT) {
    if (isNaN64(bl, bh)) { if (isSNaN64(bl, bh)) sse.flags |= FE_IE; A32[2 * k] = bl; A32[2 * k + 1] = bh | 0x00080000; return; }
    const before = laneFlags();
    const r = arith64(op, operand64(BF64[k]!), 0);
    if (r !== r) { A32[2 * k] = 0; A32[2 * k + 1] = QNAN64_HI; } else AF64[k] = r;
    dropDenormalFlag(before);
    return;
  }
  if (isNaN64(al, ah) || isNaN64(bl, bh)) {
    if (isSNaN64(al, ah) || isSNaN64(bl, bh)) sse.flags |= FE_IE;
    if (isNaN64(al, ah)) { A32[2 * k + 1] = ah | 0x00080000; } else { A32[2 * k] = bl; A32[2 * k + 1] = bh | 0x00080000; }
    return;
  }
  const before = laneFlags();
  const a = operand64(AF64[k]!), b = operand64(BF64[k]!);
  const r = arith64(op, a, b);
  if (r !== r) { A32[2 * k] = 0; A32[2 * k + 1] = QNAN64_HI; } else AF64[k] = r;
  dropDenormalFlag(before);
}

/** MIN/MAX: any NaN (even quiet) is invalid and yields the second operand; so do equal values. */
function minMax32(max: boolean, k: number): void {
  const ab = A32[k]!, bb = B32[k]!;
  if (isNaN32(ab) || isNaN32(bb)) {
    sse.flags |= FE_IE;
    if (isNaN32(bb)) A32[k] = bb; else AF32[k] = quiet32(BF32[k]!);
    return;
  }
  const a = operand32(AF32[k]!), b = operand32(BF32[k]!);
  AF32[k] = (max ? a > b : a < b) ? a : b;
}
function minMax64(max: boolean, k: number): void {
  const al = A32[2 * k]!, ah = A32[2 * k + 1]!, bl = B32[2 * k]!, bh = B32[2 * k + 1]!;
  if (isNaN64(al, ah) || isNaN64(bl, bh)) {
    sse.flags |= FE_IE;
    if (isNaN64(bl, bh)) { A32[2 * k] = bl; A32[2 * k + 1] = bh; } else AF64[k] = quiet64(BF64[k]!);
    return;
  }
  const a = operand64(AF64[k]!), b = operand64(BF64[k]!);
  AF64[k] = (max ? a > b : a < b) ? a : b;
}

/** CMPcc predicate 0-7 on two numbers; `nan` says whether either is NaN. */
function predicate(p: number, a: number, b: number, nan: boolean): boolean {
  switch (p) {
    case 0: return a === b;
    case 1: return a < b;
    case 2: return a <= b;
    case 3: return nan;
    case 4: return !(a === b);
    case 5: return !(a < b);
    case 6: return !(a <= b);
    default: return !nan;
  }
}
/** LT, LE, NLT, NLE signal on quiet NaNs too. */
function signaling(p: number): boolean { return p === 1 || p === 2 || p === 5 || p === 6; }

function cmp32(p: number, k: number): void {
  const ab = A32[k]!, bb = B32[k]!;
  const nan = isNaN32(ab) || isNaN32(bb);
  if (nan && (signaling(p) || isSNaN32(ab) || isSNaN32(bb))) sse.flags |= FE_IE;
  const a = nan ? NaN : operand32(AF32[k]!), b = nan ? NaN : operand32(BF32[k]!);
  A32[k] = predicate(p, a, b, nan) ? -1 : 0;
}
function cmp64(p: number, k: number): void {
  const al = A32[2 * k]!, ah = A32[2 * k + 1]!, bl = B32[2 * k]!, bh = B32[2 * k + 1]!;
  const nan = isNaN64(al, ah) || isNaN64(bl, bh);
  if (nan && (signaling(p) || isSNaN64(al, ah) || isSNaN64(bl, bh))) sse.flags |= FE_IE;
  const a = nan ? NaN : operand64(AF64[k]!), b = nan ? NaN : operand64(BF64[k]!);
  const m = predicate(p, a, b, nan) ? -1 : 0;
  A32[2 * k] = m; A32[2 * k + 1] = m;
}

// ---- registration ----

type Lane = (k: number) => void;

function packed(op: number, name: string, prefix: 0 | 0x66, lane: Lane): void {
  const n = prefix === 0 ? 4 : 2;
  def(1, op, { name, prefix }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
    sseBegin(c.fpu.mxcsr);
    for (let k = 0; k < n; k++) lane(k);
    sseCommit(c); aToXmm(c, i.reg);
  });
}
function scalar(op: number, name: string, prefix: 0xf3 | 0xf2, lane: Lane): void {
  def(1, op, { name, prefix }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg); srcScalar(c, i, prefix === 0xf3 ? 4 : 8);
    sseBegin(c.fpu.mxcsr);
    lane(0);
    sseCommit(c); aToXmm(c, i.reg);
  });
}
function allForms(opcode: number, name: string, l32: Lane, l64: Lane): void {
  packed(opcode, `${name}ps`, 0, l32);
  packed(opcode, `${name}pd`, 0x66, l64);
  scalar(opcode, `${name}ss`, 0xf3, l32);
  scalar(opcode, `${name}sd`, 0xf2, l64);
}

allForms(0x58, 'add', (k) => lane32(OP_ADD, k), (k) => lane64(OP_ADD, k));
allForms(0x59, 'mul', (k) => lane32(OP_MUL, k), (k) => lane64(OP_MUL, k));
allForms(0x5c, 'sub', (k) => lane32(OP_SUB, k), (k) => lane64(OP_SUB, k));
allForms(0x5e, 'div', (k) => lane32(OP_DIV, k), (k) => lane64(OP_DIV, k));
allForms(0x51, 'sqrt', (k) => lane32(OP_SQRT, k), (k) => lane64(OP_SQRT, k));
allForms(0x5d, 'min', (k) => minMax32(false, k), (k) => minMax64(false, k));
allForms(0x5f, 'max', (k) => minMax32(true, k), (k) => minMax64(true, k));

// CMPccPS/PD/SS/SD: the predicate is imm8[2:0] (values 8-31 are AVX-only).
for (const prefix of [0, 0x66, 0xf3, 0xf2] as const) {
  const n = prefix === 0 ? 4 : prefix === 0x66 ? 2 : 1;
  const wide = prefix === 0x66 || prefix === 0xf2;
  def(1, 0xc2, { name: 'cmpps/pd/ss/sd', prefix }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg);
    if (n === 1) srcScalar(c, i, wide ? 8 : 4); else srcXmm(c, i, true);
    sseBegin(c.fpu.mxcsr);
    const p = i.imm & 7;
    for (let k = 0; k < n; k++) { if (wide) cmp64(p, k); else cmp32(p, k); }
    sseCommit(c); aToXmm(c, i.reg);
  });
}

// (U)COMISS/SD: ZF, PF, CF = unordered 111, greater 000, less 001, equal 100; OF, SF, AF cleared.
function comis(wide: boolean, ordered: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c); xmmToA(c, i.reg); srcScalar(c, i, wide ? 8 : 4);
    sseBegin(c.fpu.mxcsr);
    let nan: boolean, snan: boolean, a: number, b: number;
    if (wide) {
      nan = isNaN64(A32[0]!, A32[1]!) || isNaN64(B32[0]!, B32[1]!);
      snan = isSNaN64(A32[0]!, A32[1]!) || isSNaN64(B32[0]!, B32[1]!);
      a = nan ? NaN : operand64(AF64[0]!); b = nan ? NaN : operand64(BF64[0]!);
    } else {
      nan = isNaN32(A32[0]!) || isNaN32(B32[0]!);
      snan = isSNaN32(A32[0]!) || isSNaN32(B32[0]!);
      a = nan ? NaN : operand32(AF32[0]!); b = nan ? NaN : operand32(BF32[0]!);
    }
    if (nan && (ordered || snan)) sse.flags |= FE_IE;
    sseCommit(c);
    setArithFlags(c.lf, nan ? 0x45 : a > b ? 0 : a < b ? 1 : 0x40);
  };
}
def(1, 0x2e, { name: 'ucomiss', prefix: 0 }, comis(false, false));
def(1, 0x2e, { name: 'ucomisd', prefix: 0x66 }, comis(true, false));
def(1, 0x2f, { name: 'comiss', prefix: 0 }, comis(false, true));
def(1, 0x2f, { name: 'comisd', prefix: 0x66 }, comis(true, true));

// RCPPS/RSQRTPS approximate to within 1.5·2^-12; we return the correctly rounded value (within
// the bound; the exact approximation tables are model-specific). They raise no exceptions.
function approx(k: number, rsqrt: boolean): void {
  const bb = B32[k]!;
  if (isNaN32(bb)) { A32[k] = bb | 0x00400000; return; }
  let x = BF32[k]!;
  if (x !== 0 && Math.abs(x) < 2 ** -126) x = x < 0 ? -0 : 0; // denormal inputs act as zero
  if (rsqrt) AF32[k] = x < 0 ? NaN : x === 0 ? 1 / x : Math.fround(1 / Math.sqrt(x));
  else {
    const r = Math.fround(1 / x);
    AF32[k] = r !== 0 && Math.abs(r) < 2 ** -126 ? (r < 0 ? -0 : 0) : r;
  }
  if (rsqrt && x < 0) A32[k] = QNAN32;
}
for (const rsqrt of [true, false]) {
  const op = rsqrt ? 0x52 : 0x53, name = rsqrt ? 'rsqrt' : 'rcp';
  def(1, op, { name: `${name}ps`, prefix: 0 }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
    for (let k = 0; k < 4; k++) approx(k, rsqrt);
    aToXmm(c, i.reg);
  });
  def(1, op, { name: `${name}ss`, prefix: 0xf3 }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg); srcScalar(c, i, 4);
    approx(0, rsqrt);
    aToXmm(c, i.reg);
  });
}

// ---- SSE3: ADDSUB, HADD, HSUB ----

const T = new Uint8Array(16), T32 = new Int32Array(T.buffer);
def(1, 0xd0, { name: 'addsubps', prefix: 0xf2 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true); sseBegin(c.fpu.mxcsr);
  for (let k = 0; k < 4; k++) lane32((k & 1) === 0 ? OP_SUB : OP_ADD, k);
  sseCommit(c); aToXmm(c, i.reg);
});
def(1, 0xd0, { name: 'addsubpd', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true); sseBegin(c.fpu.mxcsr);
  lane64(OP_SUB, 0); lane64(OP_ADD, 1);
  sseCommit(c); aToXmm(c, i.reg);
});
/** Horizontal op: pairs of the destination then pairs of the source, regrouped into A/B lanes. */
function horizontal(wide: boolean, op: number) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true); sseBegin(c.fpu.mxcsr);
    // T = [a0 a2 b0 b2] (first elements), B = [a1 a3 b1 b3] (second elements); A = T op B.
    if (wide) {
      T32[0] = A32[0]!; T32[1] = A32[1]!; T32[2] = B32[0]!; T32[3] = B32[1]!;
      const b2 = B32[2]!, b3 = B32[3]!;
      B32[0] = A32[2]!; B32[1] = A32[3]!; B32[2] = b2; B32[3] = b3;
      A.set(T);
      lane64(op, 0); lane64(op, 1);
    } else {
      T32[0] = A32[0]!; T32[1] = A32[2]!; T32[2] = B32[0]!; T32[3] = B32[2]!;
      const b1 = B32[1]!, b3 = B32[3]!;
      B32[0] = A32[1]!; B32[1] = A32[3]!; B32[2] = b1; B32[3] = b3;
      A.set(T);
      for (let k = 0; k < 4; k++) lane32(op, k);
    }
    sseCommit(c); aToXmm(c, i.reg);
  };
}
def(1, 0x7c, { name: 'haddps', prefix: 0xf2 }, horizontal(false, OP_ADD));
def(1, 0x7c, { name: 'haddpd', prefix: 0x66 }, horizontal(true, OP_ADD));
def(1, 0x7d, { name: 'hsubps', prefix: 0xf2 }, horizontal(false, OP_SUB));
def(1, 0x7d, { name: 'hsubpd', prefix: 0x66 }, horizontal(true, OP_SUB));

// MOVDDUP (F2 0F 12, m64 source), MOVSLDUP (F3 0F 12) and MOVSHDUP (F3 0F 16).
def(1, 0x12, { name: 'movddup', prefix: 0xf2 }, (c, i) => {
  checkSse(c); srcScalar(c, i, 8);
  A32[0] = B32[0]!; A32[1] = B32[1]!; A32[2] = B32[0]!; A32[3] = B32[1]!;
  aToXmm(c, i.reg);
});
for (const high of [false, true]) {
  def(1, high ? 0x16 : 0x12, { name: high ? 'movshdup' : 'movsldup', prefix: 0xf3 }, (c, i) => {
    checkSse(c); srcXmm(c, i, true);
    const o = high ? 1 : 0;
    A32[0] = B32[o]!; A32[1] = B32[o]!; A32[2] = B32[2 + o]!; A32[3] = B32[2 + o]!;
    aToXmm(c, i.reg);
  });
}

