/**
 * x87 plumbing shared by the D8-DF handlers: #NM/#MF checks, the register stack (TOP, tags,
 * overflow/underflow), delivering a rounded result into a register under FCW precision and
 * rounding control with the masked and unmasked responses, NaN propagation, and committing the
 * instruction's exception flags and C1 into FSW (ES and B when an unmasked exception is pending).
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { CR0_EM, CR0_TS, NM, MF } from '../constants.js';
import {
  Ext, unpack80, pack80, round, rounded, encode80, overflowValue, precisionFormat, F80, INDEFINITE_MANT,
  X_IE, X_DE, X_ZE, X_OE, X_UE, X_PE, X_SF, C1, K_QNAN, K_SNAN, K_INVALID,
} from '../fpu/x87-float.js';

/** Flags raised and C1 chosen by the current instruction. */
export const xf = { flags: 0, c1: 0 };

export const SW_ES = 0x80, SW_B = 0x8000;

/**
 * Entry check for every x87 instruction: #NM when CR0.EM or CR0.TS; for waiting forms a pending
 * unmasked exception (FSW.ES) raises #MF. CR0.NE=0 (FERR#/IGNNE# routing) is treated like NE=1.
 */
export function x87Begin(c: X86Cpu, i: Insn, waiting = true): void {
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0) c.fault(NM);
  if (waiting && (c.fpu.fsw & SW_ES) !== 0) c.fault(MF);
  xf.flags = 0; xf.c1 = 0;
  const f = c.fpu;
  f.fop = ((i.opcode & 7) << 8) | (i.mod << 6) | ((i.reg & 7) << 3) | (i.rm & 7);
  f.fip = c.insnStart;
}

/** Records the memory operand's address as the FPU data pointer. */
export function noteData(c: X86Cpu, la: number): void { c.fpu.fdp = la; }

export function masked(c: X86Cpu, flag: number): boolean { return (c.fpu.fcw & flag) !== 0; }

/**
 * True when the instruction raised an unmasked pre-computation exception (IE, DE or ZE): the
 * handler is invoked with the destination, TOP and the source operands unchanged, so popping
 * forms do not pop (SDM vol. 1 8.5.1-8.5.3). Unmasked OE/UE/PE are post-computation: the
 * instruction completes, pop included.
 */
export function unmaskedPreComputation(c: X86Cpu): boolean {
  return (xf.flags & ~c.fpu.fcw & (X_IE | X_DE | X_ZE)) !== 0;
}

export function commit(c: X86Cpu, setC1 = true): void {
  const f = c.fpu;
  let sw = f.fsw | (xf.flags & 0x7f);
  if (setC1) sw = (sw & ~C1) | (xf.c1 !== 0 ? C1 : 0);
  if ((xf.flags & ~f.fcw & 0x3f) !== 0) sw |= SW_ES | SW_B;
  f.fsw = sw;
}

// ---- register stack ----

export function phys(c: X86Cpu, i: number): number { return (c.fpu.top + i) & 7; }
export function tagOf(c: X86Cpu, p: number): number { return (c.fpu.ftw >> (p * 2)) & 3; }
export function isEmpty(c: X86Cpu, i: number): boolean { return tagOf(c, phys(c, i)) === 3; }
export function setTag(c: X86Cpu, p: number, tag: number): void { c.fpu.ftw = (c.fpu.ftw & ~(3 << (p * 2))) | (tag << (p * 2)); }

export function writePhys(c: X86Cpu, p: number, sign: number, exp: number, mant: bigint): void {
  pack80(c.fpu.st, p * 10, sign, exp, mant);
  setTag(c, p, c.fpu.classify(p));
}
export function writeIndefinite(c: X86Cpu, p: number): void { writePhys(c, p, 1, 0x7fff, INDEFINITE_MANT); }
export function writeInf(c: X86Cpu, p: number, sign: number): void { writePhys(c, p, sign, 0x7fff, 1n << 63n); }
export function writeZero(c: X86Cpu, p: number, sign: number): void { writePhys(c, p, sign, 0, 0n); }
export function copyPhys(c: X86Cpu, from: number, to: number): void {
  c.fpu.st.copyWithin(to * 10, from * 10, from * 10 + 10);
  setTag(c, to, tagOf(c, from));
}

/** Reads ST(i); an empty register is a stack underflow (IE, SF, C1=0) and returns false. */
export function readSt(c: X86Cpu, i: number, x: Ext): boolean {
  const p = phys(c, i);
  if (tagOf(c, p) === 3) { xf.flags |= X_IE | X_SF; xf.c1 = 0; return false; }
  unpack80(c.fpu.st, p * 10, x);
  return true;
}

/** Stack underflow response for a destination register: indefinite when IE is masked. */
export function underflowInto(c: X86Cpu, p: number): void {
  if (masked(c, X_IE)) writeIndefinite(c, p);
}

/** Decrements TOP for a load; a full register is a stack overflow (IE, SF, C1=1). Returns the new ST(0)'s physical number, or -1 when the load must not happen. */
export function push(c: X86Cpu): number {
  const p = (c.fpu.top - 1) & 7;
  if (tagOf(c, p) !== 3) {
    xf.flags |= X_IE | X_SF; xf.c1 = 1;
    if (!masked(c, X_IE)) return -1;
    c.fpu.top = p;
    writeIndefinite(c, p);
    return -1;
  }
  c.fpu.top = p;
  return p;
}

