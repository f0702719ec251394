/**
 * Data movement: MOV forms, LEA, XCHG, MOVZX/MOVSX/MOVSXD, CBW family, NOP.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def, defRange } from '../opcode-table.js';
import { F_LOCKABLE, F_END, F_SHADOW } from '../insn.js';
import { sizeOf, readRM, writeRM, signExtend } from './operands.js';
import { loadDataSeg } from '../segments.js';
import { CS, SS, TWO32 } from '../constants.js';

function movRMReg(c: X86Cpu, i: Insn): void { // 88/89
  const size = sizeOf(i);
  const v = c.getReg(i.reg, size, i.rex);
  writeRM(c, i, size, v, c.hi);
}
function movRegRM(c: X86Cpu, i: Insn): void { // 8A/8B
  const size = sizeOf(i);
  const v = readRM(c, i, size);
  c.setReg(i.reg, size, i.rex, v, c.hi);
}
function movRMImm(c: X86Cpu, i: Insn): void { // C6/C7 /0
  const size = sizeOf(i);
  writeRM(c, i, size, size === 1 ? i.imm & 0xff : size === 2 ? i.imm & 0xffff : i.imm, i.imm >> 31);
}
function movRegImm(c: X86Cpu, i: Insn): void { // B0-BF
  const r = (i.opcode & 7) | ((i.rex & 1) << 3);
  if (i.opcode < 0xb8) c.setReg8(r, i.rex, i.imm & 0xff);
  else c.setReg(r, i.osize, i.rex, i.imm, i.immHi);
}
function moffsAddr(c: X86Cpu, i: Insn, size: number, write = false): number {
  const off = i.asize === 8 ? i.immHi * TWO32 + (i.imm >>> 0) : i.asize === 4 ? i.imm >>> 0 : i.imm & 0xffff;
  return c.linear(i.seg >= 0 ? i.seg : 3, i.asize === 8 ? (off >= 9223372036854775808 ? off - 18446744073709551616 : off) : off, size, write);
}
function movAccMoffs(c: X86Cpu, i: Insn): void { // A0/A1
  const size = sizeOf(i);
  const v = c.rd(moffsAddr(c, i, size), size);
  c.setReg(0, size, 1, v, c.hi);
}
function movMoffsAcc(c: X86Cpu, i: Insn): void { // A2/A3
  const size = sizeOf(i);
  const v = c.getReg(0, size, 1);
  c.wr(moffsAddr(c, i, size, true), size, v, c.hi);
}
function lea(c: X86Cpu, i: Insn): void {
  if (i.mod === 3) c.ud();
  const ea = c.ea(i);
  const lo = i.asize === 8 ? c.eaLo : ea | 0;
  if (i.osize === 8) c.setReg64(i.reg, lo, i.asize === 8 ? c.eaHi : 0);
  else if (i.osize === 4) c.setReg32(i.reg, lo);
  else c.setReg16(i.reg, lo);
}
function xchgRM(c: X86Cpu, i: Insn): void { // 86/87 (always locked with memory)
  const size = sizeOf(i);
  const r = c.getReg(i.reg, size, i.rex);
  const rH = c.hi;
  if (i.mod === 3) {
    const v = c.getReg(i.rm, size, i.rex);
    const vH = c.hi;
    c.setReg(i.rm, size, i.rex, r, rH);
    c.setReg(i.reg, size, i.rex, v, vH);
    return;
  }
  const la = c.addrRMW(i, size);
  const v = c.rd(la, size);
  const vH = c.hi;
  c.wr(la, size, r, rH);
  c.setReg(i.reg, size, i.rex, v, vH);
}
function xchgAcc(c: X86Cpu, i: Insn): void { // 91-97 (90 with REX.B is XCHG r8)
  const r = (i.opcode & 7) | ((i.rex & 1) << 3);
  if (r === 0) {
    // 90 is NOP, except that 32-bit "xchg eax, eax" does not zero-extend in 64-bit mode (it is NOP).
    return;
  }
  const size = i.osize;
  const a = c.getReg(0, size, 1), aH = c.hi;
  const b = c.getReg(r, size, 1), bH = c.hi;
  c.setReg(0, size, 1, b, bH);
  c.setReg(r, size, 1, a, aH);
}
function movzx(c: X86Cpu, i: Insn): void { // 0F B6/B7
  const src = i.opcode === 0xb6 ? 1 : 2;
  const v = readRM(c, i, src);
  c.setReg(i.reg, i.osize, i.rex, v, 0);
}
function movsx(c: X86Cpu, i: Insn): void { // 0F BE/BF
  const src = i.opcode === 0xbe ? 1 : 2;
  const v = signExtend(readRM(c, i, src), src);
  c.setReg(i.reg, i.osize, i.rex, i.osize === 2 ? v & 0xffff : v, v >> 31);
}
function cbw(c: X86Cpu, i: Insn): void { // 98: CBW/CWDE/CDQE
  if (i.osize === 2) c.setReg16(0, ((c.reg8(0, 1) << 24) >> 24) & 0xffff);
  else if (i.osize === 4) c.setReg32(0, (c.reg16(0) << 16) >> 16);
  else { const v = c.reg32(0); c.setReg64(0, v, v >> 31); }
}
function cwd(c: X86Cpu, i: Insn): void { // 99: CWD/CDQ/CQO
  if (i.osize === 2) c.setReg16(2, (c.reg16(0) & 0x8000) !== 0 ? 0xffff : 0);
  else if (i.osize === 4) c.setReg32(2, c.reg32(0) >> 31);
  else { const s = c.regHi(0) >> 31; c.setReg64(2, s, s); }
}
function movFromSreg(c: X86Cpu, i: Insn): void { // 8C
  const s = i.reg & 7;
  if (s > 5) c.ud();
  const v = c.segSel[s]!;
  if (i.mod === 3) c.setReg(i.rm, i.osize, i.rex, v, 0);
  else c.wr16(c.addrW(i, 2), v);
}
function movToSreg(c: X86Cpu, i: Insn): void { // 8E
  const s = i.reg & 7;
  if (s === CS || s > 5) c.ud();
  const v = readRM(c, i, 2);
  loadDataSeg(c, s, v);
  if (s === SS) { c.shadowUntil = c.icount; c.ssShadow = true; }
  c.stopBlock = true;
}

def(0, 0x88, { name: 'mov Eb,Gb' }, movRMReg);
def(0, 0x89, { name: 'mov Ev,Gv' }, movRMReg);
def(0, 0x8a, { name: 'mov Gb,Eb' }, movRegRM);
def(0, 0x8b, { name: 'mov Gv,Ev' }, movRegRM);
def(0, 0xc6, { name: 'mov Eb,Ib', reg: 0 }, movRMImm);
def(0, 0xc7, { name: 'mov Ev,Iz', reg: 0 }, movRMImm);
defRange(0, 0xb0, 16, { name: 'mov r,imm' }, movRegImm);
def(0, 0xa0, { name: 'mov AL,moffs' }, movAccMoffs);
def(0, 0xa1, { name: 'mov eAX,moffs' }, movAccMoffs);
def(0, 0xa2, { name: 'mov moffs,AL' }, movMoffsAcc);
def(0, 0xa3, { name: 'mov moffs,eAX' }, movMoffsAcc);
def(0, 0x8d, { name: 'lea' }, lea);
def(0, 0x86, { name: 'xchg Eb,Gb', flags: F_LOCKABLE }, xchgRM);
def(0, 0x87, { name: 'xchg Ev,Gv', flags: F_LOCKABLE }, xchgRM);
defRange(0, 0x90, 8, { name: 'xchg eAX,r / nop' }, xchgAcc);
/**
 * PAUSE marks a spin-wait. With several virtual processors interleaved on one host thread, the
 * processor it waits for cannot run until this one's slice ends, so a run of PAUSEs ends the
 * slice (what VMX calls PAUSE-loop exiting). A lone processor ignores the hint.
 */
