/**
 * Privilege-sensitive flag instructions: CLI/STI (with the STI shadow), PUSHF/POPF (IOPL and VM
 * rules), HLT.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END, F_SHADOW } from '../insn.js';
import { push, pop } from './operands.js';
import { IF, VM, RF, IOPL, AC, ID, NT, TF, DF, VIF, VIP, ARITH_FLAGS } from '../constants.js';
import { setArithFlags } from '../flags.js';

function iopl(c: X86Cpu): number { return (c.eflags >> 12) & 3; }

function cli(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl > iopl(c)) c.gp(0);
  c.eflags &= ~IF;
}

function sti(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl > iopl(c)) c.gp(0);
  if ((c.eflags & IF) === 0) {
    c.eflags |= IF;
    // Interrupts are recognised only after the next instruction.
    c.shadowUntil = c.icount;
  }
  c.stopBlock = true;
}

function pushf(c: X86Cpu, i: Insn): void {
  if ((c.eflags & VM) !== 0 && iopl(c) < 3) c.gp(0);
  const f = c.getFlags() & ~(VM | RF);
  push(c, i.osize, i.osize === 2 ? f & 0xffff : f, 0);
}

function popf(c: X86Cpu, i: Insn): void {
  if ((c.eflags & VM) !== 0 && iopl(c) < 3) c.gp(0);
  const v = pop(c, i.osize);
  const old = c.getFlags();
  let changeable = ARITH_FLAGS | TF | DF | NT | AC | ID;
  if ((c.cr0 & 1) === 0 || c.cpl === 0) changeable |= IOPL | IF;
  else if (c.cpl <= iopl(c)) changeable |= IF;
  if ((c.eflags & VM) !== 0) changeable = (changeable | IF) & ~IOPL;
  if (i.osize === 2) changeable &= 0xffff;
  // VM, RF, VIF, VIP are never set by POPF; RF is cleared.
  const next = ((old & ~changeable) | (v & changeable)) & ~RF & ~(VIF | VIP) | (old & (VIF | VIP | VM));
  setArithFlags(c.lf, next);
  const ifWasOff = (c.eflags & IF) === 0;
  c.eflags = (next & ~ARITH_FLAGS) | 2;
  if (ifWasOff && (c.eflags & IF) !== 0) c.shadowUntil = c.icount;
  if (((old ^ next) & AC) !== 0) c.updateMode();
  c.stopBlock = true;
}

function hlt(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl !== 0) c.gp(0);
  c.halted = true;
  c.stopBlock = true;
}

def(0, 0xfa, { name: 'cli', flags: F_END }, cli);
def(0, 0xfb, { name: 'sti', flags: F_END | F_SHADOW }, sti);
def(0, 0x9c, { name: 'pushf' }, pushf);
def(0, 0x9d, { name: 'popf', flags: F_END }, popf);
def(0, 0xf4, { name: 'hlt', flags: F_END }, hlt);
