/**
 * SSE/SSE2 conversions (0F 2A, 2C, 2D, 5A, 5B, E6): integer ↔ binary32/binary64 and between the
 * float widths, rounding by MXCSR.RC (or truncating for the CVTT forms). A NaN or out-of-range
 * value converts to the integer indefinite (0x80000000 / 0x8000000000000000) with IE.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { A, B, A32, B32, AF32, BF32, AF64, BF64, checkSse, checkMmx, xmmToA, xmmToB, aToXmm, srcXmm, aToMm, mmToB, readMem64 } from './sse-common.js';
import { sse, sseBegin, operand32, operand64, narrow, toIntegral, FE_IE, FE_PE } from '../fpu/sse-arith.js';
import { round64 } from '../fpu/ieee-round.js';
import { isNaN32, isSNaN32, isNaN64, isSNaN64, sseCommit } from './sse-float.js';

const TWO32 = 4294967296;

// ---- float → integer ----

let outLo = 0, outHi = 0;
/** Converts x (NaN allowed) to a signed integer of `bits` (32 or 64) into outLo/outHi. */
function toInt(x: number, bits: number, truncate: boolean): void {
  const before = sse.flags;
  const r = x !== x ? NaN : toIntegral(x, truncate);
  const lim = bits === 32 ? 2147483648 : 9223372036854775808;
  if (!(r >= -lim && r < lim)) {
    sse.flags = before | FE_IE;
    outLo = bits === 32 ? 0x80000000 | 0 : 0; outHi = bits === 32 ? 0 : 0x80000000 | 0;
    return;
  }
  const hi = Math.floor(r / TWO32);
  outLo = (r - hi * TWO32) | 0; outHi = hi | 0;
}
/** Conversions to integer honour DAZ but do not report DE (as the hardware does). */
function dazOnly(x: number, minNormal: number): number { return sse.daz && x !== 0 && Math.abs(x) < minNormal ? 0 : x; }
function lane32ToInt(k: number, bits: number, truncate: boolean): void {
  toInt(isNaN32(B32[k]!) ? NaN : dazOnly(BF32[k]!, 2 ** -126), bits, truncate);
}
function lane64ToInt(k: number, bits: number, truncate: boolean): void {
  toInt(isNaN64(B32[2 * k]!, B32[2 * k + 1]!) ? NaN : dazOnly(BF64[k]!, 2 ** -1022), bits, truncate);
}

// ---- integer → float ----

/** A signed 64-bit integer (lo, hi) as a binary64 rounded to nearest, with the error's sign in `es`. */
let es = 0;
function int64Value(lo: number, hi: number): number {
  const h = hi * TWO32, l = lo >>> 0;
  const r = h + l;
  const d = (h - r) + l;
  es = d > 0 ? 1 : d < 0 ? -1 : 0;
  return r;
}
function intToF64(lo: number, hi: number): number {
  const r = int64Value(lo, hi);
  if (es !== 0) sse.flags |= FE_PE;
  return round64(r, es, sse.rc);
}

// ---- between float widths (NaNs keep their payload, quieted) ----

