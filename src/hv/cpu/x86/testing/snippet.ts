/**
 * Runs a short instruction sequence in 64-bit user mode with a fixed memory layout, for
 * differential tests against the host CPU (test/cpu/diff) and for the instruction fuzzers.
 * The layout mirrors the native runner: code at SNIPPET_CODE_BASE, a 64 KiB read/write data
 * window at SNIPPET_DATA_BASE, everything else unmapped (#PF).
 */
import { GuestMemory } from '../../../memory/guest-memory.js';
import { X86Cpu, runCpu, flushBlocks } from '../engine.js';
import { flushTlb } from '../mmu.js';
import {
  CS, SS, DS, ES, FS, GS, CR0_PE, CR0_PG, CR0_WP, CR0_NE, CR0_ET, CR0_MP, CR4_PAE, CR4_OSFXSR, CR4_OSXMMEXCPT,
  EFER_LME, EFER_LMA, EFER_NXE, EFER_SCE, ATTR_L, ATTR_P, ATTR_S, ATTR_DB, ATTR_G,
} from '../constants.js';
import type { CpuIo } from '../../../processor.js';

export const SNIPPET_CODE_BASE = 0x2000_0000;
export const SNIPPET_DATA_BASE = 0x1000_0000;
export const SNIPPET_DATA_SIZE = 0x1_0000;

export interface SnippetState {
  gpr: BigUint64Array;
  rflags: number;
  fxsave: Uint8Array;
  data: Uint8Array;
}
export interface SnippetResult { state: SnippetState; exception: number | null; errorCode: number | null }

// Physical layout of the snippet machine.
const PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT_DATA = 0x4000, PT_CODE = 0x5000;
const DATA_PA = 0x10_0000, CODE_PA = 0x20_0000;
const CODE_PAGES = 4;
const RAM = 0x40_0000;
const MAX_STEPS = 1_000_000;

const NO_IO: CpuIo = { ioRead: () => 0xffffffff, ioWrite: () => { /* none */ } };

let machine: { mem: GuestMemory; cpu: X86Cpu; ram: Uint8Array } | undefined;

function setup(): { mem: GuestMemory; cpu: X86Cpu; ram: Uint8Array } {
  if (machine !== undefined) return machine;
  const mem = new GuestMemory();
  const region = mem.addRegion(0, RAM);
  const cpu = new X86Cpu(mem, NO_IO);
  machine = { mem, cpu, ram: region.u8 };
  return machine;
}

function writeEntry(ram: Uint8Array, addr: number, value: number, nx: boolean): void {
  const dv = new DataView(ram.buffer, ram.byteOffset);
  dv.setUint32(addr, value, true);
  dv.setUint32(addr + 4, nx ? 0x80000000 : 0, true);
}

function buildPageTables(ram: Uint8Array): void {
  ram.fill(0, 0x1000, 0x6000);
  // 0x1000_0000 and 0x2000_0000 are both in PML4[0], PDPT[0]; PD entries 0x80 and 0x100.
  writeEntry(ram, PML4, PDPT | 7, false);
  writeEntry(ram, PDPT, PD | 7, false);
  writeEntry(ram, PD + (SNIPPET_DATA_BASE >>> 21) * 8, PT_DATA | 7, false);
  writeEntry(ram, PD + (SNIPPET_CODE_BASE >>> 21) * 8, PT_CODE | 7, false);
  for (let p = 0; p < SNIPPET_DATA_SIZE / 4096; p++) writeEntry(ram, PT_DATA + p * 8, (DATA_PA + p * 4096) | 7, true);
  for (let p = 0; p < CODE_PAGES; p++) writeEntry(ram, PT_CODE + p * 8, (CODE_PA + p * 4096) | 5, false);
}

