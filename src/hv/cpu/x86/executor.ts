/**
 * The run loop: find (or decode and cache) the block at CS:RIP, execute its instructions, handle
 * faults and external events at block boundaries. Blocks are keyed by physical address and mode,
 * never cross a page (an instruction straddling two pages gets a block of its own that is not
 * cached), and are dropped when their page is written.
 */
import { Block, BLOCK_CACHE_MASK, type X86Cpu } from './cpu.js';
import { decode, NeedMoreBytes, DecodeUd, setUndefinedHandler } from './decoder.js';
import { F_END, type Insn } from './insn.js';
import { translateFetch, flushWrites } from './mmu.js';
import { raise, KIND_EXCEPTION, KIND_EXTERNAL, KIND_NMI } from './exceptions.js';
import { PAGE_SIZE } from '../../memory/guest-memory.js';
import { CS, IF, TF, RF, DB, NMI_VEC, UD } from './constants.js';
import { EXIT_BUDGET, EXIT_HALT, EXIT_SHUTDOWN, EXIT_STOPPED, EXIT_WAIT_SIPI } from '../../processor.js';

const MAX_BLOCK = 64;
const fetchBuf = new Uint8Array(PAGE_SIZE + 16);

setUndefinedHandler((c: X86Cpu) => c.fault(UD));

/** Linear address of the next instruction, with the CS limit check outside 64-bit mode. */
function fetchLinear(c: X86Cpu): number {
  if (c.mode64) {
    if (c.rip < -140737488355328 || c.rip >= 140737488355328) c.gp(0);
    return c.rip;
  }
  if (c.rip > c.segLimit[CS]!) c.gp(0);
  return (c.segBase[CS]! + c.rip) >>> 0;
}