function f32ToF64(k: number, outK: number): void {
  const b = B32[k]!;
  if (isNaN32(b)) {
    if (isSNaN32(b)) sse.flags |= FE_IE;
    A32[2 * outK] = (b & 7) << 29; A32[2 * outK + 1] = (b & 0x80000000) | 0x7ff80000 | ((b & 0x3fffff) >>> 3);
    return;
  }
  AF64[outK] = operand32(BF32[k]!);
}
function f64ToF32(k: number, outK: number): void {
  const lo = B32[2 * k]!, hi = B32[2 * k + 1]!;
  if (isNaN64(lo, hi)) {
    if (isSNaN64(lo, hi)) sse.flags |= FE_IE;
    A32[outK] = (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
    return;
  }
  const x = operand64(BF64[k]!);
  AF32[outK] = Number.isFinite(x) ? narrow(x, 0) : x; // infinities convert exactly
}

// ---- operands ----

function srcLow(c: X86Cpu, i: Insn, bytes: number): void {
  if (i.mod === 3) { xmmToB(c, i.rm); return; }
  if (bytes === 8) { readMem64(c, i, B); return; }
  B32[0] = c.rd32(c.addr(i, 4));
}
/** 64-bit source that is an MMX register or memory. */
function srcMm64(c: X86Cpu, i: Insn): void {
  if (i.mod === 3) { checkMmx(c); mmToB(c, i.rm); } else readMem64(c, i, B);
}
function srcGpr(c: X86Cpu, i: Insn): void {
  const size = i.osize === 8 ? 8 : 4;
  if (i.mod === 3) { B32[0] = c.getReg(i.rm, size, i.rex); B32[1] = size === 8 ? c.hi : B32[0]! >> 31; return; }
  const la = c.addr(i, size);
  B32[0] = c.rd(la, size);
  B32[1] = size === 8 ? c.hi : B32[0]! >> 31;
}

function run(c: X86Cpu, body: () => void): void {
  sseBegin(c.fpu.mxcsr);
  body();
  sseCommit(c);
}

// 0F 2A: CVTPI2PS, CVTPI2PD, CVTSI2SS, CVTSI2SD
def(1, 0x2a, { name: 'cvtpi2ps', prefix: 0 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcMm64(c, i);
  run(c, () => { AF32[0] = narrow(B32[0]!, 0); AF32[1] = narrow(B32[1]!, 0); });
  aToXmm(c, i.reg);
});
def(1, 0x2a, { name: 'cvtpi2pd', prefix: 0x66 }, (c, i) => {
  checkSse(c); srcMm64(c, i);
  AF64[0] = B32[0]!; AF64[1] = B32[1]!;
  aToXmm(c, i.reg);
});
def(1, 0x2a, { name: 'cvtsi2ss', prefix: 0xf3 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcGpr(c, i);
  run(c, () => { const r = int64Value(B32[0]!, B32[1]!); AF32[0] = narrow(r, es); });
  aToXmm(c, i.reg);
});
def(1, 0x2a, { name: 'cvtsi2sd', prefix: 0xf2 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcGpr(c, i);
  run(c, () => { AF64[0] = intToF64(B32[0]!, B32[1]!); });
  aToXmm(c, i.reg);
});

// 0F 2C/2D: to MMX (PS/PD) and to general registers (SS/SD); 2C truncates.
for (const truncate of [true, false]) {
  const op = truncate ? 0x2c : 0x2d, t = truncate ? 't' : '';
  def(1, op, { name: `cvt${t}ps2pi`, prefix: 0 }, (c, i) => {
    checkSse(c); srcLow(c, i, 8); checkMmx(c);
    run(c, () => { lane32ToInt(0, 32, truncate); A32[0] = outLo; lane32ToInt(1, 32, truncate); A32[1] = outLo; });
    aToMm(c, i.reg);
  });
  def(1, op, { name: `cvt${t}pd2pi`, prefix: 0x66 }, (c, i) => {
    checkSse(c); srcXmm(c, i, true); checkMmx(c);
    run(c, () => { lane64ToInt(0, 32, truncate); A32[0] = outLo; lane64ToInt(1, 32, truncate); A32[1] = outLo; });
    aToMm(c, i.reg);
  });
  def(1, op, { name: `cvt${t}ss2si`, prefix: 0xf3 }, (c, i) => {
    checkSse(c); srcLow(c, i, 4);
    const bits = i.osize === 8 ? 64 : 32;
    run(c, () => lane32ToInt(0, bits, truncate));
    c.setReg(i.reg, bits / 8, i.rex, outLo, outHi);
  });
  def(1, op, { name: `cvt${t}sd2si`, prefix: 0xf2 }, (c, i) => {
    checkSse(c); srcLow(c, i, 8);
    const bits = i.osize === 8 ? 64 : 32;
    run(c, () => lane64ToInt(0, bits, truncate));
    c.setReg(i.reg, bits / 8, i.rex, outLo, outHi);
  });
}

// 0F 5A: CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS
def(1, 0x5a, { name: 'cvtps2pd', prefix: 0 }, (c, i) => {
  checkSse(c); srcLow(c, i, 8);
  run(c, () => { f32ToF64(0, 0); f32ToF64(1, 1); });
  aToXmm(c, i.reg);
});
def(1, 0x5a, { name: 'cvtpd2ps', prefix: 0x66 }, (c, i) => {
  checkSse(c); srcXmm(c, i, true); A.fill(0);
  run(c, () => { f64ToF32(0, 0); f64ToF32(1, 1); });
  aToXmm(c, i.reg);
});
def(1, 0x5a, { name: 'cvtss2sd', prefix: 0xf3 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcLow(c, i, 4);
  run(c, () => f32ToF64(0, 0));
  aToXmm(c, i.reg);
});
def(1, 0x5a, { name: 'cvtsd2ss', prefix: 0xf2 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcLow(c, i, 8);
  run(c, () => f64ToF32(0, 0));
  aToXmm(c, i.reg);
});

// 0F 5B: CVTDQ2PS, CVTPS2DQ, CVTTPS2DQ
def(1, 0x5b, { name: 'cvtdq2ps', prefix: 0 }, (c, i) => {
  checkSse(c); srcXmm(c, i, true);
  run(c, () => { for (let k = 0; k < 4; k++) AF32[k] = narrow(B32[k]!, 0); });
  aToXmm(c, i.reg);
});
for (const truncate of [false, true]) {
  def(1, 0x5b, { name: truncate ? 'cvttps2dq' : 'cvtps2dq', prefix: truncate ? 0xf3 : 0x66 }, (c, i) => {
    checkSse(c); srcXmm(c, i, true);
    run(c, () => { for (let k = 0; k < 4; k++) { lane32ToInt(k, 32, truncate); A32[k] = outLo; } });
    aToXmm(c, i.reg);
  });
}

// 0F E6: CVTTPD2DQ (66), CVTPD2DQ (F2), CVTDQ2PD (F3)
for (const truncate of [false, true]) {
  def(1, 0xe6, { name: truncate ? 'cvttpd2dq' : 'cvtpd2dq', prefix: truncate ? 0x66 : 0xf2 }, (c, i) => {
    checkSse(c); srcXmm(c, i, true); A.fill(0);
    run(c, () => { for (let k = 0; k < 2; k++) { lane64ToInt(k, 32, truncate); A32[k] = outLo; } });
    aToXmm(c, i.reg);
  });
}
def(1, 0xe6, { name: 'cvtdq2pd', prefix: 0xf3 }, (c, i) => {
  checkSse(c); srcLow(c, i, 8);
  AF64[1] = B32[1]!; AF64[0] = B32[0]!;
  aToXmm(c, i.reg);
});
