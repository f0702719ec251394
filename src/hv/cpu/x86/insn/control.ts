/**
 * Near control flow: Jcc, JMP, CALL, RET, LOOP/JCXZ, and the flag-consuming SETcc/CMOVcc.
 * Far transfers, INT and IRET are in system-transfer files.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def, defRange } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { testCondition } from '../flags.js';
import { readRM, pushAddr, pop, pairValue } from './operands.js';
import { wrap64 } from '../cpu.js';
import { RCX } from '../constants.js';

/** Sets RIP to a near target, truncated to the operand size (16/32) as the SDM says. */
export function jumpTo(c: X86Cpu, target: number, osize: number): void {
  c.rip = osize === 8 ? wrap64(target) : osize === 4 ? target >>> 0 : target & 0xffff;
}

function jcc(c: X86Cpu, i: Insn): void {
  if (testCondition(c.lf, i.opcode & 0xf)) jumpTo(c, c.rip + i.imm, i.osize);
}
function jmpRel(c: X86Cpu, i: Insn): void { jumpTo(c, c.rip + i.imm, i.osize); }
function callRel(c: X86Cpu, i: Insn): void {
  const target = c.rip + i.imm;
  pushAddr(c, i.osize, c.rip);
  jumpTo(c, target, i.osize);
}
function readTarget(c: X86Cpu, i: Insn): number {
  const v = readRM(c, i, i.osize);
  return i.osize === 8 ? pairValue(v, c.hi) : v >>> 0;
}
function jmpInd(c: X86Cpu, i: Insn): void { jumpTo(c, readTarget(c, i), i.osize); }
function callInd(c: X86Cpu, i: Insn): void {
  const t = readTarget(c, i);
  pushAddr(c, i.osize, c.rip);
  jumpTo(c, t, i.osize);
}
function retNear(c: X86Cpu, i: Insn): void {
  const spBefore = c.spValue();
  const v = pop(c, i.osize);
  const t = i.osize === 8 ? pairValue(v, c.hi) : v >>> 0;
  if (i.opcode === 0xc2) {
    const sp = c.spValue() + (i.imm & 0xffff);
    c.setSp(c.stackSize === 8 ? sp : c.stackSize === 4 ? sp >>> 0 : sp & 0xffff);
  }
  if (c.mode64 && (t < -140737488355328 || t >= 140737488355328)) { c.setSp(spBefore); c.gp(0); }
  jumpTo(c, t, i.osize);
}

/** Count register per address size: CX, ECX or RCX. */
function decCount(c: X86Cpu, i: Insn): boolean {
  if (i.asize === 8) {
    let lo = c.reg32(RCX), hi = c.regHi(RCX);
    if (lo === 0) hi = (hi - 1) | 0;
    lo = (lo - 1) | 0;
    c.setReg64(RCX, lo, hi);
    return lo !== 0 || hi !== 0;
  }
  if (i.asize === 4) { const v = (c.reg32(RCX) - 1) | 0; c.setReg32(RCX, v); return v !== 0; }
  const v = (c.reg16(RCX) - 1) & 0xffff; c.setReg16(RCX, v); return v !== 0;
}
function countZero(c: X86Cpu, i: Insn): boolean {
  if (i.asize === 8) return c.reg32(RCX) === 0 && c.regHi(RCX) === 0;
  if (i.asize === 4) return c.reg32(RCX) === 0;
  return c.reg16(RCX) === 0;
}
function loop(c: X86Cpu, i: Insn): void {
  const target = c.rip + i.imm;
  // Target is computed before RCX changes; a #GP on an out-of-range target leaves RCX as decremented
  // on real hardware only after the check, so check first.
  const nz = decCount(c, i);
  let take = nz;
  if (i.opcode === 0xe0) take = nz && !testCondition(c.lf, 4);
  else if (i.opcode === 0xe1) take = nz && testCondition(c.lf, 4);
  if (take) jumpTo(c, target, i.osize);
}
function jcxz(c: X86Cpu, i: Insn): void {
  if (countZero(c, i)) jumpTo(c, c.rip + i.imm, i.osize);
}
function setcc(c: X86Cpu, i: Insn): void {
  const v = testCondition(c.lf, i.opcode & 0xf) ? 1 : 0;
  if (i.mod === 3) c.setReg8(i.rm, i.rex, v);
  else c.wr8(c.addrW(i, 1), v);
}
function cmovcc(c: X86Cpu, i: Insn): void {
  const v = readRM(c, i, i.osize);
  const vH = c.hi;
  if (testCondition(c.lf, i.opcode & 0xf)) c.setReg(i.reg, i.osize, i.rex, v, vH);
  else if (i.osize === 4) c.setReg32(i.reg, c.reg32(i.reg)); // 32-bit CMOV zero-extends even when false
}

defRange(0, 0x70, 16, { name: 'jcc rel8', flags: F_END }, jcc);
defRange(1, 0x80, 16, { name: 'jcc rel32', flags: F_END }, jcc);
def(0, 0xeb, { name: 'jmp rel8', flags: F_END }, jmpRel);
def(0, 0xe9, { name: 'jmp rel32', flags: F_END }, jmpRel);
def(0, 0xe8, { name: 'call rel32', flags: F_END }, callRel);
def(0, 0xff, { name: 'call Ev', reg: 2, flags: F_END }, callInd);
def(0, 0xff, { name: 'jmp Ev', reg: 4, flags: F_END }, jmpInd);
def(0, 0xc3, { name: 'ret', flags: F_END }, retNear);
def(0, 0xc2, { name: 'ret imm16', flags: F_END }, retNear);
def(0, 0xe0, { name: 'loopne', flags: F_END }, loop);
def(0, 0xe1, { name: 'loope', flags: F_END }, loop);
def(0, 0xe2, { name: 'loop', flags: F_END }, loop);
def(0, 0xe3, { name: 'jcxz/jecxz/jrcxz', flags: F_END }, jcxz);
defRange(1, 0x90, 16, { name: 'setcc' }, setcc);
defRange(1, 0x40, 16, { name: 'cmovcc' }, cmovcc);

