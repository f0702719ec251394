/**
 * Far control transfers: JMP/CALL far (direct and through call gates), RET far, INT n/INT3/INTO/
 * INT1, IRET (real, V86, protected, long mode), SYSCALL/SYSRET, SYSENTER/SYSEXIT.
 * Hardware task switching (task gates, TSS selectors as far targets) raises #GP: no 64-bit OS uses
 * it and 32-bit Linux only for the double-fault handler (see docs/cpu-coverage.md).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { push, pop, peek, pairValue } from './operands.js';
import { jumpTo } from './control.js';
import { raise, KIND_SOFTWARE, KIND_EXCEPTION } from '../exceptions.js';
import {
  desc, descAttr, readDescriptor, setSegFromDesc, loadSegReal, loadCodeSeg, checkDirectCodeTarget,
  nullifyInaccessible, loadNull,
} from '../segments.js';
import {
  CS, SS, DS, ES, FS, GS, TR, IF, VM, RF, IOPL, NT, AC, ID, TF, DF, VIF, VIP, ARITH_FLAGS, NP, SS_VEC, TS,
  ATTR_P, ATTR_S, ATTR_L, ATTR_DB, ATTR_G, BP, OF_VEC, DB, EFER_SCE, EFER_LMA, TWO32,
} from '../constants.js';
import { setArithFlags, getOF } from '../flags.js';

function shutdownIfFailed(c: X86Cpu, ok: boolean): void {
  if (!ok) { c.tripleFault = true; c.stopRequested = true; }
  c.stopBlock = true;
}

// ---------------- INT ----------------

function intN(c: X86Cpu, i: Insn): void {
  if ((c.eflags & VM) !== 0 && ((c.eflags >> 12) & 3) < 3) c.gp(0);
  shutdownIfFailed(c, raise(c, i.imm & 0xff, -1, KIND_SOFTWARE));
}
/** INT3 and INTO are traps; a test harness that traps exceptions stops after the instruction. */
function softwareException(c: X86Cpu, vector: number): void {
  if (c.trapExceptions) {
    c.trappedVector = vector; c.trappedErrorCode = -1;
    c.stopRequested = true; c.stopBlock = true;
    return;
  }
  shutdownIfFailed(c, raise(c, vector, -1, KIND_SOFTWARE));
}
function int3(c: X86Cpu): void { softwareException(c, BP); }
function into(c: X86Cpu): void {
  if (c.mode64) c.ud();
  if (getOF(c.lf)) softwareException(c, OF_VEC);
}
function int1(c: X86Cpu): void { shutdownIfFailed(c, raise(c, DB, -1, KIND_EXCEPTION)); }

// ---------------- far JMP / CALL ----------------

/** Reads a far pointer operand m16:16/32/64 → [offset, selector]. */
function farPointer(c: X86Cpu, i: Insn): [number, number] {
  if (i.mod === 3) c.ud();
  const la = c.addr(i, i.osize + 2);
  let off: number;
  if (i.osize === 8) { const lo = c.rd64(la); off = pairValue(lo, c.hi); }
  else off = i.osize === 4 ? c.rd32(la) >>> 0 : c.rd16(la);
  const sel = c.rd16(la + i.osize);
  return [off, sel];
}

function checkTargetLimit(c: X86Cpu, off: number): void {
  if (!c.mode64 && off > c.segLimit[CS]!) c.gp(0);
}

