/**
 * Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR by 1, CL or imm8) and SHLD/SHRD.
 * Counts are masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes nothing, flags
 * included. Rotates change only CF and OF.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { F_LOCKABLE } from '../insn.js';
import { LF_CO, arithFlags, setArithFlags, getCF } from '../flags.js';
import { CF, OF } from '../constants.js';

function big(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }

/** Reads the destination (register or memory, probing the write), returns lo; c.hi = hi; la in slot. */
let slotLa = 0;
function readDst(c: X86Cpu, i: Insn, size: number): number {
  if (i.mod === 3) return c.getReg(i.rm, size, i.rex);
  slotLa = c.addrW(i, size);
  const v = c.rd(slotLa, size);
  const h = c.hi;
  c.probeWrite(slotLa, size);
  c.hi = h;
  return v;
}
function writeDst(c: X86Cpu, i: Insn, size: number, lo: number, hi: number): void {
  if (i.mod === 3) c.setReg(i.rm, size, i.rex, lo, hi);
  else c.wr(slotLa, size, lo, hi);
}

function setShiftFlags(c: X86Cpu, size: number, lo: number, hi: number, cf: boolean, of: boolean): void {
  const f = c.lf;
  f.op = LF_CO; f.size = size; f.resL = lo; f.resH = hi; f.dstL = 0; f.srcL = 0;
  f.aux = (cf ? CF : 0) | (of ? OF : 0);
}

function setCfOf(c: X86Cpu, cf: boolean, of: boolean): void {
  const b = arithFlags(c.lf) & ~(CF | OF);
  setArithFlags(c.lf, b | (cf ? CF : 0) | (of ? OF : 0));
}

function shiftCount(c: X86Cpu, i: Insn): number {
  const raw = i.opcode === 0xd0 || i.opcode === 0xd1 ? 1 : i.opcode === 0xd2 || i.opcode === 0xd3 ? c.reg8(1, 1) : i.imm & 0xff;
  return raw;
}

function group2(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize;
  const bits = size * 8;
  const count = shiftCount(c, i) & (size === 8 ? 63 : 31);
  const op = i.reg & 7;
  if (count === 0) { if (i.mod !== 3) c.rd(c.addr(i, size), size); return; }
  const v = readDst(c, i, size);
  const vH = c.hi;
  if (size === 8) { shift64(c, i, op, count, v, vH); return; }
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const u = (v & mask) >>> 0;
  const msb = (x: number): boolean => ((x >>> (bits - 1)) & 1) !== 0;
  let r = 0;
  switch (op) {
    case 0: { // ROL
      const n = count % bits;
      r = n === 0 ? u : (((u << n) | (u >>> (bits - n))) & mask) >>> 0;
      writeDst(c, i, size, r, 0);
      const cf = (r & 1) !== 0;
      setCfOf(c, cf, msb(r) !== cf);
      return;
    }
    case 1: { // ROR
      const n = count % bits;
      r = n === 0 ? u : (((u >>> n) | (u << (bits - n))) & mask) >>> 0;
      writeDst(c, i, size, r, 0);
      setCfOf(c, msb(r), msb(r) !== (((r >>> (bits - 2)) & 1) !== 0));
      return;
    }
    case 2: case 3: { // RCL / RCR through CF, over bits+1 positions
      const n = bits === 32 ? count : count % (bits + 1);
      let cf = getCF(c.lf) ? 1 : 0;
      let x = u;
      const ofBefore = msb(x) !== (cf === 1);
      for (let k = 0; k < n; k++) {
        if (op === 2) { const out = (x >>> (bits - 1)) & 1; x = (((x << 1) | cf) & mask) >>> 0; cf = out; }
        else { const out = x & 1; x = ((x >>> 1) | (cf << (bits - 1))) >>> 0; cf = out; }
      }
      writeDst(c, i, size, x, 0);
      if (n === 0) return;
      setCfOf(c, cf === 1, op === 2 ? msb(x) !== (cf === 1) : ofBefore);
      return;
    }
    case 4: case 6: { // SHL / SAL
      r = count >= 32 ? 0 : ((u << count) & mask) >>> 0;
      const cf = count <= bits ? ((u >>> (bits - count)) & 1) !== 0 : false;
      writeDst(c, i, size, r, 0);
      setShiftFlags(c, size, r, 0, cf, msb(r) !== cf);
      return;
    }
    case 5: { // SHR
      r = count >= 32 ? 0 : u >>> count;
      const cf = count <= bits ? ((u >>> (count - 1)) & 1) !== 0 : false;
      writeDst(c, i, size, r, 0);
      setShiftFlags(c, size, r, 0, cf, msb(u));
      return;
    }
    default: { // SAR
      const s = bits === 32 ? u | 0 : (u << (32 - bits)) >> (32 - bits);
      const n = Math.min(count, 31);
      r = (s >> n) & mask;
      const cf = ((s >> Math.min(count - 1, 31)) & 1) !== 0;
      writeDst(c, i, size, r >>> 0, 0);
      setShiftFlags(c, size, r >>> 0, 0, cf, false);
    }
  }
}

