/**
 * Delivery of exceptions and interrupts: the real-mode IVT, protected-mode IDT gates (16/32-bit
 * interrupt and trap gates, privilege changes through the TSS stack pointers, V86 exits) and
 * long-mode gates (IST stacks, 16-byte alignment); double-fault escalation and triple fault.
 */
import type { X86Cpu } from './cpu.js';
import {
  CS, SS, DS, ES, FS, GS, TR, IF, TF, NT, RF, VM, AC, DF_VEC, PF_VEC, DE, TS, NP, SS_VEC, GP,
  ATTR_P, ATTR_L, ATTR_DB, TWO32, hasErrorCode,
} from './constants.js';
import { desc, descAttr, readDescriptor, setSegFromDesc, loadNull, loadSegReal } from './segments.js';

export const KIND_EXCEPTION = 0, KIND_SOFTWARE = 1, KIND_EXTERNAL = 2, KIND_NMI = 3;

function contributory(v: number): boolean {
  return v === DE || (v >= TS && v <= GP);
}

/**
 * Raises `vector` with its error code, applying the double-fault rules when delivery itself faults.
 * Returns false on a triple fault (the caller exits with shutdown).
 */
export function raise(c: X86Cpu, vector: number, errorCode: number, kind: number, address = 0): boolean {
  let vec = vector, err = errorCode, k = kind;
  let prev = -1;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (vec === PF_VEC) c.cr2 = address;
    try {
      deliver(c, vec, hasErrorCode(vec) && k === KIND_EXCEPTION ? Math.max(err, 0) : -1, k);
      return true;
    } catch (e) {
      if (e !== c.fault$) throw e;
      const f = c.fault$;
      if (vec === DF_VEC) return false;
      // A fault while delivering INT n is reported at the INT instruction (a fault, not a trap).
      if (k === KIND_SOFTWARE) c.rip = c.insnStart;
      const benignPair = !((contributory(vec) || vec === PF_VEC) && (contributory(f.vector) || (vec === PF_VEC && f.vector === PF_VEC)));
      prev = vec;
      if (benignPair) {
        vec = f.vector; err = f.errorCode; address = f.address;
      } else {
        vec = DF_VEC; err = 0;
      }
      k = KIND_EXCEPTION;
    }
  }
  void prev;
  return false;
}

function push16Real(c: X86Cpu, v: number): void {
  const sp = (c.r32[8]! - 2) & 0xffff;
  c.wr16(c.linear(SS, sp, 2), v);
  c.setReg16(4, sp);
}

function deliverReal(c: X86Cpu, vector: number): void {
  if (vector * 4 + 3 > c.idtLimit) c.gp(0);
  const ip = c.rd16(c.idtBase + vector * 4);
  const cs = c.rd16(c.idtBase + vector * 4 + 2);
  push16Real(c, c.getFlags());
  push16Real(c, c.segSel[CS]!);
  push16Real(c, c.rip);
  c.eflags &= ~(IF | TF | AC | RF);
  loadSegReal(c, CS, cs, false);
  c.rip = ip;
}

