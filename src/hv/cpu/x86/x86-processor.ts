/**
 * The software engine as a VirtualProcessor: reset state, the run loop, external events
 * (interrupt notification, NMI, INIT/SIPI) and versioned save/restore of all architectural state.
 */
import type { VirtualProcessor, CpuIo } from '../../processor.js';
import type { InterruptController } from '../../interrupts.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import {
  expectState, stateNumber, stateBytes, stateBigInt, stateString, stateBool, SavedStateError, type SavedState, type StateValue,
} from '../../../common/saved-state.js';
import { X86Cpu, runCpu, flushBlocks } from './engine.js';
import { flushTlb } from './mmu.js';
import { setArithFlags } from './flags.js';
import { CS, LDTR, TR } from './constants.js';
import { FpuState } from './fpu/fpu-state.js';

/** Validates an FPU record without touching a live processor. */
const probeFpu = new FpuState();

const STATE_ID = 'x86.cpu';
/** 2: the whole x87/MMX/SSE record, A20, the interrupt shadow and IA32_TSC_ADJUST (1 carried only XMM and MXCSR). */
const STATE_VERSION = 2;

export class X86Processor implements VirtualProcessor {
  readonly cpu: X86Cpu;

  constructor(mem: GuestMemory, io: CpuIo, readonly index = 0) {
    this.cpu = new X86Cpu(mem, io, index);
    this.reset();
  }

  get instructionCount(): number { return this.cpu.icount; }

  run(budget: number): number { return runCpu(this.cpu, budget); }

  requestStop(): void { this.cpu.stopRequested = true; this.cpu.stopBlock = true; }

  setInterruptController(ic: InterruptController | null): void { this.cpu.intc = ic; }

  notifyInterrupt(): void { this.cpu.eventPending = true; this.cpu.stopBlock = true; }

  raiseNmi(): void { this.cpu.nmiPending = true; this.cpu.stopBlock = true; }

  /** The A20 gate changes physical addresses without paging: cached translations are stale. */
  setA20(enabled: boolean): void {
    if (this.cpu.a20 === enabled) return;
    this.cpu.a20 = enabled;
    flushTlb(this.cpu, false);
    this.cpu.stopBlock = true;
  }

  init(): void {
    this.reset();
    // An INIT leaves the processor waiting for a startup IPI (the BSP is restarted by the platform).
    this.cpu.waitSipi = this.index !== 0;
  }

  sipi(vector: number): void {
    const c = this.cpu;
    if (!c.waitSipi) return;
    c.waitSipi = false;
    c.halted = false;
    c.segSel[CS] = (vector & 0xff) << 8;
    c.segBase[CS] = (vector & 0xff) << 12;
    c.rip = 0;
    c.updateMode();
  }

  /** Power-on/RESET state (SDM vol. 3, table 9-1). */
  reset(): void {
    const c = this.cpu;
    c.r32.fill(0);
    c.r32[4] = 0x000306a9; // EDX: family/model/stepping signature
    c.rip = 0xfff0;
    c.eflags = 2;
    setArithFlags(c.lf, 0);
    for (let s = 0; s < 8; s++) {
      c.segSel[s] = 0; c.segBase[s] = 0; c.segLimit[s] = 0xffff;
      c.segAttr[s] = s === CS ? 0x9b : s === LDTR ? 0x82 : s === TR ? 0x8b : 0x93;
    }
    c.segSel[CS] = 0xf000; c.segBase[CS] = 0xffff0000;
    c.gdtBase = 0; c.gdtLimit = 0xffff; c.idtBase = 0; c.idtLimit = 0xffff;
    c.cr0 = 0x60000010; c.cr2 = 0; c.cr3 = 0; c.cr4 = 0; c.efer = 0;
    c.dr.fill(0); c.dr[6] = 0xffff0ff0; c.dr[7] = 0x400;
    c.msrStore.clear();
    c.star = 0n; c.lstar = 0; c.cstar = 0; c.sfmask = 0; c.kernelGsBase = 0;
    c.sysenterCs = 0; c.sysenterEsp = 0; c.sysenterEip = 0; c.tscAux = 0;
    c.paging = false;
    c.halted = false; c.waitSipi = false; c.shadowUntil = -1;
    c.nmiPending = false; c.nmiBlocked = false; c.tripleFault = false;
    c.fpu.xmm.fill(0); c.fpu.mxcsr = 0x1f80;
    c.a20 = true;
    c.updateBreakpoints();
    flushTlb(c, false);
    flushBlocks(c);
  }

