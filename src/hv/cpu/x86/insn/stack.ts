/**
 * Stack instructions: PUSH/POP of registers, immediates, memory and segment registers,
 * PUSHA/POPA, ENTER/LEAVE.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def, defRange } from '../opcode-table.js';
import { F_END, F_SHADOW } from '../insn.js';
import { push, pop, peek } from './operands.js';
import { loadDataSeg } from '../segments.js';
import { SS, RSP, RBP, TWO32 } from '../constants.js';

function pushReg(c: X86Cpu, i: Insn): void {
  const r = (i.opcode & 7) | ((i.rex & 1) << 3);
  const v = c.getReg(r, i.osize, 1);
  push(c, i.osize, v, c.hi);
}

function popReg(c: X86Cpu, i: Insn): void {
  const r = (i.opcode & 7) | ((i.rex & 1) << 3);
  const v = pop(c, i.osize);
  c.setReg(r, i.osize, 1, v, c.hi);
}

function pushImm(c: X86Cpu, i: Insn): void {
  push(c, i.osize, i.osize === 2 ? i.imm & 0xffff : i.imm, i.imm >> 31);
}

function pushRM(c: X86Cpu, i: Insn): void { // FF /6
  const size = i.osize;
  const v = i.mod === 3 ? c.getReg(i.rm, size, i.rex) : c.rd(c.addr(i, size), size);
  push(c, size, v, c.hi);
}

/** POP r/m: the value is read first; a memory destination using RSP is computed after the increment. */
function popRM(c: X86Cpu, i: Insn): void { // 8F /0
  const size = i.osize;
  const v = peek(c, 0, size);
  const vH = c.hi;
  const oldSp = c.regValue(RSP);
  const sp = c.spValue() + size;
  c.setSp(c.stackSize === 8 ? sp : c.stackSize === 4 ? sp >>> 0 : sp & 0xffff);
  try {
    if (i.mod === 3) c.setReg(i.rm, size, i.rex, v, vH);
    else c.wr(c.addrW(i, size), size, v, vH);
  } catch (e) {
    c.setAddr64(RSP, oldSp);
    throw e;
  }
}

function pushSeg(seg: number) {
  return (c: X86Cpu, i: Insn): void => {
    if (c.mode64 && seg < 4) c.ud();
    // A segment push of 32/64 bits writes only the low 16 bits on recent processors; write the
    // zero-extended selector, which matches the host for the stack slot contents we compare.
    push(c, i.osize, c.segSel[seg]!, 0);
  };
}

function popSeg(seg: number) {
  return (c: X86Cpu, i: Insn): void => {
    if (c.mode64 && seg < 4) c.ud();
    const v = peek(c, 0, i.osize) & 0xffff;
    loadDataSeg(c, seg, v);
    const sp = c.spValue() + i.osize;
    c.setSp(c.stackSize === 8 ? sp : c.stackSize === 4 ? sp >>> 0 : sp & 0xffff);
    if (seg === SS) { c.shadowUntil = c.icount; c.ssShadow = true; }
    c.stopBlock = true;
  };
}

function pusha(c: X86Cpu, i: Insn): void {
  if (c.mode64) c.ud();
  const size = i.osize;
  const sp = size === 4 ? c.reg32(RSP) : c.reg16(RSP);
  // Check the whole frame first so a fault leaves ESP unchanged.
  for (let k = 1; k <= 8; k++) {
    const off = c.stackSize === 4 ? (c.spValue() - k * size) >>> 0 : (c.spValue() - k * size) & 0xffff;
    c.probeWrite(c.linear(SS, off, size, true), size);
  }
  for (let r = 0; r < 8; r++) push(c, size, r === RSP ? sp : c.getReg(r, size, 1), 0);
}

function popa(c: X86Cpu, i: Insn): void {
  if (c.mode64) c.ud();
  const size = i.osize;
  // Read the highest slot first: if any of the eight reads faults, nothing has been written yet.
  peek(c, 7 * size, size);
  for (let r = 7; r >= 0; r--) if (r !== RSP) c.setReg(r, size, 1, peek(c, (7 - r) * size, size), 0);
  const sp = c.spValue() + 8 * size;
  c.setSp(c.stackSize === 4 ? sp >>> 0 : sp & 0xffff);
}