/** Delivers one event; throws CpuFault (nested fault) if delivery faults. */
export function deliver(c: X86Cpu, vector: number, err: number, kind: number): void {
  c.halted = false;
  c.stopBlock = true;
  if ((c.cr0 & 1) === 0) { deliverReal(c, vector); return; }
  const ext = kind === KIND_EXTERNAL || kind === KIND_NMI ? 1 : 0;
  const long = (c.efer & 0x400) !== 0;
  const gateSize = long ? 16 : 8;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * gateSize + gateSize - 1 > c.idtLimit) c.gp(idtErr);
  const ga = c.idtBase + vector * gateSize;
  const lo = c.rdSys(ga, 4), hi = c.rdSys(ga + 4, 4);
  const type = (hi >>> 8) & 0x1f;
  const gdpl = (hi >>> 13) & 3;
  if (long ? (type !== 0xe && type !== 0xf) : (type !== 0x6 && type !== 0x7 && type !== 0xe && type !== 0xf)) c.gp(idtErr);
  if (kind === KIND_SOFTWARE && gdpl < c.cpl) c.gp(idtErr);
  if ((hi & 0x8000) === 0) c.fault(NP, idtErr);
  const sel = lo >>> 16;
  let offset = ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
  if (long) offset += (c.rdSys(ga + 8, 4) | 0) * TWO32;
  else if ((type & 8) === 0) offset &= 0xffff;
  const trapGate = (type & 1) !== 0;

  if ((sel & 0xfffc) === 0) c.gp(ext);
  if (!readDescriptor(c, sel)) c.gp((sel & 0xfffc) + ext);
  const cattr = descAttr(desc.hi);
  const cdpl = (cattr >> 5) & 3;
  if ((cattr & 0x18) !== 0x18 || cdpl > c.cpl) c.gp((sel & 0xfffc) + ext);
  if ((cattr & ATTR_P) === 0) c.fault(NP, (sel & 0xfffc) + ext);
  if (long && ((cattr & ATTR_L) === 0 || (cattr & ATTR_DB) !== 0)) c.gp((sel & 0xfffc) + ext);
  const conforming = (cattr & 4) !== 0;
  const newCpl = conforming ? c.cpl : cdpl;
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  const oldFlags = c.getFlags();
  const oldCs = c.segSel[CS]!, oldSs = c.segSel[SS]!;
  const oldRip = c.rip;
  const oldRsp = c.regValue(4);
  const v86 = (oldFlags & VM) !== 0;

  if (long) {
    const ist = hi & 7;
    let rsp: number;
    if (ist !== 0) rsp = readTss64(c, 0x24 + (ist - 1) * 8);
    else if (newCpl < c.cpl) rsp = readTss64(c, 4 + newCpl * 8);
    else rsp = oldRsp;
    rsp = Math.floor(rsp / 16) * 16;
    const frame = [oldSs, oldRsp, oldFlags, oldCs, oldRip];
    if (err >= 0) frame.push(err);
    // Switch to the handler's privilege first so the pushes are checked at that level.
    const oldCpl = c.cpl;
    desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
    setSegFromDesc(c, CS, (sel & 0xfffc) | newCpl);
    // A privilege change loads SS with a null selector whose RPL is the new CPL.
    if (newCpl !== oldCpl) loadNull(c, SS, newCpl);
    let sp = rsp;
    for (const v of frame) {
      sp -= 8;
      const hiPart = Math.floor(v / TWO32);
      c.wrSys(sp, 8, (v - hiPart * TWO32) | 0, hiPart | 0);
    }
    c.setAddr64(4, sp);
    c.rip = offset;
  } else {
    const size = (type & 8) !== 0 ? 4 : 2;
    let ssSel = oldSs, esp = oldRsp >>> 0;
    const inner = newCpl < c.cpl;
    if (v86 && newCpl !== 0) c.gp((sel & 0xfffc) + ext);
    if (inner) {
      const tssBase = c.segBase[TR]!;
      const t32 = (c.segAttr[TR]! & 0x8) !== 0;
      if (t32) { esp = c.rdSys(tssBase + 4 + newCpl * 8, 4) >>> 0; ssSel = c.rdSys(tssBase + 8 + newCpl * 8, 2); }
      else { esp = c.rdSys(tssBase + 2 + newCpl * 4, 2); ssSel = c.rdSys(tssBase + 4 + newCpl * 4, 2); }
      if ((ssSel & 0xfffc) === 0) c.fault(TS, ext);
      if (!readDescriptor(c, ssSel)) c.fault(TS, (ssSel & 0xfffc) + ext);
      const sattr = descAttr(desc.hi);
      if ((ssSel & 3) !== newCpl || ((sattr >> 5) & 3) !== newCpl || (sattr & 0x1a) !== 0x12) c.fault(TS, (ssSel & 0xfffc) + ext);
      if ((sattr & ATTR_P) === 0) c.fault(SS_VEC, (ssSel & 0xfffc) + ext);
      setSegFromDesc(c, SS, ssSel);
    }
    desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
    setSegFromDesc(c, CS, (sel & 0xfffc) | newCpl);
    c.cpl = newCpl;
    c.eflags &= ~VM;
    c.updateMode();
    const frame: number[] = [];
    if (inner) {
      if (v86) frame.push(c.segSel[GS]!, c.segSel[FS]!, c.segSel[DS]!, c.segSel[ES]!);
      frame.push(oldSs, oldRsp >>> 0);
    }
    frame.push(oldFlags, oldCs, oldRip >>> 0);
    if (err >= 0) frame.push(err);
    const mask = c.stackSize === 4 ? 0xffffffff : 0xffff;
    let sp = inner ? esp : (c.stackSize === 4 ? oldRsp >>> 0 : oldRsp & 0xffff);
    for (const v of frame) {
      sp = (sp - size) & mask;
      sp >>>= 0;
      // Pushes are checked against the (new) SS limit: a bad stack escalates to #DF.
      c.wrSys(c.linear(SS, sp, size, true), size, v, 0);
    }
    if (c.stackSize === 4) c.setReg32(4, sp); else c.setReg16(4, sp);
    if (v86 && inner) for (const s of [GS, FS, DS, ES]) loadNull(c, s, 0);
    c.rip = offset;
  }
  c.eflags &= ~(TF | NT | RF | VM);
  if (!trapGate) c.eflags &= ~IF;
  c.updateMode();
}

function readTss64(c: X86Cpu, off: number): number {
  const base = c.segBase[TR]!;
  if (off + 7 > c.segLimit[TR]!) c.fault(TS, c.segSel[TR]! & 0xfffc);
  const lo = c.rdSys(base + off, 4);
  const hi = c.hi;
  const h = c.rdSys(base + off + 4, 4);
  void hi;
  const v = h * TWO32 + (lo >>> 0);
  if (v < -140737488355328 || v >= 140737488355328) c.gp(0);
  return v;
}

