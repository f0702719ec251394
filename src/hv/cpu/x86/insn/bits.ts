/**
 * Bit instructions: BT/BTS/BTR/BTC (register and immediate offsets; register offsets reach beyond
 * the operand in memory), BSF/BSR, POPCNT, LZCNT, TZCNT, BSWAP, MOVBE.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def, defRange } from '../opcode-table.js';
import { F_LOCKABLE } from '../insn.js';
import { LF_CO, arithFlags, setArithFlags } from '../flags.js';
import { readRM } from './operands.js';
import { CF, ZF, TWO32 } from '../constants.js';

function setCF(c: X86Cpu, on: boolean): void {
  const b = arithFlags(c.lf) & ~CF;
  setArithFlags(c.lf, b | (on ? CF : 0));
}

/** op: 0 BT, 1 BTS, 2 BTR, 3 BTC. `bitReg` = the offset is a register (not imm8). */
function bitOp(c: X86Cpu, i: Insn, op: number, offsetLo: number, offsetHi: number, bitReg: boolean): void {
  const size = i.osize;
  const bits = size * 8;
  if (i.mod === 3) {
    const n = offsetLo & (bits - 1);
    const v = c.getReg(i.rm, size, i.rex);
    const vH = c.hi;
    const word = n >= 32 ? vH : v;
    const m = 1 << (n & 31);
    setCF(c, (word & m) !== 0);
    if (op === 0) return;
    const nw = op === 1 ? word | m : op === 2 ? word & ~m : word ^ m;
    if (n >= 32) c.setReg(i.rm, size, i.rex, v, nw);
    else c.setReg(i.rm, size, i.rex, size === 2 ? nw & 0xffff : nw, vH);
    return;
  }
  // Memory: the operand-size unit holding the bit is read (and written back), as the hardware
  // does; a register offset is signed and selects a unit anywhere relative to the operand.
  let unitOff = 0;
  let bit: number;
  if (bitReg) {
    const off = size === 8 ? offsetHi * TWO32 + (offsetLo >>> 0) : size === 4 ? offsetLo | 0 : (offsetLo << 16) >> 16;
    const unit = Math.floor(off / bits);
    unitOff = unit * size;
    bit = off - unit * bits;
  } else {
    bit = offsetLo & (bits - 1);
  }
  const base = c.ea(i);
  const seg = i.seg >= 0 ? i.seg : i.defSeg;
  const off = i.asize === 8 ? base + unitOff : i.asize === 4 ? (base + unitOff) >>> 0 : (base + unitOff) & 0xffff;
  const la = c.linear(seg, off, size, op !== 0);
  if (op !== 0) c.probeWrite(la, size); // a read-modify-write faults as a write, before the read
  const lo = size === 8 ? c.rd64(la) : size === 4 ? c.rd32(la) : c.rd16(la);
  const hi = size === 8 ? c.hi : 0;
  const word = bit >= 32 ? hi : lo;
  const m = 1 << (bit & 31);
  setCF(c, (word & m) !== 0);
  if (op === 0) return;
  const nw = op === 1 ? word | m : op === 2 ? word & ~m : word ^ m;
  if (size === 8) { if (bit >= 32) c.wr64(la, lo, nw); else c.wr64(la, nw, hi); }
  else if (size === 4) c.wr32(la, nw);
  else c.wr16(la, nw & 0xffff);
}

function btReg(c: X86Cpu, i: Insn): void {
  const op = i.opcode === 0xa3 ? 0 : i.opcode === 0xab ? 1 : i.opcode === 0xb3 ? 2 : 3;
  const lo = c.getReg(i.reg, i.osize, i.rex);
  bitOp(c, i, op, lo, c.hi, true);
}
function btImm(c: X86Cpu, i: Insn): void {
  bitOp(c, i, (i.reg & 7) - 4, i.imm & 0xff, 0, false);
}

function zeroResult(c: X86Cpu, zero: boolean, cf: boolean): void {
  const f = c.lf;
  // ZF and CF defined; the others follow a zero result so they read consistently.
  f.op = LF_CO; f.size = 4; f.resL = zero ? 0 : 1; f.resH = 0; f.dstL = 0; f.srcL = 0; f.aux = cf ? CF : 0;
}

function clz32(x: number): number { return Math.clz32(x); }
function ctz32(x: number): number { return x === 0 ? 32 : 31 - Math.clz32(x & -x); }
function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Value of the source as lo/hi limited to the operand size. */
function source(c: X86Cpu, i: Insn): [number, number] {
  const v = readRM(c, i, i.osize);
  const h = i.osize === 8 ? c.hi : 0;
  return [i.osize === 2 ? v & 0xffff : v, h];
}

