/**
 * String instructions MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE for 16-, 32- and
 * 64-bit address sizes. A repeated instruction runs a bounded number of iterations per dispatch and
 * then re-executes itself (RIP stays on it), so interrupts and device events are seen in between and
 * a fault leaves RSI/RDI/RCX describing exactly the iterations done.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { aluAny, OP_CMP } from './alu-core.js';
import { getZF } from '../flags.js';
import { checkIo } from './system-io.js';
import { DF, ES, DS, RCX, RSI, RDI, RAX, RDX } from '../constants.js';
import type { IoSize } from '../../../processor.js';

const BURST = 4096;

function getA(c: X86Cpu, r: number, asize: number): number {
  return asize === 8 ? c.regValue(r) : asize === 4 ? c.reg32(r) >>> 0 : c.reg16(r);
}
function setA(c: X86Cpu, r: number, asize: number, v: number): void {
  if (asize === 8) c.setAddr64(r, v);
  else if (asize === 4) c.setReg32(r, v | 0);
  else c.setReg16(r, v);
}
function advance(c: X86Cpu, r: number, asize: number, delta: number): void {
  const v = getA(c, r, asize) + delta;
  setA(c, r, asize, asize === 8 ? v : asize === 4 ? v >>> 0 : v & 0xffff);
}
function countIsZero(c: X86Cpu, asize: number): boolean {
  return asize === 8 ? c.reg32(RCX) === 0 && c.regHi(RCX) === 0 : getA(c, RCX, asize) === 0;
}
function decCount(c: X86Cpu, asize: number): void {
  if (asize === 8) {
    const lo = c.reg32(RCX);
    c.setReg64(RCX, (lo - 1) | 0, lo === 0 ? (c.regHi(RCX) - 1) | 0 : c.regHi(RCX));
  } else advance(c, RCX, asize, -1);
}

function srcAddr(c: X86Cpu, i: Insn, size: number): number {
  return c.linear(i.seg >= 0 ? i.seg : DS, getA(c, RSI, i.asize), size);
}
function dstAddr(c: X86Cpu, i: Insn, size: number, write = true): number {
  return c.linear(ES, getA(c, RDI, i.asize), size, write);
}

function sizeOfString(i: Insn): number { return (i.opcode & 1) === 0 ? 1 : i.osize; }

type Body = (c: X86Cpu, i: Insn, size: number, d: number) => void;

/** Runs `body` once, or under REP up to BURST times; re-arms RIP when not done. No allocation. */
function repeat(c: X86Cpu, i: Insn, compare: boolean, body: Body, size: number): void {
  const d = (c.eflags & DF) !== 0 ? -size : size;
  if (i.rep === 0) { body(c, i, size, d); return; }
  for (let n = 0; n < BURST; n++) {
    if (countIsZero(c, i.asize)) return;
    body(c, i, size, d);
    decCount(c, i.asize);
    if (compare) {
      const zf = getZF(c.lf);
      if ((i.rep === 1 && !zf) || (i.rep === 2 && zf)) return;
    }
  }
  if (!countIsZero(c, i.asize)) { c.rip = c.insnStart; c.stopBlock = true; }
}

function movsOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const v = c.rd(srcAddr(c, i, size), size);
  c.wr(dstAddr(c, i, size), size, v, c.hi);
  advance(c, RSI, i.asize, d);
  advance(c, RDI, i.asize, d);
}
function cmpsOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const a = c.rd(srcAddr(c, i, size), size);
  const aH = c.hi;
  const b = c.rd(dstAddr(c, i, size, false), size);
  aluAny(c, OP_CMP, size, a, aH, b, c.hi);
  advance(c, RSI, i.asize, d);
  advance(c, RDI, i.asize, d);
}
function stosOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const v = c.getReg(RAX, size, 1);
  c.wr(dstAddr(c, i, size), size, v, c.hi);
  advance(c, RDI, i.asize, d);
}
function lodsOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const v = c.rd(srcAddr(c, i, size), size);
  c.setReg(RAX, size, 1, v, c.hi);
  advance(c, RSI, i.asize, d);
}
function scasOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const a = c.getReg(RAX, size, 1);
  const aH = c.hi;
  const b = c.rd(dstAddr(c, i, size, false), size);
  aluAny(c, OP_CMP, size, a, aH, b, c.hi);
  advance(c, RDI, i.asize, d);
}
function insOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const la = dstAddr(c, i, size);
  c.probeWrite(la, size);
  c.wr(la, size, c.io.ioRead(c.reg16(RDX), size as IoSize), 0);
  advance(c, RDI, i.asize, d);
}
function outsOnce(c: X86Cpu, i: Insn, size: number, d: number): void {
  const v = c.rd(srcAddr(c, i, size), size);
  c.io.ioWrite(c.reg16(RDX), size as IoSize, size === 4 ? v >>> 0 : v);
  advance(c, RSI, i.asize, d);
}

function ioSize(i: Insn): number { return (i.opcode & 1) === 0 ? 1 : i.osize === 2 ? 2 : 4; }

function movs(c: X86Cpu, i: Insn): void { repeat(c, i, false, movsOnce, sizeOfString(i)); }
function cmps(c: X86Cpu, i: Insn): void { repeat(c, i, true, cmpsOnce, sizeOfString(i)); }
function stos(c: X86Cpu, i: Insn): void { repeat(c, i, false, stosOnce, sizeOfString(i)); }
function lods(c: X86Cpu, i: Insn): void { repeat(c, i, false, lodsOnce, sizeOfString(i)); }
function scas(c: X86Cpu, i: Insn): void { repeat(c, i, true, scasOnce, sizeOfString(i)); }
function ins(c: X86Cpu, i: Insn): void {
  checkIo(c, c.reg16(RDX), ioSize(i));
  repeat(c, i, false, insOnce, ioSize(i));
  c.stopBlock = true;
}
function outs(c: X86Cpu, i: Insn): void {
  checkIo(c, c.reg16(RDX), ioSize(i));
  repeat(c, i, false, outsOnce, ioSize(i));
  c.stopBlock = true;
}

// REP forms end their block so that a partially done repetition re-dispatches from RIP.
const SF = { flags: F_END };
def(0, 0xa4, { name: 'movsb', ...SF }, movs);
def(0, 0xa5, { name: 'movs', ...SF }, movs);
def(0, 0xa6, { name: 'cmpsb', ...SF }, cmps);
def(0, 0xa7, { name: 'cmps', ...SF }, cmps);
def(0, 0xaa, { name: 'stosb', ...SF }, stos);
def(0, 0xab, { name: 'stos', ...SF }, stos);
def(0, 0xac, { name: 'lodsb', ...SF }, lods);
def(0, 0xad, { name: 'lods', ...SF }, lods);
def(0, 0xae, { name: 'scasb', ...SF }, scas);
def(0, 0xaf, { name: 'scas', ...SF }, scas);
def(0, 0x6c, { name: 'insb', ...SF }, ins);
def(0, 0x6d, { name: 'ins', ...SF }, ins);
def(0, 0x6e, { name: 'outsb', ...SF }, outs);
def(0, 0x6f, { name: 'outs', ...SF }, outs);