function shift64(c: X86Cpu, i: Insn, op: number, count: number, lo: number, hi: number): void {
  const x = big(lo, hi);
  let r: bigint;
  const msb = (v: bigint): boolean => (v >> 63n) !== 0n;
  const n = BigInt(count);
  switch (op) {
    case 0: {
      r = BigInt.asUintN(64, (x << n) | (x >> (64n - n)));
      write64(c, i, r);
      const cf = (r & 1n) !== 0n;
      setCfOf(c, cf, msb(r) !== cf);
      return;
    }
    case 1: {
      r = BigInt.asUintN(64, (x >> n) | (x << (64n - n)));
      write64(c, i, r);
      setCfOf(c, msb(r), msb(r) !== (((r >> 62n) & 1n) !== 0n));
      return;
    }
    case 2: case 3: {
      let cf = getCF(c.lf) ? 1n : 0n;
      const ofBefore = msb(x) !== (cf === 1n);
      let v = x;
      for (let k = 0; k < count; k++) {
        if (op === 2) { const out = v >> 63n; v = BigInt.asUintN(64, (v << 1n) | cf); cf = out; }
        else { const out = v & 1n; v = (v >> 1n) | (cf << 63n); cf = out; }
      }
      write64(c, i, v);
      setCfOf(c, cf === 1n, op === 2 ? msb(v) !== (cf === 1n) : ofBefore);
      return;
    }
    case 4: case 6: {
      r = BigInt.asUintN(64, x << n);
      const cf = ((x >> (64n - n)) & 1n) !== 0n;
      write64(c, i, r);
      setShiftFlags(c, 8, Number(r & 0xffffffffn) | 0, Number(r >> 32n) | 0, cf, msb(r) !== cf);
      return;
    }
    case 5: {
      r = x >> n;
      const cf = ((x >> (n - 1n)) & 1n) !== 0n;
      write64(c, i, r);
      setShiftFlags(c, 8, Number(r & 0xffffffffn) | 0, Number(r >> 32n) | 0, cf, msb(x));
      return;
    }
    default: {
      const s = BigInt.asIntN(64, x);
      r = BigInt.asUintN(64, s >> n);
      const cf = ((s >> (n - 1n)) & 1n) !== 0n;
      write64(c, i, r);
      setShiftFlags(c, 8, Number(r & 0xffffffffn) | 0, Number(r >> 32n) | 0, cf, false);
    }
  }
}

function write64(c: X86Cpu, i: Insn, v: bigint): void {
  writeDst(c, i, 8, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
}

/** SHLD/SHRD Ev, Gv, imm8/CL. */
function shiftDouble(c: X86Cpu, i: Insn): void {
  const size = i.osize;
  const bits = size * 8;
  const left = i.opcode === 0xa4 || i.opcode === 0xa5;
  const raw = (i.opcode & 1) === 0 ? i.imm & 0xff : c.reg8(1, 1);
  const count = raw & (size === 8 ? 63 : 31);
  if (count === 0) { if (i.mod !== 3) c.rd(c.addr(i, size), size); return; }
  const dlo = readDst(c, i, size);
  const dhi = c.hi;
  const slo = c.getReg(i.reg, size, i.rex);
  const shi = c.hi;
  const B = BigInt(bits);
  const m = (1n << B) - 1n;
  const d = size === 8 ? big(dlo, dhi) : BigInt(dlo >>> 0) & m;
  const s = size === 8 ? big(slo, shi) : BigInt(slo >>> 0) & m;
  const n = BigInt(count);
  let r: bigint;
  let cf: boolean;
  if (left) {
    // For 16-bit operands with counts above 16 the pattern continues through the (src:dst) pair.
    const wide = (d << B) | s;
    const shifted = (wide << n) | (count > bits ? d << (n - B) : 0n);
    r = (shifted >> B) & m;
    cf = ((wide >> (2n * B - n)) & 1n) !== 0n || (count > bits && ((s >> (2n * B - n)) & 1n) !== 0n);
    if (count <= bits) cf = ((d >> (B - n)) & 1n) !== 0n;
  } else {
    const wide = (s << B) | d;
    r = (wide >> n) & m;
    if (count > bits) r = ((((d << (2n * B)) | wide) >> n)) & m;
    cf = ((count <= bits ? d : s) >> ((n - 1n) % B)) & 1n ? true : false;
  }
  const msbR = ((r >> (B - 1n)) & 1n) !== 0n;
  const msbD = ((d >> (B - 1n)) & 1n) !== 0n;
  writeDst(c, i, size, Number(r & 0xffffffffn) | 0, Number(r >> 32n) | 0);
  setShiftFlags(c, size, Number(r & 0xffffffffn) | 0, Number((r >> 32n) & 0xffffffffn) | 0, cf, msbR !== msbD);
}

for (const op of [0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3]) {
  for (let r = 0; r < 8; r++) def(0, op, { name: ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'][r]!, reg: r }, group2);
}
def(1, 0xa4, { name: 'shld Ev,Gv,Ib' }, shiftDouble);
def(1, 0xa5, { name: 'shld Ev,Gv,CL' }, shiftDouble);
def(1, 0xac, { name: 'shrd Ev,Gv,Ib' }, shiftDouble);
def(1, 0xad, { name: 'shrd Ev,Gv,CL' }, shiftDouble);

export { F_LOCKABLE };
