/**
 * The software x86-64 processor: architectural state in typed arrays, the software TLB and memory
 * access paths, and the run loop over cached decoded blocks. Instruction semantics live in insn/*
 * files as free functions over this class; paging walks, segment loads and exception delivery in
 * their own files. Everything the hot path touches is a field of this one class (one hidden class,
 * monomorphic call sites).
 */
import { GuestMemory, PAGE_SIZE, type RamRegion } from '../../memory/guest-memory.js';
import type { CpuIo } from '../../processor.js';
import type { InterruptController } from '../../interrupts.js';
import { LazyFlags, arithFlags, setArithFlags } from './flags.js';
import { CpuFault } from './fault.js';
import { Insn } from './insn.js';
import { FpuState } from './fpu/fpu-state.js';
import { readSlow, writeSlow, probeWriteSlow } from './mmu.js';
import {
  CS, SS, ATTR_DB, ATTR_L, ATTR_P, EFER_LMA, CR0_PE, VM, GP, SS_VEC, TWO32, TWO47, ARITH_FLAGS, UD,
  TLB_BITS, TLB_SIZE, TLB_MASK, K_R, K_W, K_X, K_USER, K_CHECKED_R, K_CHECKED_W, CR0_AM, AC,
} from './constants.js';


export class X86Cpu {
  // ---- general registers: 16 x 64-bit, viewed as int32 halves, bytes and uint64 ----
  readonly regBuf = new ArrayBuffer(16 * 8);
  readonly r32 = new Int32Array(this.regBuf);
  readonly r8 = new Uint8Array(this.regBuf);
  readonly r64 = new BigUint64Array(this.regBuf);
  /** RIP: in 64-bit mode the canonical address as a signed number (exact below 2^53). */
  rip = 0;
  /** RFLAGS without the six arithmetic flags (those are in lf). Bit 1 is always set. */
  eflags = 2;
  readonly lf = new LazyFlags();
  /** x87, MMX and SSE state (fpu/). */
  readonly fpu = new FpuState();

  // ---- segment registers ES CS SS DS FS GS LDTR TR: selector and hidden descriptor cache ----
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Float64Array(8);
  readonly segLimit = new Float64Array(8);
  readonly segAttr = new Uint16Array(8);
  gdtBase = 0; gdtLimit = 0xffff;
  idtBase = 0; idtLimit = 0xffff;

  // ---- control, debug and model-specific state ----
  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  readonly dr = new Float64Array(8);
  /** MSRs that are stored but have no effect on the engine (MTRRs, PAT, MISC_ENABLE...). */
  readonly msrStore = new Map<number, bigint>();
  star = 0n; lstar = 0; cstar = 0; sfmask = 0;
  kernelGsBase = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  tscAux = 0;
  /** Guest TSC = tscSource() + tscOffset (WRMSR to IA32_TSC adjusts the offset). */
  tscOffset = 0;
  /** IA32_TSC_ADJUST: the sum of every change software made to this processor's TSC. */
  tscAdjust = 0;
  /**
   * The time base of the TSC, in TSC ticks (1 GHz: see cpuid.ts). The platform sets it to the VM
   * clock; the default counts retired instructions, which is deterministic.
   */
  tscSource: () => number = () => this.icount;
  /** MSRs owned by the platform (local APIC: APIC_BASE, TSC_DEADLINE, x2APIC range). */
  platformMsr: { read(index: number): bigint | undefined; write(index: number, value: bigint): boolean } | null = null;
  /** Number of processors in the VM and this one's APIC id, for CPUID topology leaves. */
  cpuCount = 1;

  // ---- derived mode (recomputed by updateMode) ----
  cpl = 0;
  mode64 = false;
  /** Default operand/address size of the code segment: 2, 4 or 8. */
  codeSize = 2;
  /** Stack pointer width: 2, 4 or 8. */
  stackSize = 2;
  /** True when protected mode is on and not in virtual-8086 mode. */
  protectedMode = false;
  paging = false;