/** A stack offset wrapped to the current stack size. */
function stackOff(c: X86Cpu, v: number): number {
  return c.stackSize === 8 ? v : c.stackSize === 4 ? v >>> 0 : v & 0xffff;
}

/**
 * ENTER works on a local stack pointer and commits RSP/RBP only at the end, so a fault while
 * copying the display leaves both registers as they were (the instruction restarts cleanly).
 */
function enter(c: X86Cpu, i: Insn): void {
  const size = i.osize;
  const alloc = i.imm & 0xffff;
  const level = i.imm2 & 31;
  const bpSize = c.stackSize;
  const oldBp = c.getReg(RBP, size, 1);
  let sp = stackOff(c, c.spValue() - size);
  c.wr(c.linear(SS, sp, size, true), size, oldBp, c.hi);
  const frame = sp;
  if (level > 0) {
    let bp = bpSize === 8 ? c.regValue(RBP) : bpSize === 4 ? c.reg32(RBP) >>> 0 : c.reg16(RBP);
    for (let k = 1; k < level; k++) {
      bp -= size;
      const v = c.rd(c.linear(SS, stackOff(c, bp), size), size);
      const vH = c.hi;
      sp = stackOff(c, sp - size);
      c.wr(c.linear(SS, sp, size, true), size, v, vH);
    }
    sp = stackOff(c, sp - size);
    const la = c.linear(SS, sp, size, true);
    if (size === 8) { const hi = Math.floor(frame / TWO32); c.wr(la, 8, (frame - hi * TWO32) | 0, hi | 0); }
    else c.wr(la, size, frame, 0);
  }
  if (size === 8) c.setAddr64(RBP, frame);
  else if (size === 4) c.setReg32(RBP, frame | 0);
  else c.setReg16(RBP, frame);
  c.setSp(stackOff(c, sp - alloc));
}

function leave(c: X86Cpu, i: Insn): void {
  // RSP <- RBP (stack-size wide), then POP RBP (operand size).
  const bp = c.stackSize === 8 ? c.regValue(RBP) : c.stackSize === 4 ? c.reg32(RBP) >>> 0 : c.reg16(RBP);
  const v = c.rd(c.linear(SS, bp, i.osize), i.osize);
  const vH = c.hi;
  c.setSp(bp + i.osize);
  c.setReg(RBP, i.osize, 1, v, vH);
}

defRange(0, 0x50, 8, { name: 'push r' }, pushReg);
defRange(0, 0x58, 8, { name: 'pop r' }, popReg);
def(0, 0x68, { name: 'push Iz' }, pushImm);
def(0, 0x6a, { name: 'push Ib' }, pushImm);
def(0, 0xff, { name: 'push Ev', reg: 6 }, pushRM);
def(0, 0x8f, { name: 'pop Ev', reg: 0 }, popRM);
def(0, 0x06, { name: 'push es' }, pushSeg(0));
def(0, 0x0e, { name: 'push cs' }, pushSeg(1));
def(0, 0x16, { name: 'push ss' }, pushSeg(2));
def(0, 0x1e, { name: 'push ds' }, pushSeg(3));
def(1, 0xa0, { name: 'push fs' }, pushSeg(4));
def(1, 0xa8, { name: 'push gs' }, pushSeg(5));
def(0, 0x07, { name: 'pop es', flags: F_END }, popSeg(0));
def(0, 0x17, { name: 'pop ss', flags: F_END | F_SHADOW }, popSeg(2));
def(0, 0x1f, { name: 'pop ds', flags: F_END }, popSeg(3));
def(1, 0xa1, { name: 'pop fs', flags: F_END }, popSeg(4));
def(1, 0xa9, { name: 'pop gs', flags: F_END }, popSeg(5));
def(0, 0x60, { name: 'pusha' }, pusha);
def(0, 0x61, { name: 'popa' }, popa);
def(0, 0xc8, { name: 'enter' }, enter);
def(0, 0xc9, { name: 'leave' }, leave);