function bsf(c: X86Cpu, i: Insn): void {
  const [lo, hi] = source(c, i);
  if (lo === 0 && hi === 0) { setArithFlags(c.lf, (arithFlags(c.lf) & ~ZF) | ZF); return; }
  const n = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
  c.setReg(i.reg, i.osize, i.rex, n, 0);
  setArithFlags(c.lf, arithFlags(c.lf) & ~ZF);
}
function bsr(c: X86Cpu, i: Insn): void {
  const [lo, hi] = source(c, i);
  if (lo === 0 && hi === 0) { setArithFlags(c.lf, (arithFlags(c.lf) & ~ZF) | ZF); return; }
  const n = hi !== 0 ? 63 - clz32(hi) : 31 - clz32(lo);
  c.setReg(i.reg, i.osize, i.rex, n, 0);
  setArithFlags(c.lf, arithFlags(c.lf) & ~ZF);
}
function tzcnt(c: X86Cpu, i: Insn): void {
  const [lo, hi] = source(c, i);
  const bits = i.osize * 8;
  let n = lo !== 0 ? ctz32(lo) : i.osize === 8 ? 32 + ctz32(hi) : 32;
  if (n > bits) n = bits;
  c.setReg(i.reg, i.osize, i.rex, n, 0);
  zeroResult(c, n === 0, n === bits);
}
function lzcnt(c: X86Cpu, i: Insn): void {
  const [lo, hi] = source(c, i);
  const bits = i.osize * 8;
  let n: number;
  if (i.osize === 8) n = hi !== 0 ? clz32(hi) : 32 + clz32(lo);
  else n = clz32(lo) - (32 - bits);
  c.setReg(i.reg, i.osize, i.rex, n, 0);
  zeroResult(c, n === 0, n === bits);
}
function popcnt(c: X86Cpu, i: Insn): void {
  const [lo, hi] = source(c, i);
  const n = popcount32(lo) + (i.osize === 8 ? popcount32(hi) : 0);
  c.setReg(i.reg, i.osize, i.rex, n, 0);
  setArithFlags(c.lf, n === 0 ? ZF : 0);
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}
function bswap(c: X86Cpu, i: Insn): void {
  const r = (i.opcode & 7) | ((i.rex & 1) << 3);
  if (i.osize === 8) { c.setReg64(r, bswap32(c.regHi(r)), bswap32(c.reg32(r))); return; }
  if (i.osize === 2) { c.setReg16(r, 0); return; } // undefined; the host writes 0
  c.setReg32(r, bswap32(c.reg32(r)));
}

function movbe(c: X86Cpu, i: Insn): void {
  if (i.mod === 3) c.ud();
  const size = i.osize;
  const la = i.opcode === 0xf0 ? c.addr(i, size) : c.addrW(i, size);
  if (i.opcode === 0xf0) {
    const v = c.rd(la, size);
    const h = c.hi;
    if (size === 2) c.setReg16(i.reg, ((v & 0xff) << 8) | ((v >>> 8) & 0xff));
    else if (size === 4) c.setReg32(i.reg, bswap32(v));
    else c.setReg64(i.reg, bswap32(h), bswap32(v));
  } else {
    const v = c.getReg(i.reg, size, i.rex);
    const h = c.hi;
    if (size === 2) c.wr16(la, ((v & 0xff) << 8) | ((v >>> 8) & 0xff));
    else if (size === 4) c.wr32(la, bswap32(v));
    else c.wr64(la, bswap32(h), bswap32(v));
  }
}

def(1, 0xa3, { name: 'bt Ev,Gv' }, btReg);
def(1, 0xab, { name: 'bts Ev,Gv', flags: F_LOCKABLE }, btReg);
def(1, 0xb3, { name: 'btr Ev,Gv', flags: F_LOCKABLE }, btReg);
def(1, 0xbb, { name: 'btc Ev,Gv', flags: F_LOCKABLE }, btReg);
def(1, 0xba, { name: 'bt Ev,Ib', reg: 4 }, btImm);
def(1, 0xba, { name: 'bts Ev,Ib', reg: 5, flags: F_LOCKABLE }, btImm);
def(1, 0xba, { name: 'btr Ev,Ib', reg: 6, flags: F_LOCKABLE }, btImm);
def(1, 0xba, { name: 'btc Ev,Ib', reg: 7, flags: F_LOCKABLE }, btImm);
def(1, 0xbc, { name: 'bsf' }, bsf);
def(1, 0xbd, { name: 'bsr' }, bsr);
def(1, 0xbc, { name: 'tzcnt', prefix: 0xf3 }, tzcnt);
def(1, 0xbd, { name: 'lzcnt', prefix: 0xf3 }, lzcnt);
def(1, 0xb8, { name: 'popcnt', prefix: 0xf3 }, popcnt);
defRange(1, 0xc8, 8, { name: 'bswap' }, bswap);
def(2, 0xf0, { name: 'movbe Gv,Mv', prefix: 0 }, movbe);
def(2, 0xf1, { name: 'movbe Mv,Gv', prefix: 0 }, movbe);
