/**
 * Canonical processor states for tests and fuzzers: a flat machine in each operating mode with
 * identity-mapped RAM, so that arbitrary code can start executing in that mode directly.
 */
import type { X86Cpu } from '../cpu.js';
import { flushTlb } from '../mmu.js';
import { flushBlocks } from '../executor.js';
import {
  CS, SS, DS, ES, FS, GS, ATTR_S, ATTR_P, ATTR_DB, ATTR_G, ATTR_L, CR0_PE, CR0_PG, CR0_ET, CR0_NE, CR0_WP,
  CR4_PAE, CR4_PSE, CR4_OSFXSR, CR4_OSXMMEXCPT, EFER_LME, EFER_LMA, EFER_NXE, EFER_SCE,
} from '../constants.js';

export type ModeName = 'real' | 'protected16' | 'protected32' | 'paged32' | 'pae' | 'long64' | 'compat32' | 'user64';
export const MODES: ModeName[] = ['real', 'protected16', 'protected32', 'paged32', 'pae', 'long64', 'compat32', 'user64'];

/** Physical addresses used for the page tables the states build (inside the first 64 KiB). */
const PT_BASE = 0x1000;

function seg(c: X86Cpu, s: number, sel: number, type: number, dpl: number, flags: number): void {
  c.segSel[s] = sel | dpl; c.segBase[s] = 0; c.segLimit[s] = (flags & ATTR_G) !== 0 ? 0xffffffff : 0xffff;
  c.segAttr[s] = type | ATTR_S | (dpl << 5) | ATTR_P | flags;
}

function w32(c: X86Cpu, pa: number, v: number): void { c.mem.write32(pa, v); }

/** Identity maps the first 4 GiB with large pages in the requested paging format. */
function buildTables(c: X86Cpu, kind: 'paged32' | 'pae' | 'long'): number {
  const zero = new Uint8Array(0x6000);
  c.mem.writeBytes(PT_BASE, zero);
  if (kind === 'paged32') {
    for (let k = 0; k < 1024; k++) w32(c, PT_BASE + k * 4, (k << 22) | 0x87);
    return PT_BASE;
  }
  const pdpt = PT_BASE + 0x1000;
  for (let g = 0; g < 4; g++) {
    const pd = PT_BASE + 0x2000 + g * 0x1000;
    w32(c, pdpt + g * 8, pd | (kind === 'long' ? 7 : 1));
    for (let k = 0; k < 512; k++) { w32(c, pd + k * 8, ((g << 30) + (k << 21)) | 0x87); w32(c, pd + k * 8 + 4, 0); }
  }
  if (kind === 'pae') return pdpt;
  w32(c, PT_BASE, pdpt | 7);
  return PT_BASE;
}

/** Puts `c` into `mode` with RIP = `rip`; RAM must cover at least the first 64 KiB. */
export function enterMode(c: X86Cpu, mode: ModeName, rip: number): void {
  c.cr0 = CR0_ET | CR0_NE; c.cr4 = 0; c.efer = 0; c.cr3 = 0; c.paging = false;
  c.eflags = 2;
  c.gdtBase = 0; c.gdtLimit = 0; c.idtBase = 0; c.idtLimit = 0x3ff;
  const data = [DS, ES, FS, GS, SS];
  if (mode === 'real') {
    for (const s of [CS, ...data]) { c.segSel[s] = 0; c.segBase[s] = 0; c.segLimit[s] = 0xffff; c.segAttr[s] = s === CS ? 0x9b : 0x93; }
  } else {
    c.cr0 |= CR0_PE;
    const big = mode === 'protected16' ? 0 : ATTR_DB | ATTR_G;
    const user = mode === 'user64' ? 3 : 0;
    for (const s of data) seg(c, s, 0x10, 0x3, user, mode === 'protected16' ? 0 : ATTR_DB | ATTR_G);
    if (mode === 'long64' || mode === 'user64') seg(c, CS, 0x18, 0xb, user, ATTR_L | ATTR_G);
    else seg(c, CS, 0x08, 0xb, 0, big);
    if (mode === 'paged32') { c.cr4 = CR4_PSE; c.cr3 = buildTables(c, 'paged32'); c.cr0 |= CR0_PG | CR0_WP; }
    if (mode === 'pae') { c.cr4 = CR4_PAE; c.cr3 = buildTables(c, 'pae'); c.cr0 |= CR0_PG | CR0_WP; }
    if (mode === 'long64' || mode === 'compat32' || mode === 'user64') {
      c.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
      c.cr3 = buildTables(c, 'long');
      c.cr0 |= CR0_PG | CR0_WP;
      c.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    }
    c.paging = (c.cr0 & CR0_PG) !== 0;
  }
  c.rip = rip;
  c.halted = false;
  c.updateMode();
  flushTlb(c, false);
  flushBlocks(c);
}