  // ---- execution bookkeeping ----
  /** Address of the instruction executing now (RIP before it). */
  insnStart = 0;
  icount = 0;
  halted = false;
  waitSipi = false;
  /** Set by instructions that change how following bytes decode or must be observed (ends the block). */
  stopBlock = false;
  stopRequested = false;
  /** PAUSEs since this processor last yielded its slice (insn/move.ts). */
  pauseSpins = 0;
  /** Set when an instruction-initiated event delivery ended in a triple fault. */
  tripleFault = false;
  /** Instruction count until which external interrupts are inhibited (STI / MOV SS shadow). */
  shadowUntil = -1;
  /** MOV SS / POP SS just executed: debug traps (single-step, data breakpoints) wait one more instruction. */
  ssShadow = false;
  /** A single-step trap held back by a MOV SS shadow. */
  heldStep = false;
  nmiPending = false;
  nmiBlocked = false;
  eventPending = false;
  intc: InterruptController | null = null;
  /** The last 64-bit effective address as exact int32 halves (LEA reads these). */
  eaLo = 0; eaHi = 0;
  /** Scratch for the high half of 64-bit reads (memory and register helpers return the low half). */
  hi = 0;
  readonly fault$ = new CpuFault();
  /** A20 gate (keyboard controller / port 0x92): when off, physical bit 20 is forced to 0 without paging. */
  a20 = true;
  /** User accesses are alignment-checked (CR0.AM, EFLAGS.AC, CPL 3): data accesses take the slow path. */
  alignCheck = false;
  /** Enabled DR0-3 data breakpoints: bit n set for breakpoint n (data accesses take the slow path). */
  dataBreakpoints = 0;
  /** Enabled DR0-3 instruction breakpoints (checked before each instruction). */
  execBreakpoints = 0;
  /** DR6 B0-B3 bits hit by data accesses of the current instruction (a trap after it completes). */
  pendingDb = 0;
  /** Largest page (in 4 KiB pages) the TLB was filled from since the last full flush: INVLPG's reach. */
  largePageSpan = 0;
  /** Test harnesses: stop at the first exception instead of delivering it (see testing/snippet.ts). */
  trapExceptions = false;
  /** Debugging: called before each instruction executes (the engine runs one instruction per block while set). */
  trace: ((c: X86Cpu, i: Insn) => void) | null = null;
  trappedVector = -1;
  trappedErrorCode = -1;

  // ---- software TLB ----
  readonly tlbTag = new Float64Array(8 * TLB_SIZE).fill(NaN);
  readonly tlbReg = new Int32Array(8 * TLB_SIZE);
  readonly tlbOff = new Float64Array(8 * TLB_SIZE);
  readonly tlbGlobal = new Uint8Array(8 * TLB_SIZE);
  /** Current TLB kind bases for data reads, writes and fetches (user kinds at CPL 3). */
  kR = K_R * TLB_SIZE; kW = K_W * TLB_SIZE; kX = K_X * TLB_SIZE;
  views: DataView[] = [];
  u8s: Uint8Array[] = [];
  regions: RamRegion[] = [];
  readonly mmioBuf = new Uint8Array(16);

  // ---- decoded block cache ----
  readonly blocks = new Map<number, Block>();
  readonly blocksByPage = new Map<number, Block[]>();
  /**
   * Direct-mapped front of `blocks`, indexed by a hash of the physical address: most lookups end
   * here instead of hashing a float key in the Map (10% of a Linux boot's host time went there).
   * An entry is used only while its block is still valid, so invalidation needs no extra work.
   */
  readonly blockCacheKey = new Float64Array(BLOCK_CACHE_SIZE).fill(-1);
  readonly blockCache: (Block | null)[] = new Array<Block | null>(BLOCK_CACHE_SIZE).fill(null);