/** Common far JMP/CALL: `call` pushes the return address with the right stack/size. */
function farTransfer(c: X86Cpu, i: Insn, off: number, sel: number, call: boolean): void {
  if (!c.protectedMode) {
    if (call) { push(c, i.osize, c.segSel[CS]!, 0); push(c, i.osize, c.rip, 0); }
    loadSegReal(c, CS, sel, (c.eflags & VM) !== 0);
    jumpTo(c, off, i.osize === 8 ? 4 : i.osize);
    c.stopBlock = true;
    return;
  }
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (!readDescriptor(c, sel, false)) c.gp(sel & 0xfffc);
  const attr = descAttr(desc.hi);
  if ((attr & ATTR_S) !== 0) {
    checkDirectCodeTarget(c, sel);
    const retCs = c.segSel[CS]!, retIp = c.rip;
    const saveLo = desc.lo, saveHi = desc.hi, saveAddr = desc.addr;
    if (call) {
      const sz = i.osize;
      // Push with the old CS still loaded (the stack size does not change for a same-level call).
      push(c, sz, retCs, 0);
      if (sz === 8) { const hi = Math.floor(retIp / TWO32); push(c, 8, (retIp - hi * TWO32) | 0, hi | 0); }
      else push(c, sz, retIp, 0);
    }
    desc.lo = saveLo; desc.hi = saveHi; desc.addr = saveAddr;
    loadCodeSeg(c, sel, c.cpl);
    checkTargetLimit(c, off);
    c.rip = c.mode64 ? off : c.codeSize === 4 || i.osize === 4 ? off >>> 0 : off & 0xffff;
    return;
  }
  const type = attr & 0xf;
  if (type !== 0x4 && type !== 0xc) c.gp(sel & 0xfffc); // task gates / TSS: no hardware task switch
  callGate(c, i, sel, attr, call);
}

function callGate(c: X86Cpu, i: Insn, gateSel: number, gattr: number, call: boolean): void {
  const long = (c.efer & EFER_LMA) !== 0;
  const gdpl = (gattr >> 5) & 3;
  if (gdpl < c.cpl || gdpl < (gateSel & 3)) c.gp(gateSel & 0xfffc);
  if ((gattr & ATTR_P) === 0) c.fault(NP, gateSel & 0xfffc);
  if (long) { if (!readDescriptor(c, gateSel, true)) c.gp(gateSel & 0xfffc); if (((desc.hi2 >>> 8) & 0x1f) !== 0) c.gp(gateSel & 0xfffc); }
  const glo = desc.lo, ghi = desc.hi;
  const target = glo >>> 16;
  let off = ((glo & 0xffff) | (ghi & 0xffff0000)) >>> 0;
  if (long) off += (desc.hi2 | 0) * TWO32;
  const gate32 = (gattr & 0x8) !== 0;
  if (!gate32) off &= 0xffff;
  const params = ghi & 0x1f;
  if ((target & 0xfffc) === 0) c.gp(0);
  if (!readDescriptor(c, target)) c.gp(target & 0xfffc);
  const cattr = descAttr(desc.hi);
  const cdpl = (cattr >> 5) & 3;
  if ((cattr & 0x18) !== 0x18 || cdpl > c.cpl) c.gp(target & 0xfffc);
  if ((cattr & ATTR_P) === 0) c.fault(NP, target & 0xfffc);
  if (long && ((cattr & ATTR_L) === 0 || (cattr & ATTR_DB) !== 0)) c.gp(target & 0xfffc);
  const conforming = (cattr & 4) !== 0;
  if (!call && !conforming && cdpl !== c.cpl) c.gp(target & 0xfffc);
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  const size = long ? 8 : gate32 ? 4 : 2;
  const oldCs = c.segSel[CS]!, oldRip = c.rip;
  if (call && !conforming && cdpl < c.cpl) {
    // More privileged: switch stacks from the TSS, copy parameters (legacy), push the old SS:SP.
    const oldSs = c.segSel[SS]!, oldSp = c.spValue();
    const oldSsBase = c.segBase[SS]!;
    const oldStack = c.stackSize;
    let newSp: number, newSs: number;
    if (long) {
      const base = c.segBase[TR]!;
      const lo = c.rdSys(base + 4 + cdpl * 8, 4), hi = c.rdSys(base + 8 + cdpl * 8, 4);
      newSp = hi * TWO32 + (lo >>> 0);
      newSs = cdpl;
    } else {
      const base = c.segBase[TR]!;
      if ((c.segAttr[TR]! & 0x8) !== 0) { newSp = c.rdSys(base + 4 + cdpl * 8, 4) >>> 0; newSs = c.rdSys(base + 8 + cdpl * 8, 2); }
      else { newSp = c.rdSys(base + 2 + cdpl * 4, 2); newSs = c.rdSys(base + 4 + cdpl * 4, 2); }
    }
    const copied: number[] = [];
    if (!long) for (let k = params - 1; k >= 0; k--) copied.push(c.rd((oldSsBase + oldSp + k * size) >>> 0, size));
    if (long) loadNull(c, SS, newSs);
    else {
      if ((newSs & 0xfffc) === 0) c.fault(TS, 0);
      if (!readDescriptor(c, newSs)) c.fault(TS, newSs & 0xfffc);
      const sa = descAttr(desc.hi);
      if ((newSs & 3) !== cdpl || ((sa >> 5) & 3) !== cdpl || (sa & 0x1a) !== 0x12) c.fault(TS, newSs & 0xfffc);
      if ((sa & ATTR_P) === 0) c.fault(SS_VEC, newSs & 0xfffc);
      setSegFromDesc(c, SS, newSs);
    }
    desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
    loadCodeSeg(c, target, cdpl);
    if (long) c.setAddr64(4, newSp); else c.setSp(newSp);
    void oldStack;
    push(c, size, oldSs, 0);
    pushValue(c, size, oldSp);
    for (const v of copied.reverse()) push(c, size, v, 0);
    push(c, size, oldCs, 0);
    pushValue(c, size, oldRip);
  } else {
    if (call) { push(c, size, oldCs, 0); pushValue(c, size, oldRip); }
    desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
    loadCodeSeg(c, target, c.cpl);
  }
  checkTargetLimit(c, off);
  c.rip = off;
}

