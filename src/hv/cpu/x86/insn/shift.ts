/**
 * Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR by 1, CL or imm8) and SHLD/SHRD.
 * Counts are masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes nothing, flags
 * included. Rotates change only CF and OF.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { LF_CO, arithFlags, setArithFlags, getCF } from '../flags.js';
import { CF, OF } from '../constants.js';

function big(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }

/** Reads the destination (register or memory, probing the write), returns lo; c.hi = hi; la in slot. */
let slotLa = 0;
function readDst(c: X86Cpu, i: Insn, size: number): number {
  if (i.mod === 3) return c.getReg(i.rm, size, i.rex);
  slotLa = c.addrRMW(i, size);
  return c.rd(slotLa, size);
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

/** A masked count of 0 changes no flags, but a 32-bit register destination is still written (zero-extended). */
function zeroCount(c: X86Cpu, i: Insn, size: number): void {
  // A zero count still accesses the operand as a read-modify-write: it faults as a write.
  if (i.mod !== 3) { c.rd(c.addrRMW(i, size), size); return; }
  if (size === 4) c.setReg32(i.rm, c.reg32(i.rm));
}

function shiftCount(c: X86Cpu, i: Insn): number {
  const raw = i.opcode === 0xd0 || i.opcode === 0xd1 ? 1 : i.opcode === 0xd2 || i.opcode === 0xd3 ? c.reg8(1, 1) : i.imm & 0xff;
  return raw;
}

/** The operand's sign bit. */
function topBit(x: number, bits: number): boolean { return ((x >>> (bits - 1)) & 1) !== 0; }

function group2(c: X86Cpu, i: Insn): void {
  const size = (i.opcode & 1) === 0 ? 1 : i.osize;
  const bits = size * 8;
  const count = shiftCount(c, i) & (size === 8 ? 63 : 31);
  const op = i.reg & 7;
  if (count === 0) { zeroCount(c, i, size); return; }
  const v = readDst(c, i, size);
  const vH = c.hi;
  if (size === 8) { shift64(c, i, op, count, v, vH); return; }
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const u = (v & mask) >>> 0;
  let r = 0;
  switch (op) {
    case 0: { // ROL
      const n = count % bits;
      r = n === 0 ? u : (((u << n) | (u >>> (bits - n))) & mask) >>> 0;
      writeDst(c, i, size, r, 0);
      const cf = (r & 1) !== 0;
      setCfOf(c, cf, topBit(r, bits) !== cf);
      return;
    }
    case 1: { // ROR
      const n = count % bits;
      r = n === 0 ? u : (((u >>> n) | (u << (bits - n))) & mask) >>> 0;
      writeDst(c, i, size, r, 0);
      setCfOf(c, topBit(r, bits), topBit(r, bits) !== (((r >>> (bits - 2)) & 1) !== 0));
      return;
    }
    case 2: case 3: { // RCL / RCR through CF, over bits+1 positions
      const n = bits === 32 ? count : count % (bits + 1);
      let cf = getCF(c.lf) ? 1 : 0;
      let x = u;
      const ofBefore = topBit(x, bits) !== (cf === 1);
      for (let k = 0; k < n; k++) {
        if (op === 2) { const out = (x >>> (bits - 1)) & 1; x = (((x << 1) | cf) & mask) >>> 0; cf = out; }
        else { const out = x & 1; x = ((x >>> 1) | (cf << (bits - 1))) >>> 0; cf = out; }
      }
      writeDst(c, i, size, x, 0);
      if (n === 0) return;
      setCfOf(c, cf === 1, op === 2 ? topBit(x, bits) !== (cf === 1) : ofBefore);
      return;
    }
    case 4: case 6: { // SHL / SAL
      r = count >= 32 ? 0 : ((u << count) & mask) >>> 0;
      const cf = count <= bits ? ((u >>> (bits - count)) & 1) !== 0 : false;
      writeDst(c, i, size, r, 0);
      setShiftFlags(c, size, r, 0, cf, topBit(r, bits) !== cf);
      return;
    }
    case 5: { // SHR
      r = count >= 32 ? 0 : u >>> count;
      const cf = count <= bits ? ((u >>> (count - 1)) & 1) !== 0 : false;
      writeDst(c, i, size, r, 0);
      setShiftFlags(c, size, r, 0, cf, topBit(u, bits));
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

// 64-bit shifts on int32 halves (no BigInt): each returns the low half and leaves the high half in `rh`.
let rh = 0;
function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { rh = hi; return lo; }
  if (n < 32) { rh = (hi << n) | (lo >>> (32 - n)); return lo << n; }
  rh = lo << (n - 32); return 0;
}
function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { rh = hi; return lo; }
  if (n < 32) { rh = hi >>> n; return (lo >>> n) | (hi << (32 - n)); }
  rh = 0; return hi >>> (n - 32);
}
function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) { rh = hi; return lo; }
  if (n < 32) { rh = hi >> n; return (lo >>> n) | (hi << (32 - n)); }
  rh = hi >> 31; return hi >> (n - 32);
}
function bit64(lo: number, hi: number, k: number): boolean {
  return (k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1) !== 0;
}

