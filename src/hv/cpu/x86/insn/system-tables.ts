/**
 * Descriptor-table instructions: LGDT/LIDT/SGDT/SIDT, SLDT/STR/LLDT/LTR, VERR/VERW, LAR/LSL.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { LDTR, TR, ZF, ATTR_S, TWO32 } from '../constants.js';
import { desc, descAttr, descLimit, readDescriptor, loadSystemSeg } from '../segments.js';
import { setOneFlag } from '../flags.js';

function needProtected(c: X86Cpu): void {
  if (!c.protectedMode) c.ud();
}
function requireCpl0(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl !== 0) c.gp(0);
}

function storeTable(c: X86Cpu, i: Insn, limit: number, base: number): void {
  if (i.mod === 3) c.ud();
  const la = c.addrW(i, c.mode64 ? 10 : 6);
  c.probeWrite(la, c.mode64 ? 10 : 6);
  c.wr16(la, limit);
  if (c.mode64) {
    const hi = Math.floor(base / TWO32);
    c.wr64(c.mode64 ? la + 2 : la, (base - hi * TWO32) | 0, hi | 0);
  } else c.wr32(la + 2, base | 0);
}

function loadTable(c: X86Cpu, i: Insn): [number, number] {
  if (i.mod === 3) c.ud();
  requireCpl0(c);
  const la = c.addr(i, c.mode64 ? 10 : 6);
  const limit = c.rd16(la);
  let base: number;
  if (c.mode64) {
    const lo = c.rd64(c.mode64 ? la + 2 : la);
    base = c.hi * TWO32 + (lo >>> 0);
    if (base < -140737488355328 || base >= 140737488355328) c.gp(0);
  } else {
    base = c.rd32(la + 2) >>> 0;
    if (i.osize === 2) base &= 0xffffff;
  }
  return [limit, base];
}

def(1, 0x01, { name: 'sgdt', reg: 0, form: 'mem' }, (c, i) => storeTable(c, i, c.gdtLimit, c.gdtBase));
def(1, 0x01, { name: 'sidt', reg: 1, form: 'mem' }, (c, i) => storeTable(c, i, c.idtLimit, c.idtBase));
def(1, 0x01, { name: 'lgdt', reg: 2, form: 'mem', flags: F_END }, (c, i) => { [c.gdtLimit, c.gdtBase] = loadTable(c, i); });
def(1, 0x01, { name: 'lidt', reg: 3, form: 'mem', flags: F_END }, (c, i) => { [c.idtLimit, c.idtBase] = loadTable(c, i); });

function storeSel(c: X86Cpu, i: Insn, v: number): void {
  if (i.mod === 3) c.setReg(i.rm, i.osize, i.rex, v, 0);
  else c.wr16(c.addrW(i, 2), v);
}
function readSel(c: X86Cpu, i: Insn): number {
  return i.mod === 3 ? c.reg16(i.rm) : c.rd16(c.addr(i, 2));
}

def(1, 0x00, { name: 'sldt', reg: 0 }, (c, i) => { needProtected(c); storeSel(c, i, c.segSel[LDTR]!); });
def(1, 0x00, { name: 'str', reg: 1 }, (c, i) => { needProtected(c); storeSel(c, i, c.segSel[TR]!); });
def(1, 0x00, { name: 'lldt', reg: 2, flags: F_END }, (c, i) => { needProtected(c); requireCpl0(c); loadSystemSeg(c, LDTR, readSel(c, i)); });
def(1, 0x00, { name: 'ltr', reg: 3, flags: F_END }, (c, i) => { needProtected(c); requireCpl0(c); loadSystemSeg(c, TR, readSel(c, i)); });

/** Shared visibility test of VERR/VERW/LAR/LSL: descriptor readable, DPL/RPL rules for non-conforming. */
function visible(c: X86Cpu, sel: number): boolean {
  if ((sel & 0xfffc) === 0) return false;
  if (!readDescriptor(c, sel)) return false;
  const a = descAttr(desc.hi);
  const dpl = (a >> 5) & 3;
  const conformingCode = (a & 0x1c) === 0x1c;
  if (!conformingCode && (dpl < c.cpl || dpl < (sel & 3))) return false;
  return true;
}

def(1, 0x00, { name: 'verr', reg: 4 }, (c, i) => {
  needProtected(c);
  const sel = readSel(c, i);
  let ok = visible(c, sel);
  if (ok) { const a = descAttr(desc.hi); ok = (a & ATTR_S) !== 0 && ((a & 0x8) === 0 || (a & 0x2) !== 0); }
  setOneFlag(c.lf, ZF, ok);
});
def(1, 0x00, { name: 'verw', reg: 5 }, (c, i) => {
  needProtected(c);
  const sel = readSel(c, i);
  let ok = visible(c, sel);
  if (ok) { const a = descAttr(desc.hi); ok = (a & ATTR_S) !== 0 && (a & 0xa) === 0x2; }
  setOneFlag(c.lf, ZF, ok);
});

/** System descriptor types valid for LAR (and LSL: no gates). */
function systemTypeOk(type: number, forLsl: boolean, long: boolean): boolean {
  if (long) return type === 2 || type === 9 || type === 0xb || (!forLsl && type === 0xc);
  const lar = [1, 2, 3, 4, 5, 9, 0xb, 0xc];
  const lsl = [1, 2, 3, 9, 0xb];
  return (forLsl ? lsl : lar).includes(type);
}

function larLsl(c: X86Cpu, i: Insn): void {
  needProtected(c);
  const sel = readSel(c, i);
  const lsl = i.opcode === 0x03;
  let ok = visible(c, sel);
  if (ok) {
    const a = descAttr(desc.hi);
    if ((a & ATTR_S) === 0) ok = systemTypeOk(a & 0xf, lsl, (c.efer & 0x400) !== 0);
  }
  if (ok) {
    const v = lsl ? descLimit(desc.lo, desc.hi) >>> 0 : (desc.hi & 0x00f0ff00) >>> 0;
    c.setReg(i.reg, i.osize, i.rex, i.osize === 2 ? v & 0xffff : v | 0, 0);
  }
  setOneFlag(c.lf, ZF, ok);
}
def(1, 0x02, { name: 'lar' }, larLsl);
def(1, 0x03, { name: 'lsl' }, larLsl);