function pushValue(c: X86Cpu, size: number, v: number): void {
  if (size === 8) { const hi = Math.floor(v / TWO32); push(c, 8, (v - hi * TWO32) | 0, hi | 0); }
  else push(c, size, size === 4 ? v | 0 : v & 0xffff, 0);
}

function jmpFarPtr(c: X86Cpu, i: Insn): void { if (c.mode64) c.ud(); farTransfer(c, i, i.osize === 2 ? i.imm & 0xffff : i.imm >>> 0, i.imm2, false); }
function callFarPtr(c: X86Cpu, i: Insn): void { if (c.mode64) c.ud(); farTransfer(c, i, i.osize === 2 ? i.imm & 0xffff : i.imm >>> 0, i.imm2, true); }
function jmpFarMem(c: X86Cpu, i: Insn): void { const [o, s] = farPointer(c, i); farTransfer(c, i, o, s, false); }
function callFarMem(c: X86Cpu, i: Insn): void { const [o, s] = farPointer(c, i); farTransfer(c, i, o, s, true); }

// ---------------- RET far ----------------

function retFar(c: X86Cpu, i: Insn): void {
  const size = i.osize;
  const imm = i.opcode === 0xca ? i.imm & 0xffff : 0;
  const ipv = peek(c, 0, size);
  const ipHi = c.hi;
  const sel = peek(c, size, size) & 0xffff;
  const off = size === 8 ? pairValue(ipv, ipHi) : size === 4 ? ipv >>> 0 : ipv & 0xffff;
  if (!c.protectedMode) {
    pop(c, size); pop(c, size);
    loadSegReal(c, CS, sel, (c.eflags & VM) !== 0);
    c.rip = off;
    c.setSp(c.spValue() + imm);
    return;
  }
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (!readDescriptor(c, sel)) c.gp(sel & 0xfffc);
  const attr = descAttr(desc.hi);
  const rpl = sel & 3;
  if ((attr & 0x18) !== 0x18 || rpl < c.cpl) c.gp(sel & 0xfffc);
  const dpl = (attr >> 5) & 3;
  if ((attr & 4) !== 0 ? dpl > rpl : dpl !== rpl) c.gp(sel & 0xfffc);
  if ((attr & ATTR_P) === 0) c.fault(NP, sel & 0xfffc);
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  if (rpl === c.cpl) {
    pop(c, size); pop(c, size);
    desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
    loadCodeSeg(c, sel, rpl);
    c.rip = off;
    c.setSp(c.spValue() + imm);
    return;
  }
  // Return to an outer level: the new SS:SP sits above the parameters.
  const spv = peek(c, 2 * size + imm, size);
  const spHi = c.hi;
  const ss = peek(c, 3 * size + imm, size) & 0xffff;
  const newSp = size === 8 ? pairValue(spv, spHi) : size === 4 ? spv >>> 0 : spv & 0xffff;
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  loadCodeSeg(c, sel, rpl);
  loadOuterSs(c, ss, rpl);
  c.setSp(newSp + imm);
  c.rip = off;
  nullifyInaccessible(c);
}