  constructor(readonly mem: GuestMemory, public io: CpuIo, readonly index = 0) {
    this.refreshRegions();
    mem.codeWriteListeners.push((region, page) => this.invalidateCodePage(mem.regions[region]!.base / PAGE_SIZE + page));
  }

  /** Picks up RAM regions added since construction (memory hot-add). */
  refreshRegions(): void {
    this.regions = this.mem.regions.slice();
    this.views = this.regions.map((r) => r.view);
    this.u8s = this.regions.map((r) => r.u8);
  }

  /** Drops cached blocks decoded from a physical page that was written (self-modifying code). */
  invalidateCodePage(page: number): void {
    const list = this.blocksByPage.get(page);
    if (list === undefined) return;
    for (const b of list) { b.valid = false; this.blocks.delete(b.key); }
    this.blocksByPage.delete(page);
    this.stopBlock = true;
  }

  // ================= registers =================

  reg8(r: number, rex: number): number {
    if (rex === 0 && r >= 4 && r < 8) return this.r8[((r - 4) << 3) + 1]!;
    return this.r8[r << 3]!;
  }
  setReg8(r: number, rex: number, v: number): void {
    if (rex === 0 && r >= 4 && r < 8) this.r8[((r - 4) << 3) + 1] = v;
    else this.r8[r << 3] = v;
  }
  reg16(r: number): number { return this.r32[r << 1]! & 0xffff; }
  setReg16(r: number, v: number): void { const k = r << 1; this.r32[k] = (this.r32[k]! & ~0xffff) | (v & 0xffff); }
  reg32(r: number): number { return this.r32[r << 1]!; }
  /** 32-bit writes zero the upper half, as in 64-bit mode (and harmlessly elsewhere). */
  setReg32(r: number, v: number): void { const k = r << 1; this.r32[k] = v; this.r32[k + 1] = 0; }
  regHi(r: number): number { return this.r32[(r << 1) + 1]!; }
  setReg64(r: number, lo: number, hi: number): void { const k = r << 1; this.r32[k] = lo; this.r32[k + 1] = hi; }

  /** Reads a register of `size` bytes: returns the low 32 bits (int32) and sets this.hi for size 8. */
  getReg(r: number, size: number, rex: number): number {
    switch (size) {
      case 1: return this.reg8(r, rex);
      case 2: return this.reg16(r);
      case 4: return this.reg32(r);
      default: this.hi = this.regHi(r); return this.reg32(r);
    }
  }
  setReg(r: number, size: number, rex: number, lo: number, hi: number): void {
    switch (size) {
      case 1: this.setReg8(r, rex, lo); break;
      case 2: this.setReg16(r, lo); break;
      case 4: this.setReg32(r, lo); break;
      default: this.setReg64(r, lo, hi); break;
    }
  }
  /** A register's full value as a number (exact for canonical addresses; used for address math). */
  regValue(r: number): number { return this.r32[(r << 1) + 1]! * TWO32 + (this.r32[r << 1]! >>> 0); }

  // ================= flags =================

  getFlags(): number { return (this.eflags & ~ARITH_FLAGS) | arithFlags(this.lf) | 2; }
  setFlags(v: number): void {
    setArithFlags(this.lf, v);
    this.eflags = (v & ~ARITH_FLAGS) | 2;
    if ((v & VM) !== 0 !== ((this.eflags & VM) !== 0)) this.updateMode();
  }

  // ================= faults =================

  fault(vector: number, errorCode = -1): never {
    const f = this.fault$;
    f.vector = vector; f.errorCode = errorCode; f.address = 0;
    throw f;
  }
  gp(code = 0): never { return this.fault(GP, code); }
  ud(): never { return this.fault(UD); }

  // ================= mode =================

