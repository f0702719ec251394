/**
 * Operand access shared by instruction handlers: the ModRM r/m operand (register or memory) and
 * the stack. 64-bit values travel as an int32 low half (the return value) and c.hi (high half).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { SS, TWO32 } from '../constants.js';

/** Operand size of a handler whose opcode bit 0 selects byte (0) or full size (1). */
export function sizeOf(i: Insn): number {
  return (i.opcode & 1) === 0 ? 1 : i.osize;
}

/** Reads the r/m operand. For memory, the linear address is left in c's scratch via the return of addr(). */
export function readRM(c: X86Cpu, i: Insn, size: number): number {
  if (i.mod === 3) return c.getReg(i.rm, size, i.rex);
  return c.rd(c.addr(i, size), size);
}

export function writeRM(c: X86Cpu, i: Insn, size: number, lo: number, hi: number): void {
  if (i.mod === 3) c.setReg(i.rm, size, i.rex, lo, hi);
  else c.wr(c.addrW(i, size), size, lo, hi);
}

export function mask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
}

/** Sign-extends a value of `size` bytes to int32 (size 8 callers use the pair directly). */
export function signExtend(v: number, size: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

// ---- stack ----

export function push(c: X86Cpu, size: number, lo: number, hi: number): void {
  const sp = c.spValue() - size;
  const off = c.stackSize === 8 ? sp : c.stackSize === 4 ? sp >>> 0 : sp & 0xffff;
  c.wr(c.linear(SS, off, size, true), size, lo, hi);
  c.setSp(off);
}

/** Pops `size` bytes; returns the low half, high half in c.hi. Commit with c.setSp(popNext). */
export function pop(c: X86Cpu, size: number): number {
  const sp = c.spValue();
  const v = c.rd(c.linear(SS, sp, size), size);
  const hi = c.hi;
  const next = sp + size;
  c.setSp(c.stackSize === 8 ? next : c.stackSize === 4 ? next >>> 0 : next & 0xffff);
  c.hi = hi;
  return v;
}

/** Reads the stack at SP + offset without popping (RET imm, IRET, far returns read before committing). */
export function peek(c: X86Cpu, offset: number, size: number): number {
  const sp = c.spValue() + offset;
  const off = c.stackSize === 8 ? sp : c.stackSize === 4 ? sp >>> 0 : sp & 0xffff;
  return c.rd(c.linear(SS, off, size), size);
}

/** Pushes a full-width address value (RIP for CALL) of `size` bytes. */
export function pushAddr(c: X86Cpu, size: number, v: number): void {
  if (size === 8) {
    const hi = Math.floor(v / TWO32);
    push(c, 8, (v - hi * TWO32) | 0, hi | 0);
  } else push(c, size, v, 0);
}

/** Combines a 64-bit pair into a number (exact for canonical addresses). */
export function pairValue(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}