function loadOuterSs(c: X86Cpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) {
    if (!c.mode64 || rpl === 3) c.gp(0);
    loadNull(c, SS, ss);
    return;
  }
  if (!readDescriptor(c, ss)) c.gp(ss & 0xfffc);
  const a = descAttr(desc.hi);
  if ((ss & 3) !== rpl || ((a >> 5) & 3) !== rpl || (a & 0x1a) !== 0x12) c.gp(ss & 0xfffc);
  if ((a & ATTR_P) === 0) c.fault(SS_VEC, ss & 0xfffc);
  setSegFromDesc(c, SS, ss);
}

// ---------------- IRET ----------------

function applyIretFlags(c: X86Cpu, v: number, size: number, cplBefore: number): void {
  const old = c.getFlags();
  let changeable = ARITH_FLAGS | TF | DF | NT | RF | AC | ID | VIF | VIP;
  const iopl = (old >> 12) & 3;
  if ((c.cr0 & 1) === 0) changeable |= IOPL | IF;
  else {
    if (cplBefore === 0) changeable |= IOPL | VM;
    if (cplBefore <= iopl) changeable |= IF;
    if (cplBefore !== 0) changeable &= ~(VIF | VIP);
  }
  if (size === 2) changeable &= 0xffff;
  const next = (old & ~changeable) | (v & changeable);
  setArithFlags(c.lf, next);
  c.eflags = (next & ~ARITH_FLAGS) | 2;
}

function iret(c: X86Cpu, i: Insn): void {
  const size = i.osize;
  c.nmiBlocked = false;
  c.stopBlock = true;
  if ((c.cr0 & 1) === 0 || (c.eflags & VM) !== 0) {
    if ((c.eflags & VM) !== 0 && ((c.eflags >> 12) & 3) < 3) c.gp(0);
    const ip = peek(c, 0, size), cs = peek(c, size, size) & 0xffff, fl = peek(c, 2 * size, size);
    pop(c, size); pop(c, size); pop(c, size);
    loadSegReal(c, CS, cs, (c.eflags & VM) !== 0);
    c.rip = size === 4 ? ip >>> 0 : ip & 0xffff;
    const keep = (c.eflags & VM) !== 0 ? (IOPL | VM) : VM;
    const merged = (fl & ~keep) | (c.getFlags() & keep);
    applyRealFlags(c, merged, size);
    return;
  }
  if ((c.eflags & NT) !== 0 && (c.efer & EFER_LMA) === 0) c.gp(c.segSel[TR]! & 0xfffc); // task return: unsupported
  const ipv = peek(c, 0, size);
  const ipHi = c.hi;
  const cs = peek(c, size, size) & 0xffff;
  const fl = peek(c, 2 * size, size);
  const ip = size === 8 ? pairValue(ipv, ipHi) : size === 4 ? ipv >>> 0 : ipv & 0xffff;
  const cplBefore = c.cpl;
  if ((fl & VM) !== 0 && cplBefore === 0 && size === 4 && !c.mode64 && (c.efer & EFER_LMA) === 0) { iretToV86(c, ip, cs, fl); return; }
  if ((cs & 0xfffc) === 0) c.gp(0);
  if (!readDescriptor(c, cs)) c.gp(cs & 0xfffc);
  const attr = descAttr(desc.hi);
  const rpl = cs & 3;
  if ((attr & 0x18) !== 0x18 || rpl < c.cpl) c.gp(cs & 0xfffc);
  const dpl = (attr >> 5) & 3;
  if ((attr & 4) !== 0 ? dpl > rpl : dpl !== rpl) c.gp(cs & 0xfffc);
  if ((attr & ATTR_P) === 0) c.fault(NP, cs & 0xfffc);
  if ((c.efer & EFER_LMA) !== 0 && (attr & ATTR_L) !== 0 && (attr & ATTR_DB) !== 0) c.gp(cs & 0xfffc);
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  const popsStack = rpl !== c.cpl || c.mode64;
  let newSp = 0, ss = 0;
  if (popsStack) {
    const spv = peek(c, 3 * size, size);
    const spHi = c.hi;
    ss = peek(c, 4 * size, size) & 0xffff;
    newSp = size === 8 ? pairValue(spv, spHi) : size === 4 ? spv >>> 0 : spv & 0xffff;
  }
  if ((c.efer & EFER_LMA) !== 0 && (attr & ATTR_L) !== 0 && (ip < -140737488355328 || ip >= 140737488355328)) c.gp(0);
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  if (popsStack) {
    const sp0 = c.spValue();
    loadCodeSeg(c, cs, rpl);
    loadOuterSs(c, ss, rpl);
    void sp0;
    if (c.stackSize === 8 || c.mode64) c.setAddr64(4, newSp);
    else c.setSp(newSp);
  } else {
    const sp = c.spValue() + 3 * size;
    loadCodeSeg(c, cs, rpl);
    c.setSp(c.stackSize === 4 ? sp >>> 0 : c.stackSize === 2 ? sp & 0xffff : sp);
  }
  c.rip = ip;
  applyIretFlags(c, fl, size, cplBefore);
  if (rpl > cplBefore) nullifyInaccessible(c);
  c.updateMode();
}

