/**
 * x87 loads and stores: FLD/FST/FSTP for m32/m64/m80 and ST(i), FILD/FIST/FISTP/FISTTP for 16/32/
 * 64-bit integers, FBLD/FBSTP (packed BCD), and the constants FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/
 * FLDLN2/FLDZ (66-bit internal constants rounded by FCW.RC).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  Ext, round, rounded, encodeIeee, overflowValue, F32, F64, K_ZERO, K_INF, K_DENORMAL, K_QNAN, K_SNAN, K_INVALID,
} from '../fpu/x87-float.js';
import {
  xf, x87Begin, noteData, commit, phys, readSt, push, pop, deliver, writePhys, writeInf, writeZero, copyPhys,
  masked, rc, underflowInto, X_IE, X_DE, X_OE, X_UE, X_PE,
} from './x87-common.js';
import { readReal32, readReal64, readInt, writeInt, fromBigInt } from './x87-operands.js';

const X = new Ext();

/**
 * Pushes an exact value (loads are exact except binary32/64 SNaN quieting). An unmasked IE for an
 * SNaN leaves the stack alone; an unmasked DE for a denormal binary32/64 source is flagged but the
 * normalized value is still pushed (SDM vol. 2, FLD: "the value is still pushed onto the x87 stack").
 */
function pushValue(c: X86Cpu, x: Ext, fromIeee: boolean): void {
  if (((c.fpu.ftw >> (((c.fpu.top - 1) & 7) * 2)) & 3) !== 3) { push(c); return; } // stack overflow comes first
  if (fromIeee) {
    if (x.cls === K_SNAN) { xf.flags |= X_IE; if (!masked(c, X_IE)) return; }
    if (x.cls === K_DENORMAL) xf.flags |= X_DE;
  }
  const p = push(c);
  if (p < 0) return;
  switch (x.cls) {
    case K_ZERO: writeZero(c, p, x.sign); break;
    case K_INF: writeInf(c, p, x.sign); break;
    case K_QNAN: case K_SNAN: writePhys(c, p, x.sign, 0x7fff, x.mant | (fromIeee ? 1n << 62n : 0n)); break;
    default: deliver(c, p, x.sign, x.m, x.e, false);
  }
}

function fldMem(kind: number) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const size = [4, 8, 10, 2, 4, 8][kind]!;
    const la = c.addr(i, size);
    noteData(c, la);
    if (kind === 0) readReal32(c, la, X);
    else if (kind === 1) readReal64(c, la, X);
    else if (kind === 2) {
      // 80-bit loads copy the bits as they are (unsupported encodings included).
      const lo = c.rd64(la), hi = c.hi, se = c.rd16(la + 8);
      const p = push(c);
      if (p >= 0) {
        const b = c.fpu.st, o = p * 10;
        b[o] = lo; b[o + 1] = lo >>> 8; b[o + 2] = lo >>> 16; b[o + 3] = lo >>> 24;
        b[o + 4] = hi; b[o + 5] = hi >>> 8; b[o + 6] = hi >>> 16; b[o + 7] = hi >>> 24;
        b[o + 8] = se; b[o + 9] = se >>> 8;
        c.fpu.ftw = (c.fpu.ftw & ~(3 << (p * 2))) | (c.fpu.classify(p) << (p * 2));
      }
      commit(c);
      return;
    } else readInt(c, la, size, X);
    pushValue(c, X, kind < 2);
    commit(c);
  };
}
def(0, 0xd9, { name: 'fld m32', reg: 0, form: 'mem' }, fldMem(0));
def(0, 0xdd, { name: 'fld m64', reg: 0, form: 'mem' }, fldMem(1));
def(0, 0xdb, { name: 'fld m80', reg: 5, form: 'mem' }, fldMem(2));
def(0, 0xdf, { name: 'fild m16', reg: 0, form: 'mem' }, fldMem(3));
def(0, 0xdb, { name: 'fild m32', reg: 0, form: 'mem' }, fldMem(4));
def(0, 0xdf, { name: 'fild m64', reg: 5, form: 'mem' }, fldMem(5));