export function pop(c: X86Cpu): void {
  setTag(c, c.fpu.top, 3);
  c.fpu.top = (c.fpu.top + 1) & 7;
}

// ---- results ----

export function rc(c: X86Cpu): number { return (c.fpu.fcw >> 10) & 3; }

/**
 * Rounds (−1)^sign·m·2^e into physical register p: precision control applies when `pc`; masked
 * overflow gives ∞ or the largest value, unmasked overflow/underflow store the result with the
 * exponent biased by ∓24576; C1 reports rounding up.
 */
export function deliver(c: X86Cpu, p: number, sign: number, m: bigint, e: number, pc = true): void {
  const f = c.fpu;
  if (m === 0n) { writeZero(c, p, sign); return; }
  const fmt = pc ? precisionFormat((f.fcw >> 8) & 3) : F80;
  const mode = rc(c);
  round(sign, m, e, fmt, mode);
  if (rounded.inexact) xf.flags |= X_PE;
  xf.c1 = rounded.up ? 1 : 0;
  if (rounded.overflow) {
    xf.flags |= X_OE;
    if (masked(c, X_OE)) {
      xf.flags |= X_PE;
      const ov = overflowValue(sign, fmt, mode);
      if (ov.inf) { writeInf(c, p, sign); xf.c1 = 1; } else { writePhys(c, p, sign, 0x7ffe, ov.m << BigInt(64 - fmt.p)); xf.c1 = 0; }
      return;
    }
    // Only FSCALE can overflow beyond the bias adjustment's reach: a signed ∞, rounded up (C1 = 1).
    const enc = encode80(-24576);
    if (enc.exp >= 0x7fff) { xf.flags |= X_PE; xf.c1 = 1; writeInf(c, p, sign); return; }
    writePhys(c, p, sign, enc.exp, enc.mant);
    return;
  }
  if (rounded.tiny) {
    if (masked(c, X_UE)) { if (rounded.inexact) xf.flags |= X_UE; }
    else {
      // Unmasked underflow: round with an unbounded exponent, then bias the exponent up.
      xf.flags |= X_UE;
      round(sign, m, e, { p: fmt.p, emin: -1e9, emax: fmt.emax }, mode);
      xf.flags = (xf.flags & ~X_PE) | (rounded.inexact ? X_PE : 0);
      xf.c1 = rounded.up ? 1 : 0;
      const enc = encode80(24576);
      // Beyond the bias adjustment's reach (FSCALE only): a signed 0, rounded toward zero (C1 = 0).
      if (enc.exp < 1) { xf.flags |= X_PE; xf.c1 = 0; writeZero(c, p, sign); return; }
      writePhys(c, p, sign, enc.exp, enc.mant);
      return;
    }
  }
  const enc = encode80(0);
  writePhys(c, p, sign, enc.exp, enc.mant);
}

function isNan(x: Ext): boolean { return x.cls === K_QNAN || x.cls === K_SNAN || x.cls === K_INVALID; }

/**
 * NaN and unsupported-format operands: IE for SNaN/unsupported; the result is the quieted NaN
 * (the larger significand of two), or the indefinite for unsupported formats. Returns true when
 * it handled the operation (result written or suppressed by an unmasked IE).
 */
export function nanOperands(c: X86Cpu, p: number, a: Ext, b: Ext | null): boolean {
  const an = isNan(a), bn = b !== null && isNan(b);
  if (!an && !bn) return false;
  const invalid = a.cls === K_INVALID || (b !== null && b.cls === K_INVALID);
  if (invalid || a.cls === K_SNAN || (b !== null && b.cls === K_SNAN)) xf.flags |= X_IE;
  if ((xf.flags & X_IE) !== 0 && !masked(c, X_IE)) return true;
  if (invalid) { writeIndefinite(c, p); return true; }
  // Two NaNs: a QNaN wins over an SNaN; otherwise the larger significand.
  let src = a;
  if (an && bn && b !== null) {
    if (a.cls === K_SNAN && b.cls === K_QNAN) src = b;
    else if (a.cls === K_QNAN && b.cls === K_SNAN) src = a;
    else src = (b.mant & ~(1n << 62n)) > (a.mant & ~(1n << 62n)) ? b : a;
  } else if (bn && b !== null) src = b;
  writePhys(c, p, src.sign, 0x7fff, src.mant | (1n << 62n));
  return true;
}

/** Invalid operation (masked: the indefinite). */
export function invalidInto(c: X86Cpu, p: number): void {
  xf.flags |= X_IE;
  if (masked(c, X_IE)) writeIndefinite(c, p);
}

/** Raises DE for denormal operands; true when an unmasked DE suppresses the operation. */
export function denormalCheck(c: X86Cpu, a: Ext, b: Ext | null, denormal: number): boolean {
  if (a.cls === denormal || (b !== null && b.cls === denormal)) {
    xf.flags |= X_DE;
    return !masked(c, X_DE);
  }
  return false;
}

export { X_IE, X_DE, X_ZE, X_OE, X_UE, X_PE, X_SF };