function applyRealFlags(c: X86Cpu, v: number, size: number): void {
  const old = c.getFlags();
  const mask = size === 2 ? 0xffff : 0x3f7fd5;
  const next = (old & ~mask) | (v & mask);
  setArithFlags(c.lf, next);
  c.eflags = (next & ~ARITH_FLAGS) | 2;
  c.updateMode();
}

function iretToV86(c: X86Cpu, ip: number, cs: number, fl: number): void {
  const esp = peek(c, 12, 4) >>> 0;
  const ss = peek(c, 16, 4) & 0xffff, es = peek(c, 20, 4) & 0xffff, ds = peek(c, 24, 4) & 0xffff;
  const fs = peek(c, 28, 4) & 0xffff, gs = peek(c, 32, 4) & 0xffff;
  setArithFlags(c.lf, fl);
  c.eflags = (fl & ~ARITH_FLAGS) | 2 | VM;
  c.updateMode();
  for (const [s, v] of [[CS, cs], [SS, ss], [ES, es], [DS, ds], [FS, fs], [GS, gs]] as const) loadSegReal(c, s, v, true);
  c.setReg32(4, esp);
  c.rip = ip & 0xffff;
  c.updateMode();
}

// ---------------- SYSCALL / SYSRET / SYSENTER / SYSEXIT ----------------

function flatCode(c: X86Cpu, sel: number, dpl: number, long: boolean): void {
  c.segSel[CS] = sel; c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff;
  c.segAttr[CS] = 0xb | ATTR_S | (dpl << 5) | ATTR_P | ATTR_G | (long ? ATTR_L : ATTR_DB);
}
function flatStack(c: X86Cpu, sel: number, dpl: number): void {
  c.segSel[SS] = sel; c.segBase[SS] = 0; c.segLimit[SS] = 0xffffffff;
  c.segAttr[SS] = 0x3 | ATTR_S | (dpl << 5) | ATTR_P | ATTR_G | ATTR_DB;
}

function syscall(c: X86Cpu): void {
  if ((c.efer & EFER_SCE) === 0 || !c.mode64) c.ud();
  const star = c.star;
  const sel = Number((star >> 32n) & 0xffffn) & 0xfffc;
  c.setAddr64(1, c.rip);
  const fl = c.getFlags() & ~RF;
  c.setReg64(11, fl, 0);
  flatCode(c, sel, 0, true);
  flatStack(c, sel + 8, 0);
  const nf = fl & ~c.sfmask & ~RF;
  setArithFlags(c.lf, nf);
  c.eflags = (nf & ~ARITH_FLAGS) | 2;
  c.updateMode();
  c.rip = c.lstar;
}

