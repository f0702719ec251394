/**
 * MUL, IMUL (one-, two- and three-operand forms), DIV and IDIV with #DE on a zero divisor or a
 * quotient that does not fit. 32-bit and narrower products use exact double/Math.imul arithmetic;
 * 64-bit forms and wide dividends use BigInt (not on the hottest paths).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { LF_CO } from '../flags.js';
import { readRM, signExtend } from './operands.js';
import { CF, OF, DE, RAX, RDX } from '../constants.js';

function setMulFlags(c: X86Cpu, size: number, overflow: boolean, lo: number, hi: number): void {
  const f = c.lf;
  f.op = LF_CO; f.size = size; f.resL = lo; f.resH = hi; f.dstL = 0; f.srcL = 0;
  f.aux = overflow ? CF | OF : 0;
}

function big(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }
function lo32(v: bigint): number { return Number(v & 0xffffffffn) | 0; }
function hi32(v: bigint): number { return Number((v >> 32n) & 0xffffffffn) | 0; }

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
    const a = signed ? BigInt(c.reg32(RAX)) : BigInt(c.reg32(RAX) >>> 0);
    const b = signed ? BigInt(src | 0) : BigInt(src >>> 0);
    const p = BigInt.asUintN(64, a * b);
    c.setReg32(RAX, lo32(p));
    c.setReg32(RDX, hi32(p));
    const ovf = signed ? BigInt.asIntN(64, p) !== BigInt.asIntN(32, p) : (p >> 32n) !== 0n;
    setMulFlags(c, 4, ovf, lo32(p), 0);
  } else {
    const araw = big(c.reg32(RAX), c.regHi(RAX));
    const braw = big(src, srcH);
    const a = signed ? BigInt.asIntN(64, araw) : araw;
    const b = signed ? BigInt.asIntN(64, braw) : braw;
    const p = BigInt.asUintN(128, a * b);
    const low = BigInt.asUintN(64, p), high = p >> 64n;
    c.setReg64(RAX, lo32(low), hi32(low));
    c.setReg64(RDX, lo32(high), hi32(high));
    const ovf = signed ? BigInt.asIntN(128, p) !== BigInt.asIntN(64, low) : high !== 0n;
    setMulFlags(c, 8, ovf, lo32(low), hi32(low));
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
    const p = BigInt.asIntN(64, big(a, aH)) * BigInt.asIntN(64, big(b, bH));
    const low = BigInt.asIntN(64, p);
    c.setReg64(i.reg, lo32(low), hi32(low));
    setMulFlags(c, 8, low !== p, lo32(low), hi32(low));
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
