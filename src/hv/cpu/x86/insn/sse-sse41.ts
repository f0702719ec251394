/**
 * SSE4.1 (66 0F 38 xx, 66 0F 3A xx): blends, PMOVSX/ZX, PMIN/PMAX (SB, SD, UW, UD), PMULLD,
 * PMULDQ, PCMPEQQ, PACKUSDW, PTEST, PEXTRB/W/D/Q, PINSRB/D/Q, EXTRACTPS, INSERTPS, MOVNTDQA, PHMINPOSUW,
 * MPSADBW, ROUNDPS/PD/SS/SD and DPPS/DPPD (products and sums rounded step by step under MXCSR).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { setArithFlags } from '../flags.js';
import {
  A, B, A8, B8, A16, B16, BS16, A32, B32, AU32, BU32, AF32, BF32, AF64, BF64, checkSse, xmmToA, aToXmm, srcXmm, readMem64,
} from './sse-common.js';
import { sse, sseBegin, arith32, arith64, operand32, operand64, toIntegral, FE_PE, OP_ADD, OP_MUL } from '../fpu/sse-arith.js';
import { isNaN32, isSNaN32, isNaN64, isSNaN64, sseCommit } from './sse-float.js';
import { FE_IE } from '../fpu/sse-arith.js';

const R = new Uint8Array(16), R16 = new Uint16Array(R.buffer);

type Body = (c: X86Cpu, i: Insn) => void;
/** dest = xmm reg (A), src = xmm/m128 (B, aligned); body computes into A. */
function op(map: number, opcode: number, name: string, body: Body, aligned = true): void {
  def(map, opcode, { name, prefix: 0x66 }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, aligned); body(c, i); aToXmm(c, i.reg);
  });
}

// ---- blends ----
op(2, 0x10, 'pblendvb', (c) => { const m = c.fpu.xmm; for (let k = 0; k < 16; k++) if ((m[k]! & 0x80) !== 0) A[k] = B[k]!; });
op(2, 0x14, 'blendvps', (c) => { const m = c.fpu.xmm32; for (let k = 0; k < 4; k++) if (m[k]! < 0) A32[k] = B32[k]!; });
op(2, 0x15, 'blendvpd', (c) => { const m = c.fpu.xmm32; for (let k = 0; k < 2; k++) if (m[2 * k + 1]! < 0) { A32[2 * k] = B32[2 * k]!; A32[2 * k + 1] = B32[2 * k + 1]!; } });
op(3, 0x0c, 'blendps', (_c, i) => { for (let k = 0; k < 4; k++) if (((i.imm >> k) & 1) !== 0) A32[k] = B32[k]!; });
op(3, 0x0d, 'blendpd', (_c, i) => { for (let k = 0; k < 2; k++) if (((i.imm >> k) & 1) !== 0) { A32[2 * k] = B32[2 * k]!; A32[2 * k + 1] = B32[2 * k + 1]!; } });
op(3, 0x0e, 'pblendw', (_c, i) => { for (let k = 0; k < 8; k++) if (((i.imm >> k) & 1) !== 0) A16[k] = B16[k]!; });

// ---- integer ----
op(2, 0x38, 'pminsb', () => { for (let k = 0; k < 16; k++) if (B8[k]! < A8[k]!) A8[k] = B8[k]!; });
op(2, 0x39, 'pminsd', () => { for (let k = 0; k < 4; k++) if (B32[k]! < A32[k]!) A32[k] = B32[k]!; });
op(2, 0x3a, 'pminuw', () => { for (let k = 0; k < 8; k++) if (B16[k]! < A16[k]!) A16[k] = B16[k]!; });
op(2, 0x3b, 'pminud', () => { for (let k = 0; k < 4; k++) if (BU32[k]! < AU32[k]!) AU32[k] = BU32[k]!; });
op(2, 0x3c, 'pmaxsb', () => { for (let k = 0; k < 16; k++) if (B8[k]! > A8[k]!) A8[k] = B8[k]!; });
op(2, 0x3d, 'pmaxsd', () => { for (let k = 0; k < 4; k++) if (B32[k]! > A32[k]!) A32[k] = B32[k]!; });
op(2, 0x3e, 'pmaxuw', () => { for (let k = 0; k < 8; k++) if (B16[k]! > A16[k]!) A16[k] = B16[k]!; });
op(2, 0x3f, 'pmaxud', () => { for (let k = 0; k < 4; k++) if (BU32[k]! > AU32[k]!) AU32[k] = BU32[k]!; });
op(2, 0x40, 'pmulld', () => { for (let k = 0; k < 4; k++) A32[k] = Math.imul(A32[k]!, B32[k]!); });
op(2, 0x28, 'pmuldq', () => {
  for (let k = 0; k < 2; k++) {
    const p = BigInt(A32[2 * k]!) * BigInt(B32[2 * k]!);
    A32[2 * k] = Number(BigInt.asIntN(32, p)); A32[2 * k + 1] = Number(BigInt.asIntN(32, p >> 32n));
  }
});
op(2, 0x29, 'pcmpeqq', () => {
  for (let k = 0; k < 2; k++) { const eq = A32[2 * k] === B32[2 * k] && A32[2 * k + 1] === B32[2 * k + 1] ? -1 : 0; A32[2 * k] = eq; A32[2 * k + 1] = eq; }
});
op(2, 0x2b, 'packusdw', () => {
  const sat = (v: number): number => (v < 0 ? 0 : v > 65535 ? 65535 : v);
  for (let k = 0; k < 4; k++) { R16[k] = sat(A32[k]!); R16[4 + k] = sat(B32[k]!); }
  A.set(R);
});
op(2, 0x41, 'phminposuw', () => {
  let best = 0;
  for (let k = 1; k < 8; k++) if (B16[k]! < B16[best]!) best = k;
  const v = B16[best]!;
  A.fill(0); A16[0] = v; A16[1] = best;
});
def(2, 0x2a, { name: 'movntdqa', prefix: 0x66, form: 'mem' }, (c, i) => { checkSse(c); srcXmm(c, i, true); A.set(B); aToXmm(c, i.reg); });