  /** Recomputes derived mode fields after CR0/EFER/CS/SS/RFLAGS.VM changes; flushes what depends on them. */
  updateMode(): void {
    const pe = (this.cr0 & CR0_PE) !== 0;
    const v86 = pe && (this.eflags & VM) !== 0;
    this.protectedMode = pe && !v86;
    this.mode64 = (this.efer & EFER_LMA) !== 0 && (this.segAttr[CS]! & ATTR_L) !== 0;
    // Real mode keeps whatever D bit the CS cache holds (so "unreal" 32-bit code works); V86 is 16-bit.
    if (this.mode64) this.codeSize = 8;
    else if (v86) this.codeSize = 2;
    else this.codeSize = (this.segAttr[CS]! & ATTR_DB) !== 0 ? 4 : 2;
    this.stackSize = this.mode64 ? 8 : (this.segAttr[SS]! & ATTR_DB) !== 0 && !v86 ? 4 : 2;
    this.cpl = !pe ? 0 : v86 ? 3 : this.segSel[CS]! & 3;
    const user = this.cpl === 3 ? K_USER : 0;
    this.alignCheck = this.cpl === 3 && (this.cr0 & CR0_AM) !== 0 && (this.eflags & AC) !== 0;
    this.kR = (K_R + user) * TLB_SIZE; this.kW = (K_W + user) * TLB_SIZE; this.kX = (K_X + user) * TLB_SIZE;
    // Kinds 6 and 7 are never filled: every data access misses and the slow path checks alignment
    // and data breakpoints before translating with the real kind.
    if (this.alignCheck || this.dataBreakpoints !== 0) { this.kR = K_CHECKED_R * TLB_SIZE; this.kW = K_CHECKED_W * TLB_SIZE; }
    this.stopBlock = true;
  }

