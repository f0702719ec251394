/**
 * Segment registers: real/V86 loads, protected-mode descriptor loads with their checks (#GP/#SS/#NP
 * with the selector as error code), and descriptor-table access. Descriptor caches hold base,
 * limit (expanded by G) and attributes in the VMX access-rights layout.
 */
import type { X86Cpu } from './cpu.js';
import {
  CS, SS, DS, ES, FS, GS, LDTR, TR, NP, SS_VEC, ATTR_P, ATTR_S, ATTR_DB, ATTR_L, TWO32,
} from './constants.js';

/** Scratch results of readDescriptor (low and high dwords, and the upper 8 bytes for 16-byte forms). */
export const desc = { lo: 0, hi: 0, hi2: 0, addr: 0 };

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) !== 0 ? raw * 4096 + 0xfff : raw;
}
export function descAttr(hi: number): number {
  return ((hi >>> 8) & 0x00ff) | ((hi >>> 8) & 0xf000);
}

/** Real mode and V86: base = selector * 16. V86 also resets limit/attributes as the SDM says. */
export function loadSegReal(c: X86Cpu, seg: number, sel: number, v86: boolean): void {
  c.segSel[seg] = sel;
  c.segBase[seg] = sel * 16;
  if (v86) {
    c.segLimit[seg] = 0xffff;
    c.segAttr[seg] = 0xf3 | (seg === CS ? 0x8 : 0);
  } else if (seg === CS) {
    // Real-mode CS: keep limit, make it a present code segment (writes to CS attributes by far jumps).
    c.segAttr[seg] = (c.segAttr[seg]! & ~0xff) | 0x9b;
  }
  if (seg === CS || seg === SS) c.updateMode();
}

/**
 * Reads the 8-byte descriptor for `sel` from the GDT or LDT into `desc`; returns false when the
 * index is beyond the table limit. With `wide`, also reads the upper 8 bytes (64-bit system descriptors).
 */
export function readDescriptor(c: X86Cpu, sel: number, wide = false): boolean {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((c.segAttr[LDTR]! & ATTR_P) === 0) return false;
    base = c.segBase[LDTR]!; limit = c.segLimit[LDTR]!;
  } else {
    base = c.gdtBase; limit = c.gdtLimit;
  }
  if (index + (wide ? 15 : 7) > limit) return false;
  desc.addr = base + index;
  desc.lo = c.rdSys(desc.addr, 4);
  desc.hi = c.rdSys(desc.addr + 4, 4);
  if (wide) desc.hi2 = c.rdSys(desc.addr + 8, 4);
  return true;
}

/** Sets the accessed bit of the descriptor last read, if clear. */
export function setAccessed(c: X86Cpu): void {
  if ((desc.hi & 0x100) === 0) { desc.hi |= 0x100; c.wrSys(desc.addr + 4, 4, desc.hi, 0); }
}

/** Loads a segment cache from the descriptor in `desc` (checks already done). */
export function setSegFromDesc(c: X86Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel;
  let base = descBase(desc.lo, desc.hi);
  // Bits 63:32 as a signed word: canonical bases stay exact (an unsigned sum above 2^53 rounds).
  if ((seg === LDTR || seg === TR) && c.mode64) base += (desc.hi2 | 0) * TWO32;
  c.segBase[seg] = base;
  c.segLimit[seg] = descLimit(desc.lo, desc.hi);
  c.segAttr[seg] = descAttr(desc.hi);
  if (seg === CS || seg === SS) c.updateMode();
}

/** A null selector in a data segment register: usable later only for faults on access. */
export function loadNull(c: X86Cpu, seg: number, sel: number): void {
  c.segSel[seg] = sel;
  c.segAttr[seg] = 0;
  if (c.mode64 && (seg === FS || seg === GS)) { /* 64-bit: null FS/GS keep their bases (AMD/Intel differ); keep base */ }
  else c.segBase[seg] = 0;
  c.segLimit[seg] = 0;
  if (seg === SS) c.updateMode();
}

/**
 * MOV/POP to DS, ES, FS, GS or SS in protected mode, with the SDM's checks.
 */