// PTEST: ZF = (dest AND src) == 0, CF = (NOT dest AND src) == 0; other flags cleared.
def(2, 0x17, { name: 'ptest', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  let and = 0, andn = 0;
  for (let k = 0; k < 4; k++) { and |= A32[k]! & B32[k]!; andn |= ~A32[k]! & B32[k]!; }
  setArithFlags(c.lf, (and === 0 ? 0x40 : 0) | (andn === 0 ? 1 : 0));
});

// PMOVSX/PMOVZX: the source is the low 2/4/8 bytes as needed (memory: exactly that many, unaligned).
function pmov(opcode: number, name: string, from: number, to: number, signed: boolean): void {
  def(2, opcode, { name, prefix: 0x66 }, (c, i) => {
    checkSse(c);
    const count = 16 / to, bytes = count * from;
    if (i.mod === 3) { B.set(c.fpu.xmm.subarray(i.rm * 16, i.rm * 16 + 16)); }
    else if (bytes === 8) readMem64(c, i, B);
    else { const la = c.addr(i, bytes); for (let k = 0; k < bytes; k++) B[k] = c.rd8(la + k); }
    const dv = new DataView(B.buffer);
    for (let k = 0; k < count; k++) {
      let v: number;
      if (from === 1) v = signed ? B8[k]! : B[k]!;
      else if (from === 2) v = signed ? BS16[k]! : B16[k]!;
      else v = signed ? B32[k]! : BU32[k]!;
      if (to === 2) A16[k] = v;
      else if (to === 4) A32[k] = v;
      else { A32[2 * k] = v; A32[2 * k + 1] = signed && v < 0 ? -1 : 0; }
    }
    void dv;
    aToXmm(c, i.reg);
  });
}
pmov(0x20, 'pmovsxbw', 1, 2, true); pmov(0x21, 'pmovsxbd', 1, 4, true); pmov(0x22, 'pmovsxbq', 1, 8, true);
pmov(0x23, 'pmovsxwd', 2, 4, true); pmov(0x24, 'pmovsxwq', 2, 8, true); pmov(0x25, 'pmovsxdq', 4, 8, true);
pmov(0x30, 'pmovzxbw', 1, 2, false); pmov(0x31, 'pmovzxbd', 1, 4, false); pmov(0x32, 'pmovzxbq', 1, 8, false);
pmov(0x33, 'pmovzxwd', 2, 4, false); pmov(0x34, 'pmovzxwq', 2, 8, false); pmov(0x35, 'pmovzxdq', 4, 8, false);

// ---- extract / insert ----
/** PEXTRB/W/D/Q and EXTRACTPS: to a general register (zero-extended) or memory of the element size. */
function extract(opcode: number, name: string, size: number): void {
  def(3, opcode, { name, prefix: 0x66 }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg);
    const wide = size === 8 || (size === 4 && opcode === 0x16 && i.osize === 8);
    const sz = wide ? 8 : size;
    const idx = i.imm & (16 / sz - 1);
    const dv = new DataView(A.buffer);
    const lo = sz === 1 ? A[idx]! : sz === 2 ? A16[idx]! : A32[sz === 8 ? idx * 2 : idx]!;
    const hi = sz === 8 ? A32[idx * 2 + 1]! : 0;
    void dv;
    if (i.mod === 3) c.setReg(i.rm, wide ? 8 : 4, i.rex, lo, hi);
    else c.wr(c.addrW(i, sz), sz, lo, hi);
  });
}
extract(0x14, 'pextrb', 1); extract(0x15, 'pextrw', 2); extract(0x16, 'pextrd/q', 4); extract(0x17, 'extractps', 4);

