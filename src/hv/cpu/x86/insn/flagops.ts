/**
 * Flag instructions: CLC/STC/CMC, CLD/STD, LAHF/SAHF; and XLAT, SALC.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { arithFlags, setArithFlags, getCF, setOneFlag } from '../flags.js';
import { CF, DF, SF, ZF, AF, PF, RBX } from '../constants.js';

function lahf(c: X86Cpu): void {
  c.setReg8(4, 0, (arithFlags(c.lf) & (SF | ZF | AF | PF | CF)) | 2);
}
function sahf(c: X86Cpu): void {
  const ah = c.reg8(4, 0);
  const keep = arithFlags(c.lf) & ~(SF | ZF | AF | PF | CF);
  setArithFlags(c.lf, keep | (ah & (SF | ZF | AF | PF | CF)));
}
function xlat(c: X86Cpu, i: Insn): void {
  const base = i.asize === 8 ? c.regValue(RBX) : i.asize === 4 ? c.reg32(RBX) >>> 0 : c.reg16(RBX);
  const off = base + c.reg8(0, 1);
  const ea = i.asize === 8 ? off : i.asize === 4 ? off >>> 0 : off & 0xffff;
  c.setReg8(0, 1, c.rd8(c.linear(i.seg >= 0 ? i.seg : 3, ea, 1)));
}

def(0, 0xf8, { name: 'clc' }, (c) => setOneFlag(c.lf, CF, false));
def(0, 0xf9, { name: 'stc' }, (c) => setOneFlag(c.lf, CF, true));
def(0, 0xf5, { name: 'cmc' }, (c) => setOneFlag(c.lf, CF, !getCF(c.lf)));
def(0, 0xfc, { name: 'cld' }, (c) => { c.eflags &= ~DF; });
def(0, 0xfd, { name: 'std' }, (c) => { c.eflags |= DF; });
def(0, 0x9f, { name: 'lahf' }, lahf);
def(0, 0x9e, { name: 'sahf' }, sahf);
def(0, 0xd7, { name: 'xlat' }, xlat);
def(0, 0xd6, { name: 'salc' }, (c) => { if (c.mode64) c.ud(); c.setReg8(0, 1, getCF(c.lf) ? 0xff : 0); });
