/**
 * Instructions that exist only outside 64-bit mode (or change meaning there): the BCD adjustments
 * DAA/DAS/AAA/AAS/AAM/AAD, BOUND, ARPL (opcode 63, which is MOVSXD in 64-bit mode), LES/LDS.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { getCF, getAF, setArithFlags, arithFlags, LF_LOGIC } from '../flags.js';
import { readRM, signExtend } from './operands.js';
import { loadDataSeg } from '../segments.js';
import { CF, AF, ZF, DE, BR, ES, DS } from '../constants.js';

function legacyOnly(c: X86Cpu): void { if (c.mode64) c.ud(); }

/** SZP from an 8-bit result, with CF and AF given (OF undefined: left from the result). */
function setBcdFlags(c: X86Cpu, al: number, cf: boolean, af: boolean): void {
  const f = c.lf;
  f.op = LF_LOGIC; f.size = 1; f.resL = al; f.dstL = 0; f.srcL = 0;
  const szp = arithFlags(f);
  setArithFlags(f, (szp & ~(CF | AF)) | (cf ? CF : 0) | (af ? AF : 0));
}

function daa(c: X86Cpu): void {
  legacyOnly(c);
  const old = c.reg8(0, 1);
  const oldCF = getCF(c.lf);
  let al = old, cf = false, af = false;
  if ((al & 0xf) > 9 || getAF(c.lf)) { al = (al + 6) & 0xff; cf = oldCF || old + 6 > 0xff; af = true; }
  if (old > 0x99 || oldCF) { al = (al + 0x60) & 0xff; cf = true; }
  c.setReg8(0, 1, al);
  setBcdFlags(c, al, cf, af);
}

function das(c: X86Cpu): void {
  legacyOnly(c);
  const old = c.reg8(0, 1);
  const oldCF = getCF(c.lf);
  let al = old, cf = false, af = false;
  if ((al & 0xf) > 9 || getAF(c.lf)) { al = (al - 6) & 0xff; cf = oldCF || old < 6; af = true; }
  if (old > 0x99 || oldCF) { al = (al - 0x60) & 0xff; cf = true; }
  c.setReg8(0, 1, al);
  setBcdFlags(c, al, cf, af);
}

function aaaAas(c: X86Cpu, i: Insn): void {
  legacyOnly(c);
  const sub = i.opcode === 0x3f;
  let ax = c.reg16(0);
  const adjust = (ax & 0xf) > 9 || getAF(c.lf);
  if (adjust) {
    // AAS: AX -= 6 (a 16-bit subtraction that can borrow from AH), then AH -= 1. AAA: AX += 0x106.
    ax = sub ? (ax - 6 - 0x100) & 0xffff : (ax + 0x106) & 0xffff;
  }
  ax = (ax & 0xff0f);
  c.setReg16(0, ax);
  setBcdFlags(c, ax & 0xff, adjust, adjust);
}

function aam(c: X86Cpu, i: Insn): void {
  legacyOnly(c);
  const base = i.imm & 0xff;
  if (base === 0) c.fault(DE);
  const al = c.reg8(0, 1);
  const res = al % base;
  c.setReg16(0, (Math.floor(al / base) << 8) | res);
  setBcdFlags(c, res, false, false);
}

function aad(c: X86Cpu, i: Insn): void {
  legacyOnly(c);
  const base = i.imm & 0xff;
  const ax = c.reg16(0);
  const al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
  c.setReg16(0, al);
  setBcdFlags(c, al, false, false);
}

function bound(c: X86Cpu, i: Insn): void {
  legacyOnly(c);
  if (i.mod === 3) c.ud();
  const size = i.osize;
  const la = c.addr(i, size * 2);
  const lower = signExtend(c.rd(la, size), size);
  const upper = signExtend(c.rd(la + size, size), size);
  const v = signExtend(c.getReg(i.reg, size, 1), size);
  if (v < lower || v > upper) c.fault(BR);
}

/** Opcode 63: ARPL outside 64-bit mode, MOVSXD in it. */
function op63(c: X86Cpu, i: Insn): void {
  if (c.mode64) {
    const v = readRM(c, i, 4);
    if (i.osize === 8) c.setReg64(i.reg, v, v >> 31);
    else c.setReg(i.reg, i.osize, i.rex, i.osize === 2 ? v & 0xffff : v, 0);
    return;
  }
  if (!c.protectedMode) c.ud();
  const dst = readRM(c, i, 2);
  const src = c.reg16(i.reg);
  const zf = (dst & 3) < (src & 3);
  if (zf) {
    const nv = (dst & ~3) | (src & 3);
    if (i.mod === 3) c.setReg16(i.rm, nv); else c.wr16(c.addr(i, 2), nv);
  }
  setArithFlags(c.lf, (arithFlags(c.lf) & ~ZF) | (zf ? ZF : 0));
}

function lesLds(c: X86Cpu, i: Insn): void {
  legacyOnly(c);
  if (i.mod === 3) c.ud();
  const size = i.osize;
  const la = c.addr(i, size + 2);
  const off = c.rd(la, size);
  const sel = c.rd16(la + size);
  loadDataSeg(c, i.opcode === 0xc4 ? ES : DS, sel);
  c.setReg(i.reg, size, 1, off, 0);
}

function lxs(seg: number) {
  return (c: X86Cpu, i: Insn): void => {
    if (i.mod === 3) c.ud();
    const size = i.osize;
    const la = c.addr(i, size + 2);
    const off = c.rd(la, size);
    const offH = c.hi;
    const sel = c.rd16(la + size);
    loadDataSeg(c, seg, sel);
    c.setReg(i.reg, size, i.rex, off, offH);
  };
}

def(0, 0x27, { name: 'daa' }, daa);
def(0, 0x2f, { name: 'das' }, das);
def(0, 0x37, { name: 'aaa' }, aaaAas);
def(0, 0x3f, { name: 'aas' }, aaaAas);
def(0, 0xd4, { name: 'aam' }, aam);
def(0, 0xd5, { name: 'aad' }, aad);
def(0, 0x62, { name: 'bound' }, bound);
def(0, 0x63, { name: 'arpl / movsxd' }, op63);
def(0, 0xc4, { name: 'les' }, lesLds);
def(0, 0xc5, { name: 'lds' }, lesLds);
def(1, 0xb2, { name: 'lss', flags: F_END }, lxs(2));
def(1, 0xb4, { name: 'lfs' }, lxs(4));
def(1, 0xb5, { name: 'lgs' }, lxs(5));
