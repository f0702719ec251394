/**
 * Lazy arithmetic flags. An arithmetic instruction records what it did (kind, size, operands and
 * result as 32-bit halves) instead of computing six flag bits; the bits are derived only when an
 * instruction reads them (Jcc, SETcc, PUSHF, ADC...). This is QEMU's cc_op idea.
 *
 * Values are stored as int32 halves: `*L` is bits 0-31, `*H` bits 32-63 (used for 64-bit ops only).
 */
import { AF, CF, OF, PF, SF, ZF, ARITH_FLAGS } from './constants.js';

export const LF_NONE = 0;   // flags live in LazyFlags.bits
export const LF_ADD = 1;
export const LF_ADC = 2;    // aux = carry in
export const LF_SUB = 3;
export const LF_SBB = 4;    // aux = borrow in
export const LF_INC = 5;    // aux = preserved CF
export const LF_DEC = 6;    // aux = preserved CF
export const LF_LOGIC = 7;  // CF = OF = AF = 0
export const LF_CO = 8;     // CF/OF/AF given in aux (bits CF/OF/AF); SZP from result

/** Parity of a byte: 1 when the number of set bits is even (PF semantics). */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i; b ^= b >> 4; b ^= b >> 2; b ^= b >> 1;
  PARITY[i] = (b & 1) === 0 ? PF : 0;
}

export class LazyFlags {
  op = LF_NONE;
  size = 4;
  dstL = 0; dstH = 0;
  srcL = 0; srcH = 0;
  resL = 0; resH = 0;
  aux = 0;
  /** The six arithmetic flags when op === LF_NONE (other bits ignored). */
  bits = 0;

  set(op: number, size: number, dst: number, src: number, res: number): void {
    this.op = op; this.size = size; this.dstL = dst; this.srcL = src; this.resL = res;
  }

  set64(op: number, dL: number, dH: number, sL: number, sH: number, rL: number, rH: number): void {
    this.op = op; this.size = 8;
    this.dstL = dL; this.dstH = dH; this.srcL = sL; this.srcH = sH; this.resL = rL; this.resH = rH;
  }
}

function mask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

function signOf(f: LazyFlags, lo: number, hi: number): boolean {
  if (f.size === 8) return hi < 0;
  return ((lo >>> (f.size * 8 - 1)) & 1) !== 0;
}

/** Unsigned a < b for the recorded size. */
function below(f: LazyFlags, aL: number, aH: number, bL: number, bH: number): boolean {
  if (f.size === 8) {
    const ah = aH >>> 0, bh = bH >>> 0;
    return ah < bh || (ah === bh && (aL >>> 0) < (bL >>> 0));
  }
  const m = mask(f.size);
  return ((aL & m) >>> 0) < ((bL & m) >>> 0);
}

function equal(f: LazyFlags, aL: number, aH: number, bL: number, bH: number): boolean {
  if (f.size === 8) return aL === bL && aH === bH;
  const m = mask(f.size);
  return ((aL ^ bL) & m) === 0;
}

export function getCF(f: LazyFlags): boolean {
  switch (f.op) {
    case LF_NONE: return (f.bits & CF) !== 0;
    case LF_ADD: return below(f, f.resL, f.resH, f.dstL, f.dstH);
    case LF_ADC: return below(f, f.resL, f.resH, f.dstL, f.dstH) || (f.aux !== 0 && equal(f, f.resL, f.resH, f.dstL, f.dstH));
    case LF_SUB: return below(f, f.dstL, f.dstH, f.srcL, f.srcH);
    case LF_SBB: return below(f, f.dstL, f.dstH, f.srcL, f.srcH) || (f.aux !== 0 && equal(f, f.dstL, f.dstH, f.srcL, f.srcH));
    case LF_INC: case LF_DEC: return f.aux !== 0;
    case LF_LOGIC: return false;
    default: return (f.aux & CF) !== 0;
  }
}

export function getZF(f: LazyFlags): boolean {
  if (f.op === LF_NONE) return (f.bits & ZF) !== 0;
  if (f.size === 8) return f.resL === 0 && f.resH === 0;
  return (f.resL & mask(f.size)) === 0;
}

export function getSF(f: LazyFlags): boolean {
  if (f.op === LF_NONE) return (f.bits & SF) !== 0;
  return signOf(f, f.resL, f.resH);
}

export function getPF(f: LazyFlags): boolean {
  if (f.op === LF_NONE) return (f.bits & PF) !== 0;
  return PARITY[f.resL & 0xff] !== 0;
}

export function getAF(f: LazyFlags): boolean {
  switch (f.op) {
    case LF_NONE: return (f.bits & AF) !== 0;
    case LF_LOGIC: return false;
    case LF_CO: return (f.aux & AF) !== 0;
    default: return ((f.dstL ^ f.srcL ^ f.resL) & 0x10) !== 0;
  }
}

export function getOF(f: LazyFlags): boolean {
  switch (f.op) {
    case LF_NONE: return (f.bits & OF) !== 0;
    case LF_ADD: case LF_ADC: case LF_INC:
      return f.size === 8
        ? ((f.dstH ^ f.resH) & (f.srcH ^ f.resH)) < 0
        : signOf(f, (f.dstL ^ f.resL) & (f.srcL ^ f.resL), 0);
    case LF_SUB: case LF_SBB: case LF_DEC:
      return f.size === 8
        ? ((f.dstH ^ f.srcH) & (f.dstH ^ f.resH)) < 0
        : signOf(f, (f.dstL ^ f.srcL) & (f.dstL ^ f.resL), 0);
    case LF_LOGIC: return false;
    default: return (f.aux & OF) !== 0;
  }
}

/** All six arithmetic flags as RFLAGS bits. */
export function arithFlags(f: LazyFlags): number {
  if (f.op === LF_NONE) return f.bits & ARITH_FLAGS;
  return (getCF(f) ? CF : 0) | (getPF(f) ? PF : 0) | (getAF(f) ? AF : 0) |
    (getZF(f) ? ZF : 0) | (getSF(f) ? SF : 0) | (getOF(f) ? OF : 0);
}

/** Replaces the arithmetic flags with explicit bits (POPF, SAHF, IRET, CLC...). */
export function setArithFlags(f: LazyFlags, bits: number): void {
  f.bits = bits & ARITH_FLAGS;
  f.op = LF_NONE;
}

/** Sets or clears one arithmetic flag, keeping the others. */
export function setOneFlag(f: LazyFlags, flag: number, on: boolean): void {
  const b = arithFlags(f);
  setArithFlags(f, on ? b | flag : b & ~flag);
}

/** Condition codes 0-15 as Jcc/SETcc/CMOVcc encode them. */
export function testCondition(f: LazyFlags, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(f); break;
    case 1: r = getCF(f); break;
    case 2: r = getZF(f); break;
    case 3: r = getCF(f) || getZF(f); break;
    case 4: r = getSF(f); break;
    case 5: r = getPF(f); break;
    case 6: r = getSF(f) !== getOF(f); break;
    default: r = getZF(f) || getSF(f) !== getOF(f); break;
  }
  return (cc & 1) !== 0 ? !r : r;
}
