/**
 * XADD, CMPXCHG, CMPXCHG8B and CMPXCHG16B. One processor runs at a time per VM thread, so the
 * read-modify-write sequences are atomic with respect to other virtual processors as long as the
 * processors of a VM are interleaved on one thread (they are, today).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_LOCKABLE } from '../insn.js';
import { aluAny, OP_ADD, OP_CMP } from './alu-core.js';
import { sizeOf } from './operands.js';
import { arithFlags, setArithFlags } from '../flags.js';
import { ZF, RAX, RCX, RDX, RBX } from '../constants.js';

function xadd(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const s = c.getReg(i.reg, size, i.rex);
  const sH = c.hi;
  if (i.mod === 3) {
    const d = c.getReg(i.rm, size, i.rex);
    const dH = c.hi;
    const r = aluAny(c, OP_ADD, size, d, dH, s, sH);
    const rH = c.hi;
    c.setReg(i.reg, size, i.rex, d, dH);
    c.setReg(i.rm, size, i.rex, r, rH);
    return;
  }
  const la = c.addrRMW(i, size);
  const d = c.rd(la, size);
  const dH = c.hi;
  const r = aluAny(c, OP_ADD, size, d, dH, s, sH);
  c.wr(la, size, r, c.hi);
  c.setReg(i.reg, size, i.rex, d, dH);
}

function cmpxchg(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const a = c.getReg(RAX, size, 1);
  const aH = c.hi;
  let la = 0;
  let d: number;
  if (i.mod === 3) d = c.getReg(i.rm, size, i.rex);
  else { la = c.addrRMW(i, size); d = c.rd(la, size); }
  const dH = c.hi;
  aluAny(c, OP_CMP, size, a, aH, d, dH);
  const equal = size === 8 ? a === d && aH === dH : a === d;
  if (equal) {
    const s = c.getReg(i.reg, size, i.rex);
    if (i.mod === 3) c.setReg(i.rm, size, i.rex, s, c.hi);
    else c.wr(la, size, s, c.hi);
  } else {
    // A memory destination is written back unchanged (a locked cycle always writes); a register
    // destination is left as it is, upper half included (checked against the host).
    if (i.mod !== 3) c.wr(la, size, d, dH);
    c.setReg(RAX, size, 1, d, dH);
  }
}

function setZF(c: X86Cpu, on: boolean): void {
  setArithFlags(c.lf, (arithFlags(c.lf) & ~ZF) | (on ? ZF : 0));
}

/** 0F C7 /1: CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W (16-byte alignment required). */
function cmpxchgWide(c: X86Cpu, i: Insn): void {
  if (i.mod === 3) c.ud();
  const wide = i.osize === 8;
  const size = wide ? 16 : 8;
  const la = c.addrW(i, size);
  if (wide && la % 16 !== 0) c.gp(0);
  c.probeWrite(la, size);
  if (!wide) {
    const lo = c.rd32(la), hi = c.rd32(la + 4);
    if (lo === c.reg32(RAX) && hi === c.reg32(RDX)) {
      c.wr32(la, c.reg32(RBX)); c.wr32(la + 4, c.reg32(RCX));
      setZF(c, true);
    } else {
      c.wr32(la, lo); c.wr32(la + 4, hi);
      c.setReg32(RAX, lo); c.setReg32(RDX, hi);
      setZF(c, false);
    }
    return;
  }
  const l0 = c.rd64(la), h0 = c.hi;
  const l1 = c.rd64(la + 8), h1 = c.hi;
  if (l0 === c.reg32(RAX) && h0 === c.regHi(RAX) && l1 === c.reg32(RDX) && h1 === c.regHi(RDX)) {
    c.wr64(la, c.reg32(RBX), c.regHi(RBX)); c.wr64(la + 8, c.reg32(RCX), c.regHi(RCX));
    setZF(c, true);
  } else {
    c.wr64(la, l0, h0); c.wr64(la + 8, l1, h1);
    c.setReg64(RAX, l0, h0); c.setReg64(RDX, l1, h1);
    setZF(c, false);
  }
}

def(1, 0xc0, { name: 'xadd Eb,Gb', flags: F_LOCKABLE }, xadd);
def(1, 0xc1, { name: 'xadd Ev,Gv', flags: F_LOCKABLE }, xadd);
def(1, 0xb0, { name: 'cmpxchg Eb,Gb', flags: F_LOCKABLE }, cmpxchg);
def(1, 0xb1, { name: 'cmpxchg Ev,Gv', flags: F_LOCKABLE }, cmpxchg);
def(1, 0xc7, { name: 'cmpxchg8b/16b', reg: 1, flags: F_LOCKABLE }, cmpxchgWide);