export function loadDataSeg(c: X86Cpu, seg: number, sel: number): void {
  if (!c.protectedMode) { loadSegReal(c, seg, sel, c.codeSize === 2 && (c.cr0 & 1) !== 0); return; }
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === SS && (!c.mode64 || c.cpl === 3 || rpl !== c.cpl)) c.gp(0);
    loadNull(c, seg, sel);
    return;
  }
  if (!readDescriptor(c, sel)) c.gp(sel & 0xfffc);
  const attr = descAttr(desc.hi);
  const type = attr & 0xf;
  const dpl = (attr >> 5) & 3;
  if ((attr & ATTR_S) === 0) c.gp(sel & 0xfffc);
  if (seg === SS) {
    // Writable data segment with RPL = DPL = CPL.
    if ((type & 0xa) !== 0x2 || rpl !== c.cpl || dpl !== c.cpl) c.gp(sel & 0xfffc);
    if ((attr & ATTR_P) === 0) c.fault(SS_VEC, sel & 0xfffc);
  } else {
    // Data or readable code; DPL >= max(CPL, RPL) unless conforming code.
    if ((type & 0xa) === 0x8) c.gp(sel & 0xfffc);
    const conformingCode = (type & 0xc) === 0xc;
    if (!conformingCode && (dpl < c.cpl || dpl < rpl)) c.gp(sel & 0xfffc);
    if ((attr & ATTR_P) === 0) c.fault(NP, sel & 0xfffc);
  }
  setAccessed(c);
  setSegFromDesc(c, seg, sel);
}

/** Loads CS for a far transfer to a code segment already validated by the caller. */
export function loadCodeSeg(c: X86Cpu, sel: number, cpl: number): void {
  setAccessed(c);
  setSegFromDesc(c, CS, (sel & 0xfffc) | cpl);
  c.cpl = cpl;
  c.updateMode();
}

/**
 * Checks a code-segment descriptor (in `desc`) as a far JMP/CALL target without a gate; returns the
 * new CPL. Raises #GP/#NP with the selector.
 */
export function checkDirectCodeTarget(c: X86Cpu, sel: number): number {
  const attr = descAttr(desc.hi);
  if ((attr & ATTR_S) === 0 || (attr & 0x8) === 0) c.gp(sel & 0xfffc);
  const dpl = (attr >> 5) & 3;
  const rpl = sel & 3;
  if ((attr & 0x4) !== 0) { if (dpl > c.cpl) c.gp(sel & 0xfffc); }
  else if (rpl > c.cpl || dpl !== c.cpl) c.gp(sel & 0xfffc);
  if ((attr & ATTR_P) === 0) c.fault(NP, sel & 0xfffc);
  if (c.mode64 || (c.efer & 0x400) !== 0) {
    if ((attr & ATTR_L) !== 0 && (attr & ATTR_DB) !== 0) c.gp(sel & 0xfffc);
  }
  return c.cpl;
}

/** After a privilege drop (RET/IRET to outer level), data segments the new CPL may not use become null. */
export function nullifyInaccessible(c: X86Cpu): void {
  for (const seg of [ES, DS, FS, GS]) {
    const a = c.segAttr[seg]!;
    if ((c.segSel[seg]! & 0xfffc) === 0) continue;
    const dpl = (a >> 5) & 3;
    const conformingCode = (a & 0x1c) === 0x1c;
    if ((a & ATTR_S) !== 0 && !conformingCode && dpl < c.cpl) loadNull(c, seg, 0);
  }
}

/** LLDT / LTR system-descriptor loads. */
export function loadSystemSeg(c: X86Cpu, seg: number, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    if (seg === TR) c.gp(0);
    loadNull(c, LDTR, sel);
    return;
  }
  if ((sel & 4) !== 0) c.gp(sel & 0xfffc);
  if (!readDescriptor(c, sel, c.mode64)) c.gp(sel & 0xfffc);
  const attr = descAttr(desc.hi);
  const type = attr & 0x1f;
  if (seg === LDTR ? type !== 0x2 : (type !== 0x9 && !(type === 0x1 && !c.mode64))) c.gp(sel & 0xfffc);
  if ((attr & ATTR_P) === 0) c.fault(NP, sel & 0xfffc);
  if (c.mode64) {
    // The 16-byte descriptor's base must be canonical (bits 63:47 all equal).
    const top = (desc.hi2 | 0) >> 15;
    if (top !== 0 && top !== -1) c.gp(sel & 0xfffc);
  }
  if (seg === TR) {
    desc.hi |= 0x200; // busy
    c.wrSys(desc.addr + 4, 4, desc.hi, 0);
  }
  setSegFromDesc(c, seg, sel);
}

