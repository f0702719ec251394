/**
 * MUL, IMUL (one-, two- and three-operand forms), DIV and IDIV with #DE on a zero divisor or a
 * quotient that does not fit. 32-bit and narrower products use exact double/Math.imul arithmetic;
 * 64-bit products use mul128.ts; wide dividends use BigInt (not on the hottest paths).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { LF_CO } from '../flags.js';
import { readRM, signExtend } from './operands.js';
import { CF, OF, DE, RAX, RDX, TWO32 } from '../constants.js';
import { mul64, mulHighUnsigned, product } from './mul128.js';

function setMulFlags(c: X86Cpu, size: number, overflow: boolean, lo: number, hi: number): void {
  const f = c.lf;
  f.op = LF_CO; f.size = size; f.resL = lo; f.resH = hi; f.dstL = 0; f.srcL = 0;
  f.aux = overflow ? CF | OF : 0;
}

function big(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }
function lo32(v: bigint): number { return Number(v & 0xffffffffn) | 0; }
function hi32(v: bigint): number { return Number((v >> 32n) & 0xffffffffn) | 0; }

/** Signed high half: the unsigned one corrected by the operands' sign bits (mod 2^32). */
function mulHighSigned(a: number, b: number): number {
  return (mulHighUnsigned(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/**
 * 32-bit DIV/IDIV whose dividend fits in 53 bits, in doubles: the quotient estimate is corrected
 * by its remainder so rounding of n / d cannot leave it off by one. Returns false when the
 * dividend is too wide (BigInt path) — never for the common EDX = 0 / sign-extension case.
 */
function divide32Fast(c: X86Cpu, signed: boolean, src: number): boolean {
  const lo = c.reg32(RAX), hi = c.reg32(RDX);
  let n: number;
  if (signed) {
    if (hi < -0x100000 || hi >= 0x100000) return false;
    n = hi * TWO32 + (lo >>> 0);
  } else {
    if ((hi >>> 0) >= 0x100000) return false;
    n = (hi >>> 0) * TWO32 + (lo >>> 0);
  }
  const d = signed ? src | 0 : src >>> 0;
  if (d === 0) c.fault(DE);
  let q = Math.trunc(n / d);
  let r = n - q * d;
  // Truncating division: the remainder takes the dividend's sign and |r| < |d|.
  const ad = Math.abs(d);
  if (n >= 0) { if (r < 0) { q -= Math.sign(d); r += ad; } else if (r >= ad) { q += Math.sign(d); r -= ad; } }
  else if (r > 0) { q += Math.sign(d); r -= ad; } else if (r <= -ad) { q -= Math.sign(d); r += ad; }
  if (signed ? q < -0x80000000 || q > 0x7fffffff : q > 0xffffffff) c.fault(DE);
  c.setReg32(RAX, q | 0);
  c.setReg32(RDX, r | 0);
  return true;
}

/** F6/F7 /4 MUL and /5 IMUL: the double-width product into AX, DX:AX, EDX:EAX or RDX:RAX. */
function mulOne(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize;
  const signed = (i.reg & 7) === 5;
  const src = readRM(c, i, size);
  const srcH = c.hi;
  if (size === 1) {
    const a = signed ? signExtend(c.reg8(0, 1), 1) : c.reg8(0, 1);
    const b = signed ? signExtend(src, 1) : src;
    const p = a * b;
    c.setReg16(RAX, p & 0xffff);
    setMulFlags(c, 1, signed ? p !== signExtend(p & 0xff, 1) : (p & 0xff00) !== 0, p & 0xff, 0);
  } else if (size === 2) {
    const a = signed ? signExtend(c.reg16(RAX), 2) : c.reg16(RAX);
    const b = signed ? signExtend(src, 2) : src;
    const p = a * b;
    c.setReg16(RAX, p & 0xffff);
    c.setReg16(RDX, (p >> 16) & 0xffff);
    setMulFlags(c, 2, signed ? p !== signExtend(p & 0xffff, 2) : (p >>> 16) !== 0, p & 0xffff, 0);
  } else if (size === 4) {
    const a = c.reg32(RAX), b = src | 0;
    const lo = Math.imul(a, b);
    const hi = signed ? mulHighSigned(a, b) : mulHighUnsigned(a, b);
    c.setReg32(RAX, lo);
    c.setReg32(RDX, hi);
    setMulFlags(c, 4, signed ? hi !== (lo >> 31) : hi !== 0, lo, 0);
  } else {
    mul64(c.reg32(RAX), c.regHi(RAX), src | 0, srcH | 0, signed);
    const l0 = product[0]!, l1 = product[1]!, h0 = product[2]!, h1 = product[3]!;
    c.setReg64(RAX, l0, l1);
    c.setReg64(RDX, h0, h1);
    const ext = signed ? l1 >> 31 : 0;
    setMulFlags(c, 8, h0 !== ext || h1 !== ext, l0, l1);
  }
}

/** Two- and three-operand IMUL: the low half into a register; CF=OF when it was truncated. */
function imulReg(c: X86Cpu, i: Insn, a: number, aH: number, b: number, bH: number): void {
  const size = i.osize;
  if (size === 2) {
    const p = signExtend(a, 2) * signExtend(b, 2);
    c.setReg16(i.reg, p & 0xffff);
    setMulFlags(c, 2, p !== signExtend(p & 0xffff, 2), p & 0xffff, 0);
  } else if (size === 4) {
    const lo = Math.imul(a, b);
    c.setReg32(i.reg, lo);
    setMulFlags(c, 4, (a | 0) * (b | 0) !== lo, lo, 0);
  } else {
    mul64(a | 0, aH | 0, b | 0, bH | 0, true);
    const l0 = product[0]!, l1 = product[1]!, ext = l1 >> 31;
    c.setReg64(i.reg, l0, l1);
    setMulFlags(c, 8, product[2] !== ext || product[3] !== ext, l0, l1);
  }
}

function imulGvEv(c: X86Cpu, i: Insn): void {
  const b = readRM(c, i, i.osize);
  const bH = c.hi;
  const a = c.getReg(i.reg, i.osize, i.rex);
  imulReg(c, i, a, c.hi, b, bH);
}

function imulGvEvI(c: X86Cpu, i: Insn): void {
  const a = readRM(c, i, i.osize);
  const aH = c.hi;
  const imm = i.osize === 2 ? i.imm & 0xffff : i.imm;
  imulReg(c, i, a, aH, imm, i.imm >> 31);
}

/** F6/F7 /6 DIV and /7 IDIV. Registers change only when the division succeeds. */
function divide(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize;
  const signed = (i.reg & 7) === 7;
  const src = readRM(c, i, size);
  const srcH = c.hi;
  if (size === 1 || size === 2) {
    const bits = size * 8;
    const dividend = size === 1 ? c.reg16(RAX) : ((c.reg16(RDX) << 16) | c.reg16(RAX)) >>> 0;
    const n = signed ? (size === 1 ? signExtend(dividend, 2) : dividend | 0) : dividend;
    const d = signed ? signExtend(src, size) : src;
    if (d === 0) c.fault(DE);
    const q = Math.trunc(n / d);
    const r = n - q * d;
    const limit = 2 ** (bits - 1);
    if (signed ? q < -limit || q >= limit : q >= 2 ** bits) c.fault(DE);
    if (size === 1) c.setReg16(RAX, ((r & 0xff) << 8) | (q & 0xff));
    else { c.setReg16(RAX, q & 0xffff); c.setReg16(RDX, r & 0xffff); }
    return;
  }
  if (size === 4 && divide32Fast(c, signed, src)) return;
  const dividendU = size === 4 ? big(c.reg32(RAX), c.reg32(RDX)) : (big(c.reg32(RDX), c.regHi(RDX)) << 64n) | big(c.reg32(RAX), c.regHi(RAX));
  const bits = BigInt(size * 8);
  const n = signed ? BigInt.asIntN(Number(bits) * 2, dividendU) : dividendU;
  const d = signed ? BigInt.asIntN(Number(bits), size === 4 ? BigInt(src >>> 0) : big(src, srcH)) : (size === 4 ? BigInt(src >>> 0) : big(src, srcH));
  if (d === 0n) c.fault(DE);
  const q = n / d;
  const r = n % d;
  const limit = 1n << (bits - 1n);
  if (signed ? q < -limit || q >= limit : q >= (1n << bits)) c.fault(DE);
  const qu = BigInt.asUintN(Number(bits), q), ru = BigInt.asUintN(Number(bits), r);
  if (size === 4) { c.setReg32(RAX, lo32(qu)); c.setReg32(RDX, lo32(ru)); }
  else { c.setReg64(RAX, lo32(qu), hi32(qu)); c.setReg64(RDX, lo32(ru), hi32(ru)); }
}

for (const op of [0xf6, 0xf7]) {
  def(0, op, { name: 'mul', reg: 4 }, mulOne);
  def(0, op, { name: 'imul (one operand)', reg: 5 }, mulOne);
  def(0, op, { name: 'div', reg: 6 }, divide);
  def(0, op, { name: 'idiv', reg: 7 }, divide);
}
def(1, 0xaf, { name: 'imul Gv,Ev' }, imulGvEv);
def(0, 0x69, { name: 'imul Gv,Ev,Iz' }, imulGvEvI);
def(0, 0x6b, { name: 'imul Gv,Ev,Ib' }, imulGvEvI);
