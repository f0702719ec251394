/**
 * Port I/O: IN/OUT and the protection check shared with INS/OUTS (IOPL, then the TSS I/O
 * permission bitmap in protected and V86 mode).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { TR, VM, ATTR_P } from '../constants.js';
import type { IoSize } from '../../../processor.js';

/** Raises #GP(0) unless the current privilege may access `size` ports at `port`. */
export function checkIo(c: X86Cpu, port: number, size: number): void {
  if ((c.cr0 & 1) === 0) return;
  const iopl = (c.eflags >> 12) & 3;
  if ((c.eflags & VM) === 0 && c.cpl <= iopl) return;
  // Consult the I/O bitmap of a 32/64-bit TSS: the base is the word at offset 0x66.
  const attr = c.segAttr[TR]!;
  if ((attr & ATTR_P) === 0 || (attr & 0xf) < 9) c.gp(0);
  const limit = c.segLimit[TR]!;
  if (limit < 0x67) c.gp(0);
  const base = c.segBase[TR]!;
  const mapBase = c.rdSys(base + 0x66, 2);
  const byteOff = mapBase + (port >>> 3);
  if (byteOff + 1 > limit) c.gp(0);
  const bits = c.rdSys(base + byteOff, 2);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) c.gp(0);
}

function inHandler(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize === 2 ? 2 : 4;
  const port = (i.opcode & 8) !== 0 ? c.reg16(2) : i.imm & 0xff;
  checkIo(c, port, size);
  const v = c.io.ioRead(port, size as IoSize);
  if (size === 1) c.setReg8(0, 1, v & 0xff);
  else if (size === 2) c.setReg16(0, v);
  else c.setReg32(0, v | 0);
  c.stopBlock = true;
}

function outHandler(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize === 2 ? 2 : 4;
  const port = (i.opcode & 8) !== 0 ? c.reg16(2) : i.imm & 0xff;
  checkIo(c, port, size);
  const v = size === 1 ? c.reg8(0, 1) : size === 2 ? c.reg16(0) : c.reg32(0) >>> 0;
  c.io.ioWrite(port, size as IoSize, v);
  // A device may have raised an interrupt or asked to stop: end the block so it is seen promptly.
  c.stopBlock = true;
}

def(0, 0xe4, { name: 'in AL,Ib', flags: F_END }, inHandler);
def(0, 0xe5, { name: 'in eAX,Ib', flags: F_END }, inHandler);
def(0, 0xec, { name: 'in AL,DX', flags: F_END }, inHandler);
def(0, 0xed, { name: 'in eAX,DX', flags: F_END }, inHandler);
def(0, 0xe6, { name: 'out Ib,AL', flags: F_END }, outHandler);
def(0, 0xe7, { name: 'out Ib,eAX', flags: F_END }, outHandler);
def(0, 0xee, { name: 'out DX,AL', flags: F_END }, outHandler);
def(0, 0xef, { name: 'out DX,eAX', flags: F_END }, outHandler);
