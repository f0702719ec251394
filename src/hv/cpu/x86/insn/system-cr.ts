/**
 * Control and debug registers: MOV to/from CR0/2/3/4/8 and DR0-7, CLTS, LMSW/SMSW, INVLPG,
 * WBINVD/INVD. CR0/CR4/EFER changes switch modes (paging, long mode activation) exactly as
 * operating systems drive them.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { flushTlb, flushTlbPage } from '../mmu.js';
import {
  CR0_PE, CR0_PG, CR0_TS, CR0_ET, CR0_NW, CR0_CD, CR4_PAE, CR4_PGE, CR4_PSE, CR4_SMEP, CR4_PCIDE,
  EFER_LME, EFER_LMA, CS, ATTR_L, DB, TWO32, CR4_DE,
} from '../constants.js';
import { SUPPORTED_CR4 } from '../cpuid.js';

function requireCpl0(c: X86Cpu): void {
  if ((c.cr0 & CR0_PE) !== 0 && c.cpl !== 0) c.gp(0);
}

/** Writes CR0 with the architectural checks and mode effects. */
export function writeCr0(c: X86Cpu, value: number, hiBits: number): void {
  if (hiBits !== 0) c.gp(0);
  let v = (value | CR0_ET) >>> 0;
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) c.gp(0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) c.gp(0);
  const old = c.cr0 >>> 0;
  const pgOn = (v & CR0_PG) !== 0 && (old & CR0_PG) === 0;
  const pgOff = (v & CR0_PG) === 0 && (old & CR0_PG) !== 0;
  if (pgOn && (c.efer & EFER_LME) !== 0) {
    if ((c.cr4 & CR4_PAE) === 0) c.gp(0);
    if ((c.segAttr[CS]! & ATTR_L) !== 0) c.gp(0);
    c.efer |= EFER_LMA;
  }
  if (pgOff && (c.efer & EFER_LMA) !== 0) {
    if (c.mode64) c.gp(0);
    c.efer &= ~EFER_LMA;
  }
  v = v | 0;
  c.cr0 = v;
  c.paging = (v & CR0_PG) !== 0;
  if (((old ^ v) & (CR0_PG | CR0_PE | 0x10000)) !== 0) flushTlb(c, false);
  c.updateMode();
}

export function writeCr4(c: X86Cpu, value: number, hiBits: number): void {
  if (hiBits !== 0 || (value & ~SUPPORTED_CR4) !== 0) c.gp(0);
  if ((c.efer & EFER_LMA) !== 0 && (value & CR4_PAE) === 0) c.gp(0);
  if ((value & CR4_PCIDE) !== 0) c.gp(0);
  const old = c.cr4;
  c.cr4 = value;
  if (((old ^ value) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)) !== 0) flushTlb(c, false);
  c.stopBlock = true;
}

export function writeCr3(c: X86Cpu, lo: number, hi: number): void {
  c.cr3 = (hi & 0xfffff) * TWO32 + (lo >>> 0);
  flushTlb(c, true);
  c.stopBlock = true;
}

function readCr(c: X86Cpu, n: number): number {
  switch (n) {
    case 0: return c.cr0 >>> 0;
    case 2: return c.cr2;
    case 3: return c.cr3;
    case 4: return c.cr4;
    case 8: return c.intc !== null ? (c.intc.getTpr() >> 4) & 0xf : 0;
    default: return c.ud();
  }
}

function movFromCr(c: X86Cpu, i: Insn): void {
  requireCpl0(c);
  const n = i.reg;
  if (i.lock && n === 0) { /* LOCK MOV CR0 is AMD's CR8 alias; not advertised */ c.ud(); }
  const v = readCr(c, n);
  if (c.mode64) c.setAddr64(i.rm, v);
  else c.setReg32(i.rm, v | 0);
}

function movToCr(c: X86Cpu, i: Insn): void {
  requireCpl0(c);
  const lo = c.reg32(i.rm);
  const hi = c.mode64 ? c.regHi(i.rm) : 0;
  switch (i.reg) {
    case 0: writeCr0(c, lo, hi); break;
    case 2: c.cr2 = c.mode64 ? hi * TWO32 + (lo >>> 0) : lo >>> 0; break;
    case 3: writeCr3(c, lo, hi); break;
    case 4: writeCr4(c, lo, hi); break;
    case 8:
      if (hi !== 0 || (lo & ~0xf) !== 0) c.gp(0);
      if (c.intc !== null) c.intc.setTpr((lo & 0xf) << 4);
      break;
    default: c.ud();
  }
  c.stopBlock = true;
}

function drIndex(c: X86Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((c.cr4 & CR4_DE) !== 0) c.ud();
    return n + 2;
  }
  if (n > 7) c.ud();
  return n;
}

function movFromDr(c: X86Cpu, i: Insn): void {
  requireCpl0(c);
  const n = drIndex(c, i.reg);
  const v = c.dr[n]!;
  if (c.mode64) c.setAddr64(i.rm, v); else c.setReg32(i.rm, v | 0);
}

function movToDr(c: X86Cpu, i: Insn): void {
  requireCpl0(c);
  const n = drIndex(c, i.reg);
  if ((c.dr[7]! & 0x2000) !== 0) { c.dr[6] = (c.dr[6]! | 0x2000) >>> 0; c.dr[7] = c.dr[7]! & ~0x2000; c.fault(DB); }
  const lo = c.reg32(i.rm), hi = c.mode64 ? c.regHi(i.rm) : 0;
  if (n >= 6 && hi !== 0) c.gp(0);
  if (n === 6) c.dr[6] = ((lo | 0xffff0ff0) & ~0x1000) >>> 0;
  else if (n === 7) c.dr[7] = ((lo | 0x400) & ~0xd000) >>> 0;
  else c.dr[n] = hi * TWO32 + (lo >>> 0);
  c.updateBreakpoints();
  c.stopBlock = true;
}

def(1, 0x20, { name: 'mov Rd,Cd', flags: F_END }, movFromCr);
def(1, 0x22, { name: 'mov Cd,Rd', flags: F_END }, movToCr);
def(1, 0x21, { name: 'mov Rd,Dd' }, movFromDr);
def(1, 0x23, { name: 'mov Dd,Rd', flags: F_END }, movToDr);
def(1, 0x06, { name: 'clts' }, (c) => { requireCpl0(c); c.cr0 &= ~CR0_TS; });
def(1, 0x08, { name: 'invd' }, (c) => requireCpl0(c));
def(1, 0x09, { name: 'wbinvd' }, (c) => requireCpl0(c));
def(1, 0x01, { name: 'smsw', reg: 4 }, (c, i) => {
  const v = c.cr0 & 0xffff;
  if (i.mod === 3) c.setReg(i.rm, i.osize, i.rex, v, 0);
  else c.wr16(c.addrW(i, 2), v);
});
def(1, 0x01, { name: 'lmsw', reg: 6, flags: F_END }, (c, i) => {
  requireCpl0(c);
  const v = i.mod === 3 ? c.reg16(i.rm) : c.rd16(c.addr(i, 2));
  // LMSW sets PE but cannot clear it; it changes MP, EM, TS.
  writeCr0(c, (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1), 0);
});
def(1, 0x01, { name: 'invlpg', reg: 7, form: 'mem', flags: F_END }, (c, i) => {
  requireCpl0(c);
  flushTlbPage(c, c.addr(i, 1));
  c.stopBlock = true;
});
