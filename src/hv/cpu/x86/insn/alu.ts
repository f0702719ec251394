/**
 * ALU instructions: the 00-3F rows, group 1 (80-83), TEST, INC/DEC, NOT/NEG.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def, defRange } from '../opcode-table.js';
import { F_LOCKABLE } from '../insn.js';
import { aluAny, OP_CMP, OP_ADD, OP_SUB, OP_AND } from './alu-core.js';
import { sizeOf, mask } from './operands.js';
import { LF_INC, LF_DEC, getCF } from '../flags.js';

const ALU_NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** dst(r/m) op= src for any size; `sL`/`sH` is the source value. */
function aluToRM(c: X86Cpu, i: Insn, op: number, size: number, sL: number, sH: number): void {
  if (i.mod === 3) {
    const d = c.getReg(i.rm, size, i.rex);
    const dH = c.hi;
    const r = aluAny(c, op, size, d, dH, sL, sH);
    if (op !== OP_CMP) c.setReg(i.rm, size, i.rex, r, c.hi);
    return;
  }
  const la = op === OP_CMP ? c.addr(i, size) : c.addrRMW(i, size);
  const d = c.rd(la, size);
  const dH = c.hi;
  if (op === OP_CMP) { aluAny(c, op, size, d, dH, sL, sH); return; }
  const r = aluAny(c, op, size, d, dH, sL, sH);
  c.wr(la, size, r, c.hi);
}

/** 00-3B: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev. */
function aluModrm(c: X86Cpu, i: Insn): void {
  const op = (i.opcode >> 3) & 7;
  const size = sizeOf(i);
  if ((i.opcode & 2) === 0) {
    const s = c.getReg(i.reg, size, i.rex);
    aluToRM(c, i, op, size, s, c.hi);
  } else {
    const d = c.getReg(i.reg, size, i.rex);
    const dH = c.hi;
    let s: number;
    if (i.mod === 3) s = c.getReg(i.rm, size, i.rex);
    else s = c.rd(c.addr(i, size), size);
    const sH = c.hi;
    const r = aluAny(c, op, size, d, dH, s, sH);
    if (op !== OP_CMP) c.setReg(i.reg, size, i.rex, r, c.hi);
  }
}

/** 04/05 etc.: op AL/eAX, imm. */
function aluAccImm(c: X86Cpu, i: Insn): void {
  const op = (i.opcode >> 3) & 7;
  const size = sizeOf(i);
  const d = c.getReg(0, size, 1);
  const dH = c.hi;
  const s = i.imm & mask(size);
  const r = aluAny(c, op, size, d, dH, s, i.imm >> 31);
  if (op !== OP_CMP) c.setReg(0, size, 1, r, c.hi);
}

/** 80/81/83 group 1: op Eb,Ib / Ev,Iz / Ev,Ib(sign-extended). */
function group1(c: X86Cpu, i: Insn): void {
  const size = i.opcode === 0x80 || i.opcode === 0x82 ? 1 : i.osize;
  aluToRM(c, i, i.reg & 7, size, i.imm & mask(size), i.imm >> 31);
}

/** 84/85 TEST r/m, r; A8/A9 TEST acc, imm; F6/F7 /0 TEST r/m, imm. */
function testRM(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const d = i.mod === 3 ? c.getReg(i.rm, size, i.rex) : c.rd(c.addr(i, size), size);
  const dH = c.hi;
  const s = c.getReg(i.reg, size, i.rex);
  aluAny(c, OP_AND, size, d, dH, s, c.hi);
}
function testAcc(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const d = c.getReg(0, size, 1);
  aluAny(c, OP_AND, size, d, c.hi, i.imm & mask(size), i.imm >> 31);
}
function testImm(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const d = i.mod === 3 ? c.getReg(i.rm, size, i.rex) : c.rd(c.addr(i, size), size);
  aluAny(c, OP_AND, size, d, c.hi, i.imm & mask(size), i.imm >> 31);
}

/** INC/DEC keep CF: the lazy record carries the old CF in aux. */
function incDec(c: X86Cpu, i: Insn, size: number, dec: boolean, rmForm: boolean): void {
  const oldCF = getCF(c.lf) ? 1 : 0;
  const reg = rmForm ? i.rm : (i.opcode & 7);
  let la = 0;
  let d: number;
  if (rmForm && i.mod !== 3) { la = c.addrRMW(i, size); d = c.rd(la, size); }
  else d = c.getReg(reg, size, rmForm ? i.rex : 1);
  const dH = c.hi;
  const r = aluAny(c, dec ? OP_SUB : OP_ADD, size, d, dH, 1, 0);
  const rH = c.hi;
  if (rmForm && i.mod !== 3) c.wr(la, size, r, rH);
  else c.setReg(reg, size, rmForm ? i.rex : 1, r, rH);
  c.lf.op = dec ? LF_DEC : LF_INC;
  c.lf.aux = oldCF;
}