def(3, 0x20, { name: 'pinsrb', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg);
  A[i.imm & 15] = i.mod === 3 ? c.getReg(i.rm, 4, i.rex) : c.rd8(c.addr(i, 1));
  aToXmm(c, i.reg);
});
def(3, 0x22, { name: 'pinsrd/q', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg);
  if (i.osize === 8) {
    let lo: number, hi: number;
    if (i.mod === 3) { lo = c.getReg(i.rm, 8, i.rex); hi = c.hi; } else { lo = c.rd64(c.addr(i, 8)); hi = c.hi; }
    const k = (i.imm & 1) * 2; A32[k] = lo; A32[k + 1] = hi;
  } else A32[i.imm & 3] = i.mod === 3 ? c.getReg(i.rm, 4, i.rex) : c.rd32(c.addr(i, 4));
  aToXmm(c, i.reg);
});
def(3, 0x21, { name: 'insertps', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg);
  let v: number;
  if (i.mod === 3) v = c.fpu.xmm32[i.rm * 4 + ((i.imm >> 6) & 3)]!;
  else v = c.rd32(c.addr(i, 4));
  A32[(i.imm >> 4) & 3] = v;
  for (let k = 0; k < 4; k++) if (((i.imm >> k) & 1) !== 0) A32[k] = 0;
  aToXmm(c, i.reg);
});

// ---- MPSADBW: eight sums of absolute differences of 4-byte groups ----
op(3, 0x42, 'mpsadbw', (_c, i) => {
  const aOff = ((i.imm >> 2) & 1) * 4, bOff = (i.imm & 3) * 4;
  for (let k = 0; k < 8; k++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += Math.abs(A[aOff + k + j]! - B[bOff + j]!);
    R16[k] = s;
  }
  A.set(R);
});

// ---- ROUNDPS/PD/SS/SD: imm bit 2 selects MXCSR.RC, else imm[1:0]; bit 3 suppresses PE ----
/** ROUND* honours DAZ but, like the conversions, reports no DE. */
function dazOnly(x: number, minNormal: number): number { return sse.daz && x !== 0 && Math.abs(x) < minNormal ? (x < 0 ? -0 : 0) : x; }
function roundLane32(k: number): void {
  const bits = B32[k]!;
  if (isNaN32(bits)) { if (isSNaN32(bits)) sse.flags |= FE_IE; A32[k] = bits | 0x00400000; return; }
  const x = dazOnly(BF32[k]!, 2 ** -126);
  const r = toIntegral(x, false);
  AF32[k] = r === 0 ? (x < 0 || Object.is(x, -0) ? -0 : 0) : r;
}
function roundLane64(k: number): void {
  const lo = B32[2 * k]!, hi = B32[2 * k + 1]!;
  if (isNaN64(lo, hi)) { if (isSNaN64(lo, hi)) sse.flags |= FE_IE; A32[2 * k] = lo; A32[2 * k + 1] = hi | 0x00080000; return; }
  const x = dazOnly(BF64[k]!, 2 ** -1022);
  const r = toIntegral(x, false);
  AF64[k] = r === 0 ? (x < 0 || Object.is(x, -0) ? -0 : 0) : r;
}
function roundOp(opcode: number, name: string, wide: boolean, scalar: boolean): void {
  def(3, opcode, { name, prefix: 0x66 }, (c, i) => {
    checkSse(c); xmmToA(c, i.reg);
    if (scalar && i.mod !== 3) { const la = c.addr(i, wide ? 8 : 4); B32[0] = c.rd32(la); if (wide) B32[1] = c.rd32(la + 4); }
    else srcXmm(c, i, true);
    sseBegin(c.fpu.mxcsr);
    if ((i.imm & 4) === 0) sse.rc = i.imm & 3;
    const n = scalar ? 1 : wide ? 2 : 4;
    for (let k = 0; k < n; k++) { if (wide) roundLane64(k); else roundLane32(k); }
    if ((i.imm & 8) !== 0) sse.flags &= ~FE_PE;
    sseCommit(c); aToXmm(c, i.reg);
  });
}
roundOp(0x08, 'roundps', false, false); roundOp(0x09, 'roundpd', true, false);
roundOp(0x0a, 'roundss', false, true); roundOp(0x0b, 'roundsd', true, true);