function buildBlock(c: X86Cpu, la: number, pa: number, key: number): Block {
  const pageOff = pa % PAGE_SIZE;
  const avail = PAGE_SIZE - pageOff;
  c.mem.readBytes(pa, fetchBuf.subarray(0, avail));
  const insns: Insn[] = [];
  const mode = { codeSize: c.codeSize };
  let pos = 0;
  let crossPage = false;
  const page = Math.floor(pa / PAGE_SIZE);
  const pages = [page];
  while (insns.length < MAX_BLOCK) {
    let i: Insn;
    try {
      i = decode(fetchBuf, pos, avail, mode);
    } catch (e) {
      if (e instanceof DecodeUd) { if (insns.length === 0) c.fault(UD); break; }
      if (!(e instanceof NeedMoreBytes)) throw e;
      if (insns.length > 0) break;
      // The first instruction straddles the page: fetch the next page's bytes (may #PF there).
      const la2 = Math.floor(la / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE;
      const pa2 = translateFetch(c, c.mode64 ? la2 : la2 >>> 0);
      c.mem.readBytes(pa2, fetchBuf.subarray(avail, avail + 16));
      try {
        i = decode(fetchBuf, 0, avail + 16, mode);
      } catch (e2) {
        if (e2 instanceof DecodeUd) c.fault(UD);
        throw e2;
      }
      crossPage = true;
      insns.push(i);
      break;
    }
    insns.push(i);
    pos += i.len;
    if ((i.flags & F_END) !== 0 || pos >= avail) break;
  }
  const b = new Block(key, insns, pages);
  if (!crossPage) {
    c.blocks.set(key, b);
    let list = c.blocksByPage.get(page);
    if (list === undefined) { list = []; c.blocksByPage.set(page, list); }
    list.push(b);
    const ri = c.mem.regionIndex(pa);
    if (ri >= 0) {
      const r = c.mem.regions[ri]!;
      const pg = (pa - r.base) / PAGE_SIZE | 0;
      if (r.code[pg] === 0) {
        r.code[pg] = 1;
        flushWrites(c, ri, pg * PAGE_SIZE);
      }
    }
  } else {
    b.valid = false;
  }
  return b;
}

export function flushBlocks(c: X86Cpu): void {
  for (const b of c.blocks.values()) b.valid = false;
  c.blocks.clear();
  c.blocksByPage.clear();
}

function currentBlock(c: X86Cpu): Block {
  const la = fetchLinear(c);
  const pa = translateFetch(c, la);
  const key = pa * 4 + c.modeKey();
  const slot = (pa ^ (pa >>> 11)) & BLOCK_CACHE_MASK;
  if (c.blockCacheKey[slot] === key) {
    const hit = c.blockCache[slot]!;
    if (hit.valid) return hit;
  }
  const b = c.blocks.get(key) ?? buildBlock(c, la, pa, key);
  if (b.valid) { c.blockCacheKey[slot] = key; c.blockCache[slot] = b; }
  return b;
}

function execBlock(c: X86Cpu, b: Block): void {
  const insns = b.insns;
  const n = insns.length;
  c.stopBlock = false;
  const wrap = c.codeSize === 8 ? 0 : c.codeSize === 4 ? 1 : 2;
  for (let k = 0; k < n; k++) {
    const i = insns[k]!;
    const start = c.rip;
    c.insnStart = start;
    const next = start + i.len;
    c.rip = wrap === 0 ? next : wrap === 1 ? next >>> 0 : next & 0xffff;
    c.icount++;
    i.exec(c, i);
    if (c.stopBlock) break;
  }
}

/** Instruction breakpoints: a #DB fault before the instruction unless RF suppresses it. */
function checkExecBreakpoints(c: X86Cpu): void {
  if ((c.eflags & RF) !== 0) return;
  const la = c.mode64 ? c.rip : (c.segBase[CS]! + c.rip) >>> 0;
  let hit = 0;
  for (let n = 0; n < 4; n++) if ((c.execBreakpoints & (1 << n)) !== 0 && c.dr[n] === la) hit |= 1 << n;
  if (hit !== 0) { c.dr[6] = ((c.dr[6]! & ~0xf) | hit) >>> 0; c.fault(DB); }
}

/** Runs one instruction only (single-step with TF, shadows, breakpoints, tracing). */
function execOne(c: X86Cpu, b: Block): void {
  const i = b.insns[0]!;
  if (c.execBreakpoints !== 0) checkExecBreakpoints(c);
  c.insnStart = c.rip;
  const next = c.rip + i.len;
  c.rip = c.codeSize === 8 ? next : c.codeSize === 4 ? next >>> 0 : next & 0xffff;
  c.icount++;
  c.stopBlock = false;
  if (c.trace !== null) c.trace(c, i);
  i.exec(c, i);
  c.eflags &= ~RF;
}

/** Returns false on triple fault. */
function checkEvents(c: X86Cpu): boolean {
  if (c.icount <= c.shadowUntil) return true;
  if (c.nmiPending && !c.nmiBlocked) {
    c.nmiPending = false;
    c.nmiBlocked = true;
    c.halted = false;
    return raise(c, NMI_VEC, -1, KIND_NMI);
  }
  if ((c.eflags & IF) !== 0 && c.intc !== null) {
    const v = c.intc.pendingVector();
    if (v >= 0) {
      const vec = c.intc.acknowledge();
      c.halted = false;
      return raise(c, vec, -1, KIND_EXTERNAL);
    }
  }
  return true;
}

/**
 * The processor's run loop (see VirtualProcessor.run). Rare conditions — stop requests, events,
 * halt, interrupt shadows, single-step, breakpoints, tracing — are examined only on entry and after
 * a block that set stopBlock (every instruction that can create one of them does) or faulted; the
 * common path just fetches and runs blocks.
 */
export function runCpu(c: X86Cpu, budget: number): number {
  const target = c.icount + budget;
  let slow = true;
  for (;;) {
    if (slow) {
      if (c.stopRequested) {
        c.stopRequested = false;
        if (c.tripleFault) { c.tripleFault = false; return EXIT_SHUTDOWN; }
        return EXIT_STOPPED;
      }
      if (c.waitSipi) return EXIT_WAIT_SIPI;
      if (!checkEvents(c)) return EXIT_SHUTDOWN;
      if (c.halted) return EXIT_HALT;
      if (c.icount >= target) return EXIT_BUDGET;
      const special = (c.eflags & TF) !== 0 || c.dataBreakpoints !== 0 || c.execBreakpoints !== 0 || c.heldStep ||
        c.trace !== null || (c.shadowUntil >= 0 && c.icount < c.shadowUntil + 1);
      if (special) {
        const r = stepSpecial(c);
        if (r >= 0) return r;
        continue;
      }
      slow = false;
    }
    if (c.icount >= target) return EXIT_BUDGET;
    c.insnStart = c.rip;
    try {
      execBlock(c, currentBlock(c));
      if (c.stopBlock) slow = true;
    } catch (e) {
      slow = true;
      const r = onFault(c, e);
      if (r >= 0) return r;
    }
  }
}

/** Runs one instruction with single-step, breakpoint, shadow or trace handling; returns an exit or -1. */
function stepSpecial(c: X86Cpu): number {
  c.insnStart = c.rip;
  try {
    const b = currentBlock(c);
    const stepping = (c.eflags & TF) !== 0;
    c.ssShadow = false;
    execOne(c, b);
    if (c.ssShadow) {
      // MOV SS / POP SS: single-step and data-breakpoint traps wait for the next instruction.
      c.heldStep = c.heldStep || stepping;
    } else if (stepping || c.heldStep || c.pendingDb !== 0) {
      const step = stepping || c.heldStep;
      c.dr[6] = ((c.dr[6]! & ~0xf) | c.pendingDb | (step ? 0x4000 : 0)) >>> 0;
      c.pendingDb = 0;
      c.heldStep = false;
      if (!raise(c, DB, -1, KIND_EXCEPTION)) return EXIT_SHUTDOWN;
    }
  } catch (e) {
    return onFault(c, e);
  }
  return -1;
}

/** A guest exception unwound out of an instruction: deliver it (or stop, for test harnesses). */
function onFault(c: X86Cpu, e: unknown): number {
  if (e !== c.fault$) throw e;
  const f = c.fault$;
  c.rip = c.insnStart;
  c.stopBlock = true;
  if (c.trapExceptions) {
    c.trappedVector = f.vector; c.trappedErrorCode = f.errorCode;
    if (f.vector === 14) c.cr2 = f.address;
    return EXIT_STOPPED;
  }
  if (!raise(c, f.vector, f.errorCode, KIND_EXCEPTION, f.address)) return EXIT_SHUTDOWN;
  return -1;
}