  /** Recomputes the enabled instruction/data breakpoints from DR7 (after MOV DR7 or a restore). */
  updateBreakpoints(): void {
    const dr7 = this.dr[7]!;
    let x = 0, d = 0;
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (n * 2)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + n * 4)) & 3;
      if (rw === 0) x |= 1 << n;
      else if (rw !== 2) d |= 1 << n;
    }
    this.execBreakpoints = x;
    this.dataBreakpoints = d;
    this.updateMode();
  }

  /** Key that, with the physical address, identifies how bytes decode (code size). */
  modeKey(): number { return this.codeSize === 2 ? 0 : this.codeSize === 4 ? 1 : 2; }

  // ================= linear addresses =================

  /** Stack pointer as an offset within SS for the current stack size. */
  spValue(): number {
    return this.stackSize === 8 ? this.regValue(4) : this.stackSize === 4 ? this.r32[8]! >>> 0 : this.r32[8]! & 0xffff;
  }
  setSp(v: number): void {
    if (this.stackSize === 8) this.setAddr64(4, v);
    else if (this.stackSize === 4) this.setReg32(4, v);
    else this.setReg16(4, v);
  }
  /** Writes a (signed, canonical-range) address value into a 64-bit register. */
  setAddr64(r: number, v: number): void {
    const hi = Math.floor(v / TWO32);
    this.setReg64(r, (v - hi * TWO32) | 0, hi | 0);
  }

  /** Segment base + offset with the legacy-mode limit check, or the 64-bit canonical check. */
  linear(seg: number, off: number, size: number, write = false): number {
    if (this.mode64) {
      const la = seg >= 4 ? wrap64(this.segBase[seg]! + off) : off;
      if (la < -TWO47 || la >= TWO47) this.fault(seg === SS ? SS_VEC : GP, 0);
      return la;
    }
    if (this.protectedMode) {
      // Null/not-present segments, writes to non-writable ones, reads of execute-only code.
      const a = this.segAttr[seg]!;
      if ((a & ATTR_P) === 0 || (write ? (a & 0x1a) !== 0x12 : (a & 0x1a) === 0x18)) this.fault(seg === SS ? SS_VEC : GP, 0);
    }
    if (off + size - 1 > this.segLimit[seg]! && !this.expandDownOk(seg, off, size)) this.fault(seg === SS ? SS_VEC : GP, 0);
    return (this.segBase[seg]! + off) >>> 0;
  }

  private expandDownOk(seg: number, off: number, size: number): boolean {
    const a = this.segAttr[seg]!;
    // Data segment, expand-down: valid offsets are (limit, 0xffff or 0xffffffff].
    if ((a & 0x18) !== 0x10 || (a & 4) === 0) return false;
    const top = (a & ATTR_DB) !== 0 ? 0xffffffff : 0xffff;
    return off > this.segLimit[seg]! && off + size - 1 <= top;
  }

  /** Effective address (offset) of the instruction's memory operand, per address size. */
  ea(i: Insn): number {
    if (i.asize === 8) {
      // Exact 64-bit sum on int32 halves (LEA is arithmetic: every bit counts); the returned
      // number is exact for canonical values, and a non-canonical one stays non-canonical.
      let lo = i.disp | 0, hi = i.disp >> 31;
      if (i.ripRel || i.base >= 0) {
        let bl: number, bh: number;
        if (i.ripRel) { bh = Math.floor(this.rip / TWO32); bl = (this.rip - bh * TWO32) | 0; bh |= 0; }
        else { bl = this.r32[i.base << 1]!; bh = this.r32[(i.base << 1) + 1]!; }
        const l = (lo >>> 0) + (bl >>> 0);
        hi = (hi + bh + (l > 0xffffffff ? 1 : 0)) | 0;
        lo = l | 0;
      }
      if (i.index >= 0) {
        const xl = this.r32[i.index << 1]!, xh = this.r32[(i.index << 1) + 1]!;
        const s = i.scale;
        const il = xl << s, ih = s === 0 ? xh : (xh << s) | (xl >>> (32 - s));
        const l = (lo >>> 0) + (il >>> 0);
        hi = (hi + ih + (l > 0xffffffff ? 1 : 0)) | 0;
        lo = l | 0;
      }
      this.eaLo = lo; this.eaHi = hi;
      return hi * TWO32 + (lo >>> 0);
    }
    let a = i.disp;
    if (i.base >= 0) a += this.r32[i.base << 1]!;
    if (i.index >= 0) a += this.r32[i.index << 1]! << i.scale;
    return i.asize === 4 ? a >>> 0 : a & 0xffff;
  }

  /** Linear address of the memory operand (ea + segment) for an access of `size` bytes. */
  addr(i: Insn, size: number): number {
    return this.linear(i.seg >= 0 ? i.seg : i.defSeg, this.ea(i), size);
  }

  /** Linear address of a memory operand that will be written (or read-modify-written). */
  addrW(i: Insn, size: number): number {
    return this.linear(i.seg >= 0 ? i.seg : i.defSeg, this.ea(i), size, true);
  }

  /**
   * Address of a read-modify-write memory operand, already checked for the write: the hardware
   * reports a fault there as a write (#PF error code W=1) before reading, and no state changes.
   */
  addrRMW(i: Insn, size: number): number {
    const la = this.addrW(i, size);
    this.probeWrite(la, size);
    return la;
  }

  // ================= memory (linear addresses) =================
  // Fast path: a TLB hit for the current privilege and an access within one page. Everything else
  // (misses, page crossings, MMIO, code pages, dirty tracking) goes through mmu.ts.

  rd8(la: number): number {
    const vpn = Math.floor(la / PAGE_SIZE);
    const idx = this.kR + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn) return this.u8s[this.tlbReg[idx]!]![this.tlbOff[idx]! + la - vpn * PAGE_SIZE]!;
    return readSlow(this, la, 1, this.kR >> TLB_BITS);
  }
  rd16(la: number): number {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kR + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 2) return this.views[this.tlbReg[idx]!]!.getUint16(this.tlbOff[idx]! + off, true);
    return readSlow(this, la, 2, this.kR >> TLB_BITS);
  }
  /** Returns int32. */
  rd32(la: number): number {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kR + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 4) return this.views[this.tlbReg[idx]!]!.getInt32(this.tlbOff[idx]! + off, true);
    return readSlow(this, la, 4, this.kR >> TLB_BITS);
  }
  /** Returns the low half (int32); the high half is left in this.hi. */
  rd64(la: number): number {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kR + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 8) {
      const v = this.views[this.tlbReg[idx]!]!;
      const o = this.tlbOff[idx]! + off;
      this.hi = v.getInt32(o + 4, true);
      return v.getInt32(o, true);
    }
    return readSlow(this, la, 8, this.kR >> TLB_BITS);
  }
  wr8(la: number, v: number): void {
    const vpn = Math.floor(la / PAGE_SIZE);
    const idx = this.kW + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn) { this.u8s[this.tlbReg[idx]!]![this.tlbOff[idx]! + la - vpn * PAGE_SIZE] = v; return; }
    writeSlow(this, la, 1, v, 0, this.kW >> TLB_BITS);
  }
  wr16(la: number, v: number): void {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kW + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 2) { this.views[this.tlbReg[idx]!]!.setUint16(this.tlbOff[idx]! + off, v, true); return; }
    writeSlow(this, la, 2, v, 0, this.kW >> TLB_BITS);
  }
  wr32(la: number, v: number): void {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kW + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 4) { this.views[this.tlbReg[idx]!]!.setInt32(this.tlbOff[idx]! + off, v, true); return; }
    writeSlow(this, la, 4, v, 0, this.kW >> TLB_BITS);
  }
  wr64(la: number, lo: number, hi: number): void {
    const vpn = Math.floor(la / PAGE_SIZE);
    const off = la - vpn * PAGE_SIZE;
    const idx = this.kW + (vpn & TLB_MASK);
    if (this.tlbTag[idx] === vpn && off <= PAGE_SIZE - 8) {
      const v = this.views[this.tlbReg[idx]!]!;
      const o = this.tlbOff[idx]! + off;
      v.setInt32(o, lo, true); v.setInt32(o + 4, hi, true);
      return;
    }
    writeSlow(this, la, 8, lo, hi, this.kW >> TLB_BITS);
  }
  /** Checks that a later write of `size` bytes at `la` will not fault (read-modify-write and multi-part stores). */
  probeWrite(la: number, size: number): void { probeWriteSlow(this, la, size, this.kW >> TLB_BITS); }

  /** Reads/writes of `size` (1, 2, 4, 8) bytes; 64-bit values as lo return + this.hi. */
  rd(la: number, size: number): number {
    switch (size) { case 1: return this.rd8(la); case 2: return this.rd16(la); case 4: return this.rd32(la); default: return this.rd64(la); }
  }
  wr(la: number, size: number, lo: number, hi: number): void {
    switch (size) { case 1: this.wr8(la, lo); break; case 2: this.wr16(la, lo); break; case 4: this.wr32(la, lo); break; default: this.wr64(la, lo, hi); break; }
  }

  /** Supervisor-privilege (implicit) accesses: descriptor tables, TSS, IDT, page tables never go here. */
  rdSys(la: number, size: number): number { return readSlow(this, la, size, K_R); }
  wrSys(la: number, size: number, lo: number, hi: number): void { writeSlow(this, la, size, lo, hi, K_W); }
}

/** Wraps a number to the signed 64-bit range (values here are sums of at most three terms). */
export function wrap64(v: number): number {
  if (v >= 9223372036854775808) return v - 18446744073709551616;
  if (v < -9223372036854775808) return v + 18446744073709551616;
  return v;
}

export const BLOCK_CACHE_SIZE = 4096;
export const BLOCK_CACHE_MASK = BLOCK_CACHE_SIZE - 1;

export class Block {
  valid = true;
  constructor(readonly key: number, readonly insns: Insn[], readonly pages: number[]) {}
}