// FLD ST(i): the source is read before the push.
def(0, 0xd9, { name: 'fld sti', reg: 0, form: 'reg' }, (c, i) => {
  x87Begin(c, i);
  const src = phys(c, i.rm & 7);
  const empty = ((c.fpu.ftw >> (src * 2)) & 3) === 3;
  if (empty) {
    xf.flags |= X_IE | 0x40;
    if (masked(c, X_IE)) { const p = push(c); if (p >= 0) underflowInto(c, p); }
  } else {
    const p = push(c);
    if (p >= 0) copyPhys(c, src, p);
  }
  commit(c);
});

// ---- stores ----

/** Stores ST(0) as binary32/binary64 (rounded by RC); false when an unmasked exception suppresses it. */
function storeReal(c: X86Cpu, la: number, wide: boolean): boolean {
  const f = wide ? F64 : F32;
  let hi = 0, lo = 0;
  if (!readSt(c, 0, X)) {
    if (!masked(c, X_IE)) return false;
    if (wide) { hi = 0xfff80000 | 0; lo = 0; } else lo = 0xffc00000 | 0;
  } else {
    const sbit = X.sign;
    switch (X.cls) {
      case K_ZERO: if (wide) hi = sbit << 31; else lo = sbit << 31; break;
      case K_INF: if (wide) hi = (sbit << 31) | 0x7ff00000; else lo = (sbit << 31) | 0x7f800000; break;
      case K_QNAN: case K_SNAN: case K_INVALID: {
        if (X.cls !== K_QNAN) { xf.flags |= X_IE; if (!masked(c, X_IE)) return false; }
        if (X.cls === K_INVALID) { if (wide) hi = 0xfff80000 | 0; else lo = 0xffc00000 | 0; break; }
        const mant = X.mant | (1n << 62n);
        if (wide) { const frac = (mant >> 11n) & ((1n << 52n) - 1n); hi = (sbit << 31) | 0x7ff00000 | Number(frac >> 32n); lo = Number(frac & 0xffffffffn) | 0; }
        else lo = (sbit << 31) | 0x7f800000 | Number((mant >> 40n) & 0x7fffffn);
        break;
      }
      default: {
        // Stores of denormals do not report DE on current processors.
        const mode = rc(c);
        round(sbit, X.m, X.e, f, mode);
        if (rounded.overflow) {
          xf.flags |= X_OE;
          if (!masked(c, X_OE)) return false;
          xf.flags |= X_PE;
          const ov = overflowValue(sbit, f, mode);
          xf.c1 = ov.inf ? 1 : 0;
          if (ov.inf) { if (wide) hi = (sbit << 31) | 0x7ff00000; else lo = (sbit << 31) | 0x7f800000; }
          else { rounded.m = ov.m; rounded.q = ov.q; const e = encodeIeee(sbit, f); hi = e.hi; lo = e.lo; }
          break;
        }
        if (rounded.tiny && (!masked(c, X_UE) || rounded.inexact)) {
          xf.flags |= X_UE;
          if (!masked(c, X_UE)) return false;
        }
        if (rounded.inexact) xf.flags |= X_PE;
        xf.c1 = rounded.up ? 1 : 0;
        const e = encodeIeee(sbit, f); hi = e.hi; lo = e.lo;
      }
    }
  }
  if (wide) c.wr64(la, lo, hi); else c.wr32(la, lo);
  return true;
}

function fstMem(wide: boolean, popAfter: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const la = c.addrW(i, wide ? 8 : 4);
    noteData(c, la);
    if (storeReal(c, la, wide) && popAfter) pop(c);
    commit(c);
  };
}
def(0, 0xd9, { name: 'fst m32', reg: 2, form: 'mem' }, fstMem(false, false));
def(0, 0xd9, { name: 'fstp m32', reg: 3, form: 'mem' }, fstMem(false, true));
def(0, 0xdd, { name: 'fst m64', reg: 2, form: 'mem' }, fstMem(true, false));
def(0, 0xdd, { name: 'fstp m64', reg: 3, form: 'mem' }, fstMem(true, true));