function shift64(c: X86Cpu, i: Insn, op: number, count: number, lo: number, hi: number): void {
  switch (op) {
    case 0: case 1: { // ROL / ROR
      const n = op === 0 ? count : (64 - count) % 64;
      const aL = shl64(lo, hi, n), aH = rh;
      const bL = shr64(lo, hi, (64 - n) % 64), bH = rh;
      const rL = n === 0 ? lo : aL | bL, rH = n === 0 ? hi : aH | bH;
      writeDst(c, i, 8, rL, rH);
      if (op === 0) { const cf = (rL & 1) !== 0; setCfOf(c, cf, rH < 0 !== cf); }
      else setCfOf(c, rH < 0, rH < 0 !== (((rH >>> 30) & 1) !== 0));
      return;
    }
    case 2: case 3: { // RCL / RCR: through CF, one position at a time (rare)
      let cf = getCF(c.lf);
      const ofBefore = hi < 0 !== cf;
      let l = lo, h = hi;
      for (let k = 0; k < count; k++) {
        if (op === 2) { const out = h < 0; h = (h << 1) | (l >>> 31); l = (l << 1) | (cf ? 1 : 0); cf = out; }
        else { const out = (l & 1) !== 0; l = (l >>> 1) | (h << 31); h = (h >>> 1) | (cf ? 0x80000000 : 0); cf = out; }
      }
      writeDst(c, i, 8, l | 0, h | 0);
      setCfOf(c, cf, op === 2 ? (h | 0) < 0 !== cf : ofBefore);
      return;
    }
    case 4: case 6: {
      const rL = shl64(lo, hi, count), rH = rh;
      const cf = bit64(lo, hi, 64 - count);
      writeDst(c, i, 8, rL, rH);
      setShiftFlags(c, 8, rL, rH, cf, rH < 0 !== cf);
      return;
    }
    case 5: {
      const rL = shr64(lo, hi, count), rH = rh;
      const cf = bit64(lo, hi, count - 1);
      writeDst(c, i, 8, rL, rH);
      setShiftFlags(c, 8, rL, rH, cf, hi < 0);
      return;
    }
    default: {
      const rL = sar64(lo, hi, count), rH = rh;
      const cf = bit64(lo, hi, count - 1);
      writeDst(c, i, 8, rL, rH);
      setShiftFlags(c, 8, rL, rH, cf, false);
    }
  }
}


/** 32-bit SHLD/SHRD, count 1..31: int32 arithmetic only (common in 32-bit code's 64-bit math). */
function shiftDouble32(c: X86Cpu, i: Insn, left: boolean, n: number, d: number, s: number): void {
  const r = left ? (d << n) | (s >>> (32 - n)) : (d >>> n) | (s << (32 - n));
  const cf = left ? ((d >>> (32 - n)) & 1) !== 0 : ((d >>> (n - 1)) & 1) !== 0;
  writeDst(c, i, 4, r | 0, 0);
  setShiftFlags(c, 4, r | 0, 0, cf, (r < 0) !== (d < 0));
}

/** 64-bit SHLD/SHRD, count 1..63, on int32 halves. */
function shiftDouble64(c: X86Cpu, i: Insn, left: boolean, n: number, dL: number, dH: number, sL: number, sH: number): void {
  let rL: number, rH: number;
  if (left) {
    const aL = shl64(dL, dH, n), aH = rh;
    const bL = shr64(sL, sH, 64 - n), bH = rh;
    rL = aL | bL; rH = aH | bH;
  } else {
    const aL = shr64(dL, dH, n), aH = rh;
    const bL = shl64(sL, sH, 64 - n), bH = rh;
    rL = aL | bL; rH = aH | bH;
  }
  const cf = left ? bit64(dL, dH, 64 - n) : bit64(dL, dH, n - 1);
  writeDst(c, i, 8, rL, rH);
  setShiftFlags(c, 8, rL, rH, cf, (rH < 0) !== (dH < 0));
}

/** SHLD/SHRD Ev, Gv, imm8/CL. */
function shiftDouble(c: X86Cpu, i: Insn): void {
  const size = i.osize;
  const bits = size * 8;
  const left = i.opcode === 0xa4 || i.opcode === 0xa5;
  const raw = (i.opcode & 1) === 0 ? i.imm & 0xff : c.reg8(1, 1);
  const count = raw & (size === 8 ? 63 : 31);
  if (count === 0) { zeroCount(c, i, size); return; }
  const dlo = readDst(c, i, size);
  const dhi = c.hi;
  const slo = c.getReg(i.reg, size, i.rex);
  const shi = c.hi;
  if (size === 4) { shiftDouble32(c, i, left, count, dlo, slo); return; }
  if (size === 8) { shiftDouble64(c, i, left, count, dlo, dhi, slo, shi); return; }
  // 16-bit operands: counts above 16 are architecturally undefined; follow the (src:dst) pattern.
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

