/**
 * SSE/SSE2/MMX data movement and rearrangement: MOVD/MOVQ, MOVDQA/MOVDQU/MOVAPS/MOVUPS/MOVAPD/
 * MOVUPD, MOVSS/MOVSD, MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVHLPS/MOVLHPS, non-temporal stores, PSHUF*,
 * SHUFPS/SHUFPD, UNPCK*PS/PD, PMOVMSKB, MOVMSKPS/PD, PEXTRW/PINSRW, bitwise PS/PD logic,
 * MASKMOVQ/MASKMOVDQU, EMMS, and the state instructions FXSAVE/FXRSTOR/LDMXCSR/STMXCSR, fences.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  A, B, A16, B16, A32, B32, checkSse, checkMmx, xmmToA, xmmToB, aToXmm, srcXmm, mmToA, mmToB, aToMm, srcMm,
  writeMem128, readMem64,
} from './sse-common.js';
import { CR0_EM, CR0_TS, NM, RDI, DS } from '../constants.js';

// ---- full-register moves ----

function loadX(aligned: boolean) {
  return (c: X86Cpu, i: Insn): void => { checkSse(c); srcXmm(c, i, aligned); c.fpu.xmm.set(B, i.reg * 16); };
}
function storeX(aligned: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c);
    xmmToA(c, i.reg);
    if (i.mod === 3) aToXmm(c, i.rm);
    else writeMem128(c, i, A, aligned);
  };
}
for (const [op, p, aligned, name] of [[0x28, 0, true, 'movaps'], [0x28, 0x66, true, 'movapd'], [0x10, 0, false, 'movups'], [0x10, 0x66, false, 'movupd'],
  [0x6f, 0x66, true, 'movdqa'], [0x6f, 0xf3, false, 'movdqu']] as const) {
  def(1, op, { name: `${name} load`, prefix: p }, loadX(aligned));
}
for (const [op, p, aligned, name] of [[0x29, 0, true, 'movaps'], [0x29, 0x66, true, 'movapd'], [0x11, 0, false, 'movups'], [0x11, 0x66, false, 'movupd'],
  [0x7f, 0x66, true, 'movdqa'], [0x7f, 0xf3, false, 'movdqu'], [0x2b, 0, true, 'movntps'], [0x2b, 0x66, true, 'movntpd'], [0xe7, 0x66, true, 'movntdq']] as const) {
  def(1, op, { name: `${name} store`, prefix: p, ...(op === 0x2b || op === 0xe7 ? { form: 'mem' as const } : {}) }, storeX(aligned));
}
def(1, 0xf0, { name: 'lddqu', prefix: 0xf2, form: 'mem' }, loadX(false));

// MOVSS/MOVSD: register-to-register merges the low element; a load zeroes the rest.
function movScalar(bytes: number, store: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c);
    const x = c.fpu.xmm;
    if (i.mod === 3) {
      const [dst, src] = store ? [i.rm, i.reg] : [i.reg, i.rm];
      x.copyWithin(dst * 16, src * 16, src * 16 + bytes);
      return;
    }
    if (store) {
      const la = c.addrW(i, bytes);
      if (bytes === 4) c.wr32(la, c.fpu.xmm32[i.reg * 4]!);
      else c.wr64(la, c.fpu.xmm32[i.reg * 4]!, c.fpu.xmm32[i.reg * 4 + 1]!);
    } else {
      const la = c.addr(i, bytes);
      const lo = bytes === 4 ? c.rd32(la) : c.rd64(la);
      const hi = bytes === 4 ? 0 : c.hi;
      x.fill(0, i.reg * 16, i.reg * 16 + 16);
      c.fpu.xmm32[i.reg * 4] = lo;
      c.fpu.xmm32[i.reg * 4 + 1] = hi;
    }
  };
}
def(1, 0x10, { name: 'movss load', prefix: 0xf3 }, movScalar(4, false));
def(1, 0x11, { name: 'movss store', prefix: 0xf3 }, movScalar(4, true));
def(1, 0x10, { name: 'movsd load', prefix: 0xf2 }, movScalar(8, false));
def(1, 0x11, { name: 'movsd store', prefix: 0xf2 }, movScalar(8, true));

// MOVLPS/MOVLPD/MOVHPS/MOVHPD (memory) and MOVHLPS/MOVLHPS (register).
function movHalf(high: boolean, store: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c);
    const x32 = c.fpu.xmm32;
    const base = i.reg * 4 + (high ? 2 : 0);
    if (i.mod === 3) {
      if (store) c.ud();
      // 0F 12 reg: MOVHLPS (high of src to low of dst); 0F 16 reg: MOVLHPS (low of src to high of dst).
      const s = i.rm * 4 + (high ? 0 : 2);
      x32[base] = x32[s]!; x32[base + 1] = x32[s + 1]!;
      return;
    }
    if (store) { c.wr64(c.addrW(i, 8), x32[base]!, x32[base + 1]!); return; }
    const la = c.addr(i, 8);
    x32[base] = c.rd64(la); x32[base + 1] = c.hi;
  };
}
for (const p of [0, 0x66] as const) {
  def(1, 0x12, { name: 'movlps/movhlps', prefix: p }, movHalf(false, false));
  def(1, 0x13, { name: 'movlps store', prefix: p, form: 'mem' }, movHalf(false, true));
  def(1, 0x16, { name: 'movhps/movlhps', prefix: p }, movHalf(true, false));
  def(1, 0x17, { name: 'movhps store', prefix: p, form: 'mem' }, movHalf(true, true));
}

// MOVD/MOVQ between general registers/memory and MMX/XMM registers.
function movdToVec(c: X86Cpu, i: Insn): void { // 0F 6E
  const xmm = i.mand === 0x66;
  if (xmm) checkSse(c); else checkMmx(c);
  const size = i.osize === 8 ? 8 : 4;
  const lo = i.mod === 3 ? c.getReg(i.rm, size, i.rex) : c.rd(c.addr(i, size), size);
  const hi = size === 8 ? c.hi : 0;
  A.fill(0); A32[0] = lo; A32[1] = hi;
  if (xmm) aToXmm(c, i.reg); else aToMm(c, i.reg);
}
function movdFromVec(c: X86Cpu, i: Insn): void { // 0F 7E
  const xmm = i.mand === 0x66;
  if (xmm) { checkSse(c); xmmToA(c, i.reg); } else { checkMmx(c); mmToA(c, i.reg); }
  const size = i.osize === 8 ? 8 : 4;
  if (i.mod === 3) c.setReg(i.rm, size, i.rex, A32[0]!, A32[1]!);
  else c.wr(c.addrW(i, size), size, A32[0]!, A32[1]!);
}
def(1, 0x6e, { name: 'movd/movq to mm', prefix: 0 }, movdToVec);
def(1, 0x6e, { name: 'movd/movq to xmm', prefix: 0x66 }, movdToVec);
def(1, 0x7e, { name: 'movd/movq from mm', prefix: 0 }, movdFromVec);
def(1, 0x7e, { name: 'movd/movq from xmm', prefix: 0x66 }, movdFromVec);
def(1, 0x7e, { name: 'movq xmm,xmm/m64', prefix: 0xf3 }, (c, i) => { // zero-extending 64-bit load
  checkSse(c);
  if (i.mod === 3) { xmmToB(c, i.rm); } else readMem64(c, i, B);
  A.fill(0); A32[0] = B32[0]!; A32[1] = B32[1]!;
  aToXmm(c, i.reg);
});
def(1, 0xd6, { name: 'movq xmm/m64,xmm', prefix: 0x66 }, (c, i) => {
  checkSse(c);
  xmmToA(c, i.reg);
  if (i.mod === 3) { A.fill(0, 8); aToXmm(c, i.rm); } else c.wr64(c.addrW(i, 8), A32[0]!, A32[1]!);
});
def(1, 0x6f, { name: 'movq mm,mm/m64', prefix: 0 }, (c, i) => { checkMmx(c); srcMm(c, i); A.set(B); aToMm(c, i.reg); });
def(1, 0x7f, { name: 'movq mm/m64,mm', prefix: 0 }, (c, i) => {
  checkMmx(c); mmToA(c, i.reg);
  if (i.mod === 3) aToMm(c, i.rm); else c.wr64(c.addrW(i, 8), A32[0]!, A32[1]!);
});
def(1, 0xe7, { name: 'movntq', prefix: 0, form: 'mem' }, (c, i) => { checkMmx(c); mmToA(c, i.reg); c.wr64(c.addrW(i, 8), A32[0]!, A32[1]!); });
def(1, 0xc3, { name: 'movnti', form: 'mem' }, (c, i) => { const v = c.getReg(i.reg, i.osize, i.rex); c.wr(c.addrW(i, i.osize), i.osize, v, c.hi); });
def(1, 0xd6, { name: 'movq2dq', prefix: 0xf3, form: 'reg' }, (c, i) => { checkSse(c); checkMmx(c); mmToB(c, i.rm); A.fill(0); A.set(B.subarray(0, 8)); aToXmm(c, i.reg); });
def(1, 0xd6, { name: 'movdq2q', prefix: 0xf2, form: 'reg' }, (c, i) => { checkSse(c); checkMmx(c); xmmToA(c, i.rm); aToMm(c, i.reg); });

// ---- shuffles ----

function pshufd(c: X86Cpu, i: Insn): void {
  checkSse(c); srcXmm(c, i, true);
  const o = i.imm & 0xff;
  for (let k = 0; k < 4; k++) A32[k] = B32[(o >> (k * 2)) & 3]!;
  aToXmm(c, i.reg);
}
function pshufWords(highHalf: boolean, mmx: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    if (mmx) { checkMmx(c); srcMm(c, i); } else { checkSse(c); srcXmm(c, i, true); }
    A.set(B);
    const base = highHalf ? 4 : 0;
    const o = i.imm & 0xff;
    for (let k = 0; k < 4; k++) A16[base + k] = B16[base + ((o >> (k * 2)) & 3)]!;
    if (mmx) aToMm(c, i.reg); else aToXmm(c, i.reg);
  };
}
def(1, 0x70, { name: 'pshufd', prefix: 0x66 }, pshufd);
def(1, 0x70, { name: 'pshufhw', prefix: 0xf3 }, pshufWords(true, false));
def(1, 0x70, { name: 'pshuflw', prefix: 0xf2 }, pshufWords(false, false));
def(1, 0x70, { name: 'pshufw', prefix: 0 }, pshufWords(false, true));

def(1, 0xc6, { name: 'shufps', prefix: 0 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  const o = i.imm & 0xff;
  const r0 = A32[o & 3]!, r1 = A32[(o >> 2) & 3]!, r2 = B32[(o >> 4) & 3]!, r3 = B32[(o >> 6) & 3]!;
  A32[0] = r0; A32[1] = r1; A32[2] = r2; A32[3] = r3;
  aToXmm(c, i.reg);
});
def(1, 0xc6, { name: 'shufpd', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  const o = i.imm & 3;
  const l0 = A32[(o & 1) * 2]!, l1 = A32[(o & 1) * 2 + 1]!, h0 = B32[((o >> 1) & 1) * 2]!, h1 = B32[((o >> 1) & 1) * 2 + 1]!;
  A32[0] = l0; A32[1] = l1; A32[2] = h0; A32[3] = h1;
  aToXmm(c, i.reg);
});
const T32 = new Int32Array(4);
function unpackPs(high: boolean, pd: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
    if (pd) { const b = high ? 2 : 0; T32[0] = A32[b]!; T32[1] = A32[b + 1]!; T32[2] = B32[b]!; T32[3] = B32[b + 1]!; }
    else { const b = high ? 2 : 0; T32[0] = A32[b]!; T32[1] = B32[b]!; T32[2] = A32[b + 1]!; T32[3] = B32[b + 1]!; }
    A32.set(T32);
    aToXmm(c, i.reg);
  };
}
def(1, 0x14, { name: 'unpcklps', prefix: 0 }, unpackPs(false, false));
def(1, 0x15, { name: 'unpckhps', prefix: 0 }, unpackPs(true, false));
def(1, 0x14, { name: 'unpcklpd', prefix: 0x66 }, unpackPs(false, true));
def(1, 0x15, { name: 'unpckhpd', prefix: 0x66 }, unpackPs(true, true));

// ---- bitwise logic on packed floats ----
function logic(op: number) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
    for (let k = 0; k < 4; k++) {
      const a = A32[k]!, b = B32[k]!;
      A32[k] = op === 0 ? a & b : op === 1 ? ~a & b : op === 2 ? a | b : a ^ b;
    }
    aToXmm(c, i.reg);
  };
}
for (const p of [0, 0x66] as const) {
  def(1, 0x54, { name: 'andps/pd', prefix: p }, logic(0));
  def(1, 0x55, { name: 'andnps/pd', prefix: p }, logic(1));
  def(1, 0x56, { name: 'orps/pd', prefix: p }, logic(2));
  def(1, 0x57, { name: 'xorps/pd', prefix: p }, logic(3));
}

// ---- masks and word insert/extract ----
def(1, 0xd7, { name: 'pmovmskb', prefix: 0x66, form: 'reg' }, (c, i) => {
  checkSse(c); xmmToA(c, i.rm);
  let m = 0;
  for (let k = 0; k < 16; k++) if ((A[k]! & 0x80) !== 0) m |= 1 << k;
  c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, m, 0);
});
def(1, 0xd7, { name: 'pmovmskb mm', prefix: 0, form: 'reg' }, (c, i) => {
  checkMmx(c); mmToA(c, i.rm);
  let m = 0;
  for (let k = 0; k < 8; k++) if ((A[k]! & 0x80) !== 0) m |= 1 << k;
  c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, m, 0);
});
def(1, 0x50, { name: 'movmskps', prefix: 0, form: 'reg' }, (c, i) => {
  checkSse(c); xmmToA(c, i.rm);
  let m = 0;
  for (let k = 0; k < 4; k++) if (A32[k]! < 0) m |= 1 << k;
  c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, m, 0);
});
def(1, 0x50, { name: 'movmskpd', prefix: 0x66, form: 'reg' }, (c, i) => {
  checkSse(c); xmmToA(c, i.rm);
  c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, (A32[1]! < 0 ? 1 : 0) | (A32[3]! < 0 ? 2 : 0), 0);
});
def(1, 0xc5, { name: 'pextrw', prefix: 0x66, form: 'reg' }, (c, i) => { checkSse(c); xmmToA(c, i.rm); c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, A16[i.imm & 7]!, 0); });
def(1, 0xc5, { name: 'pextrw mm', prefix: 0, form: 'reg' }, (c, i) => { checkMmx(c); mmToA(c, i.rm); c.setReg(i.reg, i.osize === 8 ? 8 : 4, i.rex, A16[i.imm & 3]!, 0); });
function pinsrw(mmx: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    if (mmx) { checkMmx(c); mmToA(c, i.reg); } else { checkSse(c); xmmToA(c, i.reg); }
    const v = i.mod === 3 ? c.reg16(i.rm) : c.rd16(c.addr(i, 2));
    A16[i.imm & (mmx ? 3 : 7)] = v;
    if (mmx) aToMm(c, i.reg); else aToXmm(c, i.reg);
  };
}
def(1, 0xc4, { name: 'pinsrw', prefix: 0x66 }, pinsrw(false));
def(1, 0xc4, { name: 'pinsrw mm', prefix: 0 }, pinsrw(true));

function maskmov(mmx: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    if (mmx) { checkMmx(c); mmToA(c, i.reg); mmToB(c, i.rm); } else { checkSse(c); xmmToA(c, i.reg); xmmToB(c, i.rm); }
    const n = mmx ? 8 : 16;
    const base = i.asize === 8 ? c.regValue(RDI) : i.asize === 4 ? c.reg32(RDI) >>> 0 : c.reg16(RDI);
    for (let k = 0; k < n; k++) if ((B[k]! & 0x80) !== 0) c.wr8(c.linear(i.seg >= 0 ? i.seg : DS, base + k, 1, true), A[k]!);
  };
}
def(1, 0xf7, { name: 'maskmovdqu', prefix: 0x66, form: 'reg' }, maskmov(false));
def(1, 0xf7, { name: 'maskmovq', prefix: 0, form: 'reg' }, maskmov(true));

def(1, 0x77, { name: 'emms' }, (c) => {
  if ((c.cr0 & CR0_EM) !== 0) c.ud();
  if ((c.cr0 & CR0_TS) !== 0) c.fault(NM);
  c.fpu.ftw = 0xffff;
});

// ---- 0F AE: FXSAVE/FXRSTOR/LDMXCSR/STMXCSR, fences, CLFLUSH ----
const IMG = new Uint8Array(512);
function fxCheck(c: X86Cpu): void {
  if ((c.cr0 & CR0_EM) !== 0) c.ud();
  if ((c.cr0 & CR0_TS) !== 0) c.fault(NM);
}
def(1, 0xae, { name: 'fxsave', reg: 0, form: 'mem' }, (c, i) => {
  fxCheck(c);
  const la = c.addrW(i, 512);
  if (la % 16 !== 0) c.gp(0);
  c.probeWrite(la, 512);
  c.fpu.fxsave(IMG, i.osize === 8);
  // Bytes 416-511 are reserved or available to software: FXSAVE leaves them alone.
  for (let k = 0; k < 416; k += 4) c.wr32(la + k, IMG[k]! | (IMG[k + 1]! << 8) | (IMG[k + 2]! << 16) | (IMG[k + 3]! << 24));
});
def(1, 0xae, { name: 'fxrstor', reg: 1, form: 'mem' }, (c, i) => {
  fxCheck(c);
  const la = c.addr(i, 512);
  if (la % 16 !== 0) c.gp(0);
  for (let k = 0; k < 512; k += 4) { const v = c.rd32(la + k); IMG[k] = v; IMG[k + 1] = v >>> 8; IMG[k + 2] = v >>> 16; IMG[k + 3] = v >>> 24; }
  if (!c.fpu.fxrstor(IMG, i.osize === 8)) c.gp(0);
});
def(1, 0xae, { name: 'ldmxcsr', reg: 2, form: 'mem' }, (c, i) => {
  checkSse(c);
  const v = c.rd32(c.addr(i, 4)) >>> 0;
  if ((v & ~0xffff) !== 0) c.gp(0);
  c.fpu.mxcsr = v;
});
def(1, 0xae, { name: 'stmxcsr', reg: 3, form: 'mem' }, (c, i) => { checkSse(c); c.wr32(c.addrW(i, 4), c.fpu.mxcsr); });
def(1, 0xae, { name: 'lfence', reg: 5, form: 'reg' }, () => { /* ordering is program order here */ });
def(1, 0xae, { name: 'mfence', reg: 6, form: 'reg' }, () => { /* ordering is program order here */ });
def(1, 0xae, { name: 'sfence', reg: 7, form: 'reg' }, () => { /* ordering is program order here */ });
def(1, 0xae, { name: 'clflush', reg: 7, form: 'mem' }, (c, i) => { c.rd8(c.addr(i, 1)); });