const PAUSES_BEFORE_YIELD = 16;
function pause(c: X86Cpu): void {
  if (c.cpuCount > 1 && ++c.pauseSpins >= PAUSES_BEFORE_YIELD) {
    c.pauseSpins = 0;
    c.stopRequested = true;
    c.stopBlock = true;
  }
}
def(0, 0x90, { name: 'pause', prefix: 0xf3 }, pause);
def(1, 0xb6, { name: 'movzx Gv,Eb' }, movzx);
def(1, 0xb7, { name: 'movzx Gv,Ew' }, movzx);
def(1, 0xbe, { name: 'movsx Gv,Eb' }, movsx);
def(1, 0xbf, { name: 'movsx Gv,Ew' }, movsx);
def(0, 0x98, { name: 'cbw/cwde/cdqe' }, cbw);
def(0, 0x99, { name: 'cwd/cdq/cqo' }, cwd);
def(0, 0x8c, { name: 'mov Ev,Sreg' }, movFromSreg);
def(0, 0x8e, { name: 'mov Sreg,Ew', flags: F_END | F_SHADOW }, movToSreg);
def(1, 0x1f, { name: 'nop Ev', reg: 0 }, () => { /* multi-byte NOP */ });
for (let r = 0; r < 8; r++) def(1, 0x18, { name: 'prefetch/hint nop', reg: r }, () => { /* hints */ });
for (let o = 0x19; o <= 0x1e; o++) def(1, o, { name: 'hint nop' }, () => { /* reserved-NOP space */ });