// ---- DPPS/DPPD: masked products, then pairwise sums, each rounded under MXCSR ----
const P = new Float64Array(4), PN = new Int32Array(8);
function f32lane(x: number, bits: number, k: number): void {
  // Keeps NaN payloads: a NaN product or sum is carried as its bit pattern.
  PN[k] = bits; P[k] = x;
}
def(3, 0x40, { name: 'dpps', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  sseBegin(c.fpu.mxcsr);
  const t = new Float32Array(1), tb = new Int32Array(t.buffer);
  const mul = (k: number): void => {
    if (((i.imm >> (4 + k)) & 1) === 0) { f32lane(0, 0, k); return; }
    const a = A32[k]!, b = B32[k]!;
    if (isNaN32(a) || isNaN32(b)) { if (isSNaN32(a) || isSNaN32(b)) sse.flags |= FE_IE; f32lane(NaN, (isNaN32(a) ? a : b) | 0x400000, k); return; }
    const r = arith32(OP_MUL, operand32(AF32[k]!), operand32(BF32[k]!));
    if (r !== r) { f32lane(NaN, 0xffc00000 | 0, k); return; }
    t[0] = r; f32lane(t[0]!, tb[0]!, k);
  };
  for (let k = 0; k < 4; k++) mul(k);
  // An unmasked exception in the products ends the instruction before the sums (no DE from them).
  if ((sse.flags & ~sse.masks & 0x3f) !== 0) { sseCommit(c); return; }
  const products = sse.flags;
  sse.flags = 0;
  const add = (x: number, y: number, out: number): void => {
    const xb = PN[x]!, yb = PN[y]!;
    if (isNaN32(xb) || isNaN32(yb)) { f32lane(NaN, isNaN32(xb) ? xb : yb, out); return; }
    const r = arith32(OP_ADD, operand32(P[x]!), operand32(P[y]!)); // denormal products count as denormal operands
    if (r !== r) { sse.flags |= FE_IE; f32lane(NaN, 0xffc00000 | 0, out); return; }
    t[0] = r; f32lane(t[0]!, tb[0]!, out);
  };
  add(0, 1, 0); add(2, 3, 2); add(0, 2, 0);
  for (let k = 0; k < 4; k++) A32[k] = ((i.imm >> k) & 1) !== 0 ? PN[0]! : 0;
  sseCommit(c, products); aToXmm(c, i.reg);
});
def(3, 0x41, { name: 'dppd', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  sseBegin(c.fpu.mxcsr);
  let lo = 0, hi = 0, v = 0, nan = false;
  const prod: number[] = [0, 0];
  const nanBits: [number, number][] = [[0, 0], [0, 0]];
  const isN: boolean[] = [false, false];
  for (let k = 0; k < 2; k++) {
    if (((i.imm >> (4 + k)) & 1) === 0) continue;
    const al = A32[2 * k]!, ah = A32[2 * k + 1]!, bl = B32[2 * k]!, bh = B32[2 * k + 1]!;
    if (isNaN64(al, ah) || isNaN64(bl, bh)) {
      if (isSNaN64(al, ah) || isSNaN64(bl, bh)) sse.flags |= FE_IE;
      isN[k] = true; nanBits[k] = isNaN64(al, ah) ? [al, ah | 0x80000] : [bl, bh | 0x80000];
      continue;
    }
    const r = arith64(OP_MUL, operand64(AF64[k]!), operand64(BF64[k]!));
    if (r !== r) { isN[k] = true; nanBits[k] = [0, 0xfff80000 | 0]; } else prod[k] = r;
  }
  if ((sse.flags & ~sse.masks & 0x3f) !== 0) { sseCommit(c); return; } // as DPPS: no sum after an unmasked exception
  const products = sse.flags;
  sse.flags = 0;
  if (isN[0] || isN[1]) { nan = true; [lo, hi] = isN[0] ? nanBits[0]! : nanBits[1]!; }
  else {
    v = arith64(OP_ADD, operand64(prod[0]!), operand64(prod[1]!)); // denormal products count as denormal operands
    if (v !== v) { nan = true; lo = 0; hi = 0xfff80000 | 0; }
  }
  for (let k = 0; k < 2; k++) {
    if (((i.imm >> k) & 1) === 0) { A32[2 * k] = 0; A32[2 * k + 1] = 0; }
    else if (nan) { A32[2 * k] = lo; A32[2 * k + 1] = hi; }
    else AF64[k] = v;
  }
  sseCommit(c, products); aToXmm(c, i.reg);
});