def(0, 0xdb, { name: 'fstp m80', reg: 7, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  const la = c.addrW(i, 10);
  noteData(c, la);
  c.probeWrite(la, 10);
  const p = phys(c, 0);
  if (((c.fpu.ftw >> (p * 2)) & 3) === 3) {
    xf.flags |= X_IE | 0x40;
    if (!masked(c, X_IE)) { commit(c); return; }
    c.wr64(la, 0, 0xc0000000 | 0); c.wr16(la + 8, 0xffff);
  } else {
    const b = c.fpu.st, o = p * 10;
    c.wr64(la, b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24), b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24));
    c.wr16(la + 8, b[o + 8]! | (b[o + 9]! << 8));
  }
  pop(c);
  commit(c);
});

// FST/FSTP ST(i) (DD D0+i / D8+i, with the D9 D8+i, DF D0+i/D8+i aliases of FSTP).
function fstReg(popAfter: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const dst = phys(c, i.rm & 7);
    if (!readSt(c, 0, X)) { if (!masked(c, X_IE)) { commit(c); return; } underflowInto(c, dst); }
    else copyPhys(c, phys(c, 0), dst);
    if (popAfter) pop(c);
    commit(c);
  };
}
def(0, 0xdd, { name: 'fst sti', reg: 2, form: 'reg' }, fstReg(false));
def(0, 0xdd, { name: 'fstp sti', reg: 3, form: 'reg' }, fstReg(true));
def(0, 0xd9, { name: 'fstp1 sti', reg: 3, form: 'reg' }, fstReg(true));
def(0, 0xdf, { name: 'fstp8 sti', reg: 2, form: 'reg' }, fstReg(true));
def(0, 0xdf, { name: 'fstp9 sti', reg: 3, form: 'reg' }, fstReg(true));

/** Rounds ST(0) to an integer by RC (or truncation); returns null for NaN/∞/empty. */
export function toInteger(c: X86Cpu, x: Ext, truncate: boolean): bigint | null {
  if (x.cls === K_ZERO) return 0n;
  if (x.cls !== 1 && x.cls !== K_DENORMAL) return null;
  if (x.e >= 0) return (x.sign ? -1n : 1n) * (x.m << BigInt(x.e));
  const sh = BigInt(-x.e);
  let q = x.m >> sh;
  const rem = x.m & ((1n << sh) - 1n);
  if (rem !== 0n) {
    xf.flags |= X_PE;
    const half = 1n << (sh - 1n);
    const mode = truncate ? 3 : rc(c);
    const inc = mode === 0 ? rem > half || (rem === half && (q & 1n) === 1n) : mode === 1 ? x.sign === 1 : mode === 2 ? x.sign === 0 : false;
    if (inc) { q += 1n; xf.c1 = 1; }
  }
  return x.sign ? -q : q;
}

function fistMem(size: number, popAfter: boolean, truncate: boolean) {
  const lim = 1n << BigInt(size * 8 - 1);
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const la = c.addrW(i, size);
    noteData(c, la);
    let v: bigint | null = null;
    if (readSt(c, 0, X)) v = toInteger(c, X, truncate);
    if (v === null || v < -lim || v >= lim) {
      xf.flags = (xf.flags & ~X_PE) | X_IE; xf.c1 = 0;
      if (!masked(c, X_IE)) { commit(c); return; }
      v = -lim;
    }
    writeInt(c, la, size, v);
    if (popAfter) pop(c);
    commit(c);
  };
}
def(0, 0xdf, { name: 'fist m16', reg: 2, form: 'mem' }, fistMem(2, false, false));
def(0, 0xdf, { name: 'fistp m16', reg: 3, form: 'mem' }, fistMem(2, true, false));
def(0, 0xdb, { name: 'fist m32', reg: 2, form: 'mem' }, fistMem(4, false, false));
def(0, 0xdb, { name: 'fistp m32', reg: 3, form: 'mem' }, fistMem(4, true, false));
def(0, 0xdf, { name: 'fistp m64', reg: 7, form: 'mem' }, fistMem(8, true, false));
def(0, 0xdf, { name: 'fisttp m16', reg: 1, form: 'mem' }, fistMem(2, true, true));
def(0, 0xdb, { name: 'fisttp m32', reg: 1, form: 'mem' }, fistMem(4, true, true));
def(0, 0xdd, { name: 'fisttp m64', reg: 1, form: 'mem' }, fistMem(8, true, true));