function notNeg(c: X86Cpu, i: Insn): void {
  const size = sizeOf(i);
  const neg = (i.reg & 7) === 3;
  let la = 0;
  let d: number;
  if (i.mod !== 3) { la = c.addrRMW(i, size); d = c.rd(la, size); }
  else d = c.getReg(i.rm, size, i.rex);
  const dH = c.hi;
  let r: number, rH: number;
  if (neg) {
    r = aluAny(c, OP_SUB, size, 0, 0, d, dH);
    rH = c.hi;
    if (i.mod !== 3) { c.wr(la, size, r, rH); return; }
  } else {
    r = ~d & mask(size); rH = ~dH;
    if (size === 4) r = ~d;
    if (i.mod !== 3) { c.wr(la, size, r, rH); return; }
  }
  c.setReg(i.rm, size, i.rex, r, rH);
}

for (let op = 0; op < 8; op++) {
  const base = op << 3;
  const lockable = op === 7 ? 0 : F_LOCKABLE;
  def(0, base, { name: ALU_NAMES[op]! + ' Eb,Gb', flags: lockable }, aluModrm);
  def(0, base + 1, { name: ALU_NAMES[op]! + ' Ev,Gv', flags: lockable }, aluModrm);
  def(0, base + 2, { name: ALU_NAMES[op]! + ' Gb,Eb' }, aluModrm);
  def(0, base + 3, { name: ALU_NAMES[op]! + ' Gv,Ev' }, aluModrm);
  def(0, base + 4, { name: ALU_NAMES[op]! + ' AL,Ib' }, aluAccImm);
  def(0, base + 5, { name: ALU_NAMES[op]! + ' eAX,Iz' }, aluAccImm);
  for (const opc of [0x80, 0x81, 0x83]) def(0, opc, { name: ALU_NAMES[op]! + ' grp1', reg: op, flags: lockable }, group1);
  def(0, 0x82, { name: ALU_NAMES[op]! + ' grp1 (82)', reg: op, flags: lockable }, (c, i) => { if (c.mode64) c.ud(); group1(c, i); });
}
def(0, 0x84, { name: 'test Eb,Gb' }, testRM);
def(0, 0x85, { name: 'test Ev,Gv' }, testRM);
def(0, 0xa8, { name: 'test AL,Ib' }, testAcc);
def(0, 0xa9, { name: 'test eAX,Iz' }, testAcc);
def(0, 0xf6, { name: 'test Eb,Ib', reg: 0 }, testImm);
def(0, 0xf7, { name: 'test Ev,Iz', reg: 0 }, testImm);
def(0, 0xf6, { name: 'test Eb,Ib (alias)', reg: 1 }, testImm);
def(0, 0xf7, { name: 'test Ev,Iz (alias)', reg: 1 }, testImm);
def(0, 0xf6, { name: 'not Eb', reg: 2, flags: F_LOCKABLE }, notNeg);
def(0, 0xf7, { name: 'not Ev', reg: 2, flags: F_LOCKABLE }, notNeg);
def(0, 0xf6, { name: 'neg Eb', reg: 3, flags: F_LOCKABLE }, notNeg);
def(0, 0xf7, { name: 'neg Ev', reg: 3, flags: F_LOCKABLE }, notNeg);
// 40-4F are REX prefixes in 64-bit mode; the decoder never produces these opcodes there.
defRange(0, 0x40, 8, { name: 'inc r' }, (c, i) => incDec(c, i, i.osize, false, false));
defRange(0, 0x48, 8, { name: 'dec r' }, (c, i) => incDec(c, i, i.osize, true, false));
def(0, 0xfe, { name: 'inc Eb', reg: 0, flags: F_LOCKABLE }, (c, i) => { incDec(c, i, 1, false, true); });
def(0, 0xfe, { name: 'dec Eb', reg: 1, flags: F_LOCKABLE }, (c, i) => { incDec(c, i, 1, true, true); });
def(0, 0xff, { name: 'inc Ev', reg: 0, flags: F_LOCKABLE }, (c, i) => { incDec(c, i, i.osize, false, true); });
def(0, 0xff, { name: 'dec Ev', reg: 1, flags: F_LOCKABLE }, (c, i) => { incDec(c, i, i.osize, true, true); });