function userSegments(cpu: X86Cpu, bits: 32 | 64): void {
  const data = 0x3 | ATTR_S | (3 << 5) | ATTR_P | ATTR_DB | ATTR_G;
  for (const s of [DS, ES, FS, GS]) { cpu.segSel[s] = 0x2b; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffffffff; cpu.segAttr[s] = data; }
  cpu.segSel[SS] = 0x2b; cpu.segBase[SS] = 0; cpu.segLimit[SS] = 0xffffffff; cpu.segAttr[SS] = data;
  cpu.segSel[CS] = 0x33; cpu.segBase[CS] = 0; cpu.segLimit[CS] = 0xffffffff;
  cpu.segAttr[CS] = 0xb | ATTR_S | (3 << 5) | ATTR_P | ATTR_G | (bits === 64 ? ATTR_L : ATTR_DB);
  if (bits === 32) cpu.segSel[CS] = 0x23;
}

function fxOut(cpu: X86Cpu): Uint8Array {
  const out = new Uint8Array(512);
  cpu.fpu.fxsave(out, true);
  return out;
}

/**
 * Runs `code` in 64-bit user mode, or with `bits` = 32 as 32-bit code in compatibility mode (the
 * layout Linux gives a 64-bit process that jumps to its 0x23 code selector).
 */
export interface SnippetControl {
  /** CR0 bits to set on top of the snippet machine's (e.g. EM or TS, to check #UD/#NM rules). */
  cr0Set?: number;
  /** CR4 bits to clear (e.g. OSFXSR). */
  cr4Clear?: number;
}

export function runSnippet(code: Uint8Array, input: SnippetState, bits: 32 | 64 = 64, control: SnippetControl = {}): SnippetResult {
  if (code.length > CODE_PAGES * 4096 - 16) throw new Error('snippet too long');
  const { cpu, ram } = setup();
  buildPageTables(ram);
  ram.fill(0x0b, CODE_PA, CODE_PA + CODE_PAGES * 4096);
  // UD2 after the snippet marks its end.
  ram.set(code, CODE_PA);
  for (let k = code.length; k + 1 < CODE_PAGES * 4096; k += 2) { ram[CODE_PA + k] = 0x0f; ram[CODE_PA + k + 1] = 0x0b; }
  ram.set(input.data.subarray(0, SNIPPET_DATA_SIZE), DATA_PA);
  flushBlocks(cpu);
  cpu.cr0 = CR0_PE | CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | (control.cr0Set ?? 0);
  cpu.cr4 = (CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT) & ~(control.cr4Clear ?? 0);
  cpu.cr3 = PML4;
  cpu.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
  cpu.paging = true;
  userSegments(cpu, bits);
  // User code always runs with IF set (as the host process does); TF is not taken from the input.
  cpu.setFlags((input.rflags & ~0x100) | 0x202);
  cpu.updateMode();
  flushTlb(cpu, false);
  new Uint8Array(cpu.regBuf).set(new Uint8Array(input.gpr.buffer, input.gpr.byteOffset, 128));
  cpu.rip = SNIPPET_CODE_BASE;
  if (!cpu.fpu.fxrstor(input.fxsave, true)) throw new Error('snippet: FXSAVE image has reserved MXCSR bits');
  cpu.trapExceptions = true;
  cpu.trappedVector = -1;
  cpu.halted = false;
  const end = SNIPPET_CODE_BASE + code.length;
  let exception: number | null = null;
  let errorCode: number | null = null;
  runCpu(cpu, MAX_STEPS);
  if (cpu.trappedVector >= 0) {
    const atEnd = cpu.trappedVector === 6 && cpu.rip === end;
    if (!atEnd) { exception = cpu.trappedVector; errorCode = cpu.trappedErrorCode; }
  } else {
    exception = -1; // did not finish within the step budget
  }
  const gpr = new BigUint64Array(16);
  gpr.set(cpu.r64);
  return {
    state: { gpr, rflags: cpu.getFlags(), fxsave: fxOut(cpu), data: ram.slice(DATA_PA, DATA_PA + SNIPPET_DATA_SIZE) },
    exception, errorCode,
  };
}