  save(): SavedState {
    const c = this.cpu;
    const data: { [key: string]: StateValue } = {
      gpr: new Uint8Array(c.regBuf.slice(0)),
      rip: c.rip,
      rflags: c.getFlags(),
      segSel: new Uint8Array(c.segSel.buffer.slice(0)),
      segBase: new Uint8Array(c.segBase.buffer.slice(0)),
      segLimit: new Uint8Array(c.segLimit.buffer.slice(0)),
      segAttr: new Uint8Array(c.segAttr.buffer.slice(0)),
      gdt: [c.gdtBase, c.gdtLimit], idt: [c.idtBase, c.idtLimit],
      cr: [c.cr0, c.cr2, c.cr3, c.cr4, c.efer],
      dr: new Uint8Array(c.dr.buffer.slice(0)),
      star: c.star,
      msrs: [c.lstar, c.cstar, c.sfmask, c.kernelGsBase, c.sysenterCs, c.sysenterEsp, c.sysenterEip, c.tscAux, c.tscOffset],
      msrStore: [...c.msrStore.entries()].map(([k, v]) => [k, v]),
      run: [c.halted ? 1 : 0, c.waitSipi ? 1 : 0, c.nmiPending ? 1 : 0, c.nmiBlocked ? 1 : 0, c.icount],
      xmm: c.fpu.xmm.slice(),
      mxcsr: c.fpu.mxcsr,
      fpu: c.fpu.save() as unknown as StateValue,
      a20: c.a20,
      shadow: c.shadowUntil >= c.icount ? c.shadowUntil - c.icount : -1,
      tscAdjust: c.tscAdjust,
      mode: 'x86-64',
    };
    return { id: STATE_ID, version: STATE_VERSION, data };
  }

  restore(state: SavedState): void {
    const d = expectState(state, STATE_ID, STATE_VERSION);
    const nums = (f: string, n: number): number[] => {
      const v = d[f];
      if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw new SavedStateError(STATE_ID, `field '${f}' must be ${n} numbers`);
      return v as number[];
    };
    const gpr = stateBytes(STATE_ID, d, 'gpr', 128);
    const segSel = stateBytes(STATE_ID, d, 'segSel', 16), segBase = stateBytes(STATE_ID, d, 'segBase', 64);
    const segLimit = stateBytes(STATE_ID, d, 'segLimit', 64), segAttr = stateBytes(STATE_ID, d, 'segAttr', 16);
    const dr = stateBytes(STATE_ID, d, 'dr', 64);
    const gdt = nums('gdt', 2), idt = nums('idt', 2), cr = nums('cr', 5), msrs = nums('msrs', 9), run = nums('run', 5);
    const rip = stateNumber(STATE_ID, d, 'rip'), rflags = stateNumber(STATE_ID, d, 'rflags');
    const star = stateBigInt(STATE_ID, d, 'star');
    const xmm = stateBytes(STATE_ID, d, 'xmm', 256);
    const mxcsr = stateNumber(STATE_ID, d, 'mxcsr');
    if (stateString(STATE_ID, d, 'mode') !== 'x86-64') throw new SavedStateError(STATE_ID, 'not an x86-64 processor record');
    // Version 2 adds the full FPU record; it is validated here, before anything is changed.
    let fpu: SavedState | undefined;
    let a20 = true, shadow = -1, tscAdjust = 0;
    if (state.version >= 2) {
      fpu = d['fpu'] as unknown as SavedState;
      probeFpu.restore(fpu);
      a20 = stateBool(STATE_ID, d, 'a20');
      tscAdjust = stateNumber(STATE_ID, d, 'tscAdjust');
      shadow = stateNumber(STATE_ID, d, 'shadow');
      if (!Number.isInteger(shadow) || shadow < -1 || shadow > 1) throw new SavedStateError(STATE_ID, "field 'shadow' must be -1, 0 or 1");
    }
    const store = d['msrStore'];
    if (!Array.isArray(store)) throw new SavedStateError(STATE_ID, "field 'msrStore' must be a list");
    const entries: [number, bigint][] = [];
    for (const e of store) {
      if (!Array.isArray(e) || typeof e[0] !== 'number' || typeof e[1] !== 'bigint') throw new SavedStateError(STATE_ID, "field 'msrStore' has a bad entry");
      entries.push([e[0], e[1]]);
    }
    // Everything validated: now commit.
    const c = this.cpu;
    new Uint8Array(c.regBuf).set(gpr);
    c.rip = rip;
    c.segSel.set(new Uint16Array(segSel.slice().buffer));
    c.segBase.set(new Float64Array(segBase.slice().buffer));
    c.segLimit.set(new Float64Array(segLimit.slice().buffer));
    c.segAttr.set(new Uint16Array(segAttr.slice().buffer));
    c.dr.set(new Float64Array(dr.slice().buffer));
    [c.gdtBase, c.gdtLimit] = gdt as [number, number];
    [c.idtBase, c.idtLimit] = idt as [number, number];
    [c.cr0, c.cr2, c.cr3, c.cr4, c.efer] = cr as [number, number, number, number, number];
    c.star = star;
    [c.lstar, c.cstar, c.sfmask, c.kernelGsBase, c.sysenterCs, c.sysenterEsp, c.sysenterEip, c.tscAux, c.tscOffset] = msrs as [number, number, number, number, number, number, number, number, number];
    c.msrStore.clear();
    for (const [k, v] of entries) c.msrStore.set(k, v);
    c.halted = run[0] === 1; c.waitSipi = run[1] === 1; c.nmiPending = run[2] === 1; c.nmiBlocked = run[3] === 1; c.icount = run[4]!;
    if (fpu !== undefined) c.fpu.restore(fpu); else { c.fpu.xmm.set(xmm); c.fpu.mxcsr = mxcsr; }
    c.a20 = a20;
    c.tscAdjust = tscAdjust;
    c.shadowUntil = shadow < 0 ? -1 : c.icount + shadow;
    setArithFlags(c.lf, rflags);
    c.eflags = (rflags & ~0x8d5) | 2;
    c.paging = (c.cr0 & 0x80000000) !== 0;
    c.updateBreakpoints();
    flushTlb(c, false);
    flushBlocks(c);
  }
}