function sysret(c: X86Cpu, i: Insn): void {
  if ((c.efer & EFER_SCE) === 0 || !c.mode64) c.ud();
  if (c.cpl !== 0) c.gp(0);
  const base = Number((c.star >> 48n) & 0xffffn);
  const to64 = i.osize === 8;
  const target = to64 ? c.regValue(1) : c.reg32(1) >>> 0;
  if (to64 && (target < -140737488355328 || target >= 140737488355328)) c.gp(0);
  flatCode(c, ((to64 ? base + 16 : base) & 0xfffc) | 3, 3, to64);
  c.segSel[SS] = ((base + 8) & 0xfffc) | 3;
  c.segAttr[SS] = 0x3 | ATTR_S | (3 << 5) | ATTR_P | ATTR_G | ATTR_DB;
  const fl = (c.reg32(11) & ~(RF | VM)) | 2;
  setArithFlags(c.lf, fl);
  c.eflags = (fl & ~ARITH_FLAGS) | 2;
  c.updateMode();
  c.rip = target;
}

function sysenter(c: X86Cpu): void {
  if ((c.cr0 & 1) === 0) c.gp(0);
  const cs = c.sysenterCs & 0xfffc;
  if (cs === 0) c.gp(0);
  const long = (c.efer & EFER_LMA) !== 0;
  c.eflags &= ~(VM | IF | RF);
  flatCode(c, cs, 0, long);
  flatStack(c, cs + 8, 0);
  c.updateMode();
  if (long) { c.setAddr64(4, c.sysenterEsp); c.rip = c.sysenterEip; }
  else { c.setReg32(4, c.sysenterEsp | 0); c.rip = c.sysenterEip >>> 0; }
}

function sysexit(c: X86Cpu, i: Insn): void {
  if ((c.cr0 & 1) === 0 || c.cpl !== 0) c.gp(0);
  const cs = c.sysenterCs & 0xfffc;
  if (cs === 0) c.gp(0);
  const to64 = i.osize === 8;
  flatCode(c, ((to64 ? cs + 32 : cs + 16) & 0xfffc) | 3, 3, to64);
  flatStack(c, ((to64 ? cs + 40 : cs + 24) & 0xfffc) | 3, 3);
  c.updateMode();
  if (to64) { c.setAddr64(4, c.regValue(1)); c.rip = c.regValue(2); }
  else { c.setReg32(4, c.reg32(1)); c.rip = c.reg32(2) >>> 0; }
}

def(0, 0xcd, { name: 'int Ib', flags: F_END }, intN);
def(0, 0xcc, { name: 'int3', flags: F_END }, int3);
def(0, 0xce, { name: 'into', flags: F_END }, into);
def(0, 0xf1, { name: 'int1', flags: F_END }, int1);
def(0, 0xea, { name: 'jmp far ptr', flags: F_END }, jmpFarPtr);
def(0, 0x9a, { name: 'call far ptr', flags: F_END }, callFarPtr);
def(0, 0xff, { name: 'call far m', reg: 3, flags: F_END }, callFarMem);
def(0, 0xff, { name: 'jmp far m', reg: 5, flags: F_END }, jmpFarMem);
def(0, 0xcb, { name: 'retf', flags: F_END }, retFar);
def(0, 0xca, { name: 'retf imm16', flags: F_END }, retFar);
def(0, 0xcf, { name: 'iret', flags: F_END }, iret);
def(1, 0x05, { name: 'syscall', flags: F_END }, syscall);
def(1, 0x07, { name: 'sysret', flags: F_END }, sysret);
def(1, 0x34, { name: 'sysenter', flags: F_END }, sysenter);
def(1, 0x35, { name: 'sysexit', flags: F_END }, sysexit);