// ---- packed BCD ----

def(0, 0xdf, { name: 'fbld', reg: 4, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  const la = c.addr(i, 10);
  noteData(c, la);
  let v = 0n;
  for (let k = 8; k >= 0; k--) {
    const b = c.rd8(la + k);
    v = v * 100n + BigInt(((b >> 4) & 15) * 10 + (b & 15));
  }
  const negative = (c.rd8(la + 9) & 0x80) !== 0;
  fromBigInt(X, negative ? -v : v);
  if (v === 0n) X.sign = negative ? 1 : 0;
  pushValue(c, X, false);
  commit(c);
});
def(0, 0xdf, { name: 'fbstp', reg: 6, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  const la = c.addrW(i, 10);
  noteData(c, la);
  c.probeWrite(la, 10);
  let v: bigint | null = null;
  if (readSt(c, 0, X)) v = toInteger(c, X, false);
  if (v === null || v >= 10n ** 18n || v <= -(10n ** 18n)) {
    // Invalid (out of range, or nothing to store): no rounding is reported, as for FIST.
    xf.flags = (xf.flags & ~X_PE) | X_IE; xf.c1 = 0;
    if (!masked(c, X_IE)) { commit(c); return; }
    // The packed-BCD indefinite: FFFF C000 0000 0000 0000.
    for (let k = 0; k < 7; k++) c.wr8(la + k, 0);
    c.wr8(la + 7, 0xc0); c.wr8(la + 8, 0xff); c.wr8(la + 9, 0xff);
  } else {
    const neg = v < 0n || (v === 0n && X.sign === 1);
    let a = v < 0n ? -v : v;
    for (let k = 0; k < 9; k++) { const d = Number(a % 100n); a /= 100n; c.wr8(la + k, ((Math.floor(d / 10)) << 4) | (d % 10)); }
    c.wr8(la + 9, neg ? 0x80 : 0);
  }
  pop(c);
  commit(c);
});

// ---- constants (D9 E8-EE) ----

/** 64-bit significands rounded to nearest, and whether nearest rounded the 66-bit constant up. */
const CONSTS: [string, number, number, bigint, boolean][] = [
  ['fld1', 0, 0x3fff, 0x8000000000000000n, false],
  ['fldl2t', 0, 0x4000, 0xd49a784bcd1b8afen, false],
  ['fldl2e', 0, 0x3fff, 0xb8aa3b295c17f0bcn, true],
  ['fldpi', 0, 0x4000, 0xc90fdaa22168c235n, true],
  ['fldlg2', 0, 0x3ffd, 0x9a209a84fbcff799n, true],
  ['fldln2', 0, 0x3ffe, 0xb17217f7d1cf79acn, true],
  ['fldz', 0, 0, 0n, false],
];
CONSTS.forEach(([name, sign, exp, mant, nearestUp], k) => {
  def(0, 0xd9, { name, reg: 5, rm: k }, (c, i) => {
    x87Begin(c, i);
    const p = push(c);
    if (p >= 0) {
      let m = mant;
      const mode = rc(c);
      if (name === 'fldl2t' && mode === 2) m += 1n;           // the tail is below half an ulp
      else if (nearestUp && (mode === 1 || mode === 3)) m -= 1n; // nearest rounded up; down/zero do not
      writePhys(c, p, sign, exp, m);
    }
    commit(c);
  });
});
