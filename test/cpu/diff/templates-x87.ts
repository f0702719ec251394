/**
 * x87 templates. Every case gets random precision and rounding control, a random TOP and 0-8
 * loaded registers (so stack overflow and underflow occur), operands of every class in the
 * registers and at [rbx]. Condition codes the SDM leaves undefined per instruction are masked.
 *
 * Transcendentals (FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1) are compared within 2^20
 * units in the last place of the 64-bit significand (about 1e-13 relative; see
 * TRANSCENDENTAL_ULPS) or within 2^-45 absolute (near the function's zeros; compare.ts), with C1
 * masked; everything else bit for bit.
 */
import type { Rng } from './rng.js';
import { FSW_C, RBX_OFFSET, putData, le64, type Template } from './template.js';
import { encodeF80, randomF32Bits, randomF64Bits, randomF80, randomFcw, setX87Stack, view, FX } from './fx.js';
import type { CaseInput } from './wire.js';

const { C0, C2, C3 } = FSW_C;
/** Arithmetic, loads and stores: C1 is defined (rounding direction / stack fault), the rest not. */
const ARITH_FSW = C0 | C2 | C3;
/*
 * 2^20 ulp of the 64-bit significand is about 1e-13 relative: loose enough for an engine that rounds
 * the operand to double before calling the library function (the condition number of the function
 * amplifies that 2^-53 input error), tight enough to catch a wrong quadrant, sign or formula.
 */
const TRANSCENDENTAL_ULPS = 1 << 20;
/** FCOMI and FCMOVcc: the SDM says C1 "set to 0" only with a stack underflow; the AMD host keeps it. */
const C1_ONLY = FSW_C.C1;

/** Random FPU state and random operands at [rbx] (f32 at +0, f64 at +8, f80 at +16, ints at +32). */
function fpu(c: CaseInput, r: Rng, depth = r.below(9)): void {
  const fx = c.fxsave;
  const fcw = randomFcw(r, 0.05);
  view(fx).setUint16(FX.FCW, fcw, true);
  // Sticky flags only where masked: an unmasked one would be a pending #MF (its own template).
  view(fx).setUint16(FX.FSW, r.chance(0.3) ? (r.u32() & 0x4700) | (r.u32() & fcw & 0x3f) : 0, true);
  const values = Array.from({ length: depth }, () => randomF80(r));
  setX87Stack(fx, r.below(8), values);
  const m = new Uint8Array(48);
  const dv = view(m);
  dv.setUint32(0, randomF32Bits(r), true);
  dv.setBigUint64(8, randomF64Bits(r), true);
  m.set(randomF80(r), 16);
  dv.setBigUint64(32, r.edgy(), true);
  dv.setBigUint64(40, r.edgy(), true);
  putData(c, RBX_OFFSET, m);
}
const full = (c: CaseInput, r: Rng): void => fpu(c, r, 2 + r.below(7));
/**
 * Transcendental arguments: mostly moderate (where the x87's 66-bit pi reduction is exact enough),
 * within `width` around zero. `strict`: ST0 must stay inside the instruction's domain (F2XM1 needs
 * |x| <= 1 and FYL2XP1 |x| < 1 - sqrt(2)/2; outside, the SDM leaves the result undefined).
 */
const trig = (widths: number[], strict = false) => (c: CaseInput, r: Rng): void => {
  fpu(c, r, 2 + r.below(6));
  const moderate = (): Uint8Array => {
    const x = (r.u32() / 0x1_0000_0000 - 0.5) * r.pick(widths);
    const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, x, true);
    const bits = b.getBigUint64(0, true);
    const e = Number((bits >> 52n) & 0x7ffn);
    if (e === 0) return encodeF80(0, 0, 0n);
    return encodeF80(Number(bits >> 63n), e - 1023 + 16383, ((1n << 52n) | (bits & 0xfffffffffffffn)) << 11n | BigInt(r.below(2048)));
  };
  if (strict || r.chance(0.85)) {
    const fx = c.fxsave;
    const top = (view(fx).getUint16(FX.FSW, true) >> 11) & 7;
    const n = Math.max(2, popcount(fx[FX.FTW]!));
    setX87Stack(fx, top, Array.from({ length: n }, (_, i) => i < 2 ? moderate() : randomF80(r)));
  }
};
/** |x| in [2^lo, 2^hi) with a random sign and 64-bit significand (denormal below 2^-16382). */
function randomWideF80(r: Rng, lo: number, hi: number): Uint8Array {
  const t = lo + r.below(hi - lo);
  const mant = r.u64() | 0x8000000000000000n;
  if (t >= -16382) return encodeF80(r.below(2), t + 16383, mant);
  return encodeF80(r.below(2), 0, mant >> BigInt(-16382 - t));
}
/**
 * ST0, ST1, ... from `make` (the rest of the stack random), with an FCW whose exceptions are
 * unmasked with probability `unmask`.
 */
function operandsWith(make: (r: Rng) => Uint8Array[], unmask: number) {
  return (c: CaseInput, r: Rng): void => {
    fpu(c, r, 2 + r.below(6));
    const fx = c.fxsave;
    view(fx).setUint16(FX.FCW, randomFcw(r, unmask), true);
    const top = (view(fx).getUint16(FX.FSW, true) >> 11) & 7;
    const given = make(r);
    const n = Math.max(given.length, popcount(fx[FX.FTW]!));
    setX87Stack(fx, top, Array.from({ length: n }, (_, i) => given[i] ?? randomF80(r)));
    // Sticky flags only where masked (an unmasked one would be a pending #MF).
    const fcw = view(fx).getUint16(FX.FCW, true);
    view(fx).setUint16(FX.FSW, view(fx).getUint16(FX.FSW, true) & (0x7f00 | 0x3800 | (fcw & 0x3f)), true);
  };
}
function popcount(x: number): number { let n = 0; while (x) { n += x & 1; x >>= 1; } return n; }

export function x87Templates(): Template[] {
  const t: Template[] = [];
  const add = (asm: string, o: Omit<Partial<Template>, 'area' | 'asm'> = {}): void => {
    t.push({ name: asm.replace(/\n/g, '; '), area: 'x87', asm, undefinedFsw: ARITH_FSW, init: fpu, ...o });
  };
  for (const m of ['dword [rbx]', 'qword [rbx+8]', 'tword [rbx+16]']) { add(`fld ${m}`); add(`fstp ${m}`); }
  add('fst dword [rbx+4]'); add('fst qword [rbx+8]'); add('fld st0'); add('fld st5'); add('fst st3'); add('fstp st1'); add('fstp st0');
  for (const m of ['word [rbx+32]', 'dword [rbx+32]', 'qword [rbx+32]']) {
    add(`fild ${m}`); add(`fistp ${m}`); add(`fisttp ${m}`, { needs: ['pni'] });
    if (!m.startsWith('qword')) add(`fist ${m}`);
  }
  add('fbld tword [rbx+32]'); add('fbstp tword [rbx+32]');
  for (const op of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
    add(`${op} dword [rbx]`); add(`${op} qword [rbx+8]`); add(`${op} st0, st1`, { init: full }); add(`${op} st0, st0`); add(`${op} st3, st0`, { init: full });
    add(`${op}p st1, st0`, { init: full }); add(`${op}p st6, st0`);
    add(`fi${op.slice(1)} word [rbx+32]`); add(`fi${op.slice(1)} dword [rbx+36]`);
  }
  for (const op of ['fcom', 'fcomp', 'fucom', 'fucomp']) { add(`${op} st1`, { undefinedFsw: 0, init: full }); add(`${op} st4`, { undefinedFsw: 0 }); }
  add('fcom dword [rbx]', { undefinedFsw: 0 }); add('fcomp qword [rbx+8]', { undefinedFsw: 0 }); add('fcompp', { undefinedFsw: 0, init: full }); add('fucompp', { undefinedFsw: 0, init: full });
  add('ficom word [rbx+32]', { undefinedFsw: 0 }); add('ficomp dword [rbx+32]', { undefinedFsw: 0 });
  add('ftst', { undefinedFsw: 0 }); add('fxam', { undefinedFsw: 0 });
  for (const op of ['fcomi', 'fcomip', 'fucomi', 'fucomip']) { add(`${op} st0, st1`, { init: full, undefinedFsw: C1_ONLY }); add(`${op} st0, st3`, { undefinedFsw: C1_ONLY }); }
  for (const cc of ['b', 'e', 'be', 'u', 'nb', 'ne', 'nbe', 'nu']) add(`fcmov${cc} st0, st2`, { needs: ['cmov'], undefinedFsw: C1_ONLY });
  for (const op of ['fchs', 'fabs', 'fsqrt', 'frndint', 'fxtract']) add(op);
  add('fscale', { init: full });
  add('fprem', { undefinedFsw: 0, init: full }); add('fprem1', { undefinedFsw: 0, init: full });
  add('fprem\nfprem\nfprem', { undefinedFsw: 0, init: full });
  const wide = [1, 2, 8, 64];
  for (const op of ['fsin', 'fcos', 'fptan', 'fsincos']) {
    add(op, { undefinedFsw: C0 | C3, ulps: TRANSCENDENTAL_ULPS, init: trig(wide, true) });
    // Any operand class, and huge arguments: the x87 reduces with a 66-bit pi, not the exact one.
    add(op, { name: `${op} (any operand)`, undefinedFsw: C0 | C3, ulps: TRANSCENDENTAL_ULPS, init: full });
  }
  add('fpatan', { ulps: TRANSCENDENTAL_ULPS, init: trig(wide, true) });
  add('fpatan', { name: 'fpatan (any operands)', ulps: TRANSCENDENTAL_ULPS, init: full });
  add('fyl2x', { ulps: TRANSCENDENTAL_ULPS, init: trig(wide, true) });
  add('fyl2x', { name: 'fyl2x (any operands)', ulps: TRANSCENDENTAL_ULPS, init: full });
  for (const op of ['fsin', 'fcos', 'fptan', 'fsincos']) {
    // 2^20 <= |x| < 2^64: only a reduction by the x87's 66-bit pi (not the exact one) matches here.
    add(op, { name: `${op} (huge argument)`, undefinedFsw: C0 | C3, ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, 20, 64)], 0) });
  }
  // Operands at the bottom of the range with exceptions often unmasked: underflow with the +24576 bias.
  for (const op of ['fsin', 'fptan', 'fsincos']) add(op, { name: `${op} (tiny operand)`, undefinedFsw: C0 | C3, ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, -16445, -16370)], 0.5) });
  // FPATAN: tiny y over a moderate x; FYL2X: a tiny y times log2 of a tiny x (about -16400).
  add('fpatan', { name: 'fpatan (tiny operands)', ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, -20, 20), randomWideF80(r, -16445, -16370)], 0.5) });
  add('fyl2x', { name: 'fyl2x (tiny operands)', ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, -16445, -16300), randomWideF80(r, -16445, -16370)], 0.5) });
  add('f2xm1', { ulps: TRANSCENDENTAL_ULPS, init: trig([2], true) });
  add('f2xm1', { name: 'f2xm1 (tiny operand)', ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, -16445, -40)], 0.5) });
  add('fyl2xp1', { name: 'fyl2xp1 (tiny operands)', ulps: TRANSCENDENTAL_ULPS, init: operandsWith((r) => [randomWideF80(r, -16445, -3), randomWideF80(r, -16445, 40)], 0.5) });
  add('fyl2xp1', { ulps: TRANSCENDENTAL_ULPS, init: trig([0.5], true) });
  for (const k of ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz']) add(k);
  add('fxch st1'); add('fxch st5'); add('fxch st0', { init: full });
  add('fnstsw ax', { undefinedFsw: 0 }); add('fnstsw word [rbx+2]', { undefinedFsw: 0 }); add('fnstcw word [rbx+2]', { undefinedFsw: 0 });
  add('fldcw word [rbx+2]\nfadd st0, st1', { init: (c, r) => { full(c, r); putData(c, RBX_OFFSET + 2, le64(BigInt(r.u32() & 0x1f7f | 0x3f)).subarray(0, 2)); } });
  add('fnclex', { undefinedFsw: 0 }); add('fninit', { undefinedFsw: 0 }); add('ffree st2', { undefinedFsw: FSW_C.C0 | FSW_C.C1 | C2 | C3 }); add('fnop', { undefinedFsw: FSW_C.C0 | FSW_C.C1 | C2 | C3 }); add('fincstp'); add('fdecstp');
  add('fwait', { undefinedFsw: 0 });
  add('fwait', { name: 'fwait (pending unmasked exception restored by FXRSTOR)', undefinedFsw: 0, init: (c, r) => {
    fpu(c, r);
    view(c.fxsave).setUint16(FX.FCW, 0x037f & ~(1 << r.below(6)), true);
    view(c.fxsave).setUint16(FX.FSW, view(c.fxsave).getUint16(FX.FSW, true) | 0x3f, true);
  } });
  // Unmasked exceptions surface as #MF at the next waiting instruction.
  add('fdiv st0, st1\nfwait', { init: (c, r) => { full(c, r); view(c.fxsave).setUint16(FX.FCW, randomFcw(r, 1), true); } });
  // Environment images: FIP/FCS/FOP and FDP/FDS (bytes 12-27) record host addresses and selectors.
  const ENV_PTRS: [number, number][] = [[RBX_OFFSET + 12, 16]];
  add('fnstenv [rbx]', { undefinedFsw: 0, ignoreData: ENV_PTRS });
  add('fnsave [rbx]', { undefinedFsw: 0, ignoreData: ENV_PTRS });
  add('fldenv [rbx]', { undefinedFsw: 0, init: (c, r) => { fpu(c, r); putData(c, RBX_OFFSET, env(r)); } });
  add('frstor [rbx]', { undefinedFsw: 0, init: (c, r) => { fpu(c, r); const e = new Uint8Array(108); e.set(env(r)); for (let i = 0; i < 8; i++) e.set(randomF80(r), 28 + i * 10); putData(c, RBX_OFFSET, e); } });
  add('fnsave [rbx]\nfrstor [rbx]', { undefinedFsw: 0, ignoreData: ENV_PTRS });
  return t;
}

/** A 28-byte protected-mode FPU environment with plausible control, status and tag words. */
function env(r: Rng): Uint8Array {
  const e = new Uint8Array(28);
  const dv = view(e);
  dv.setUint16(0, randomFcw(r, 0.1), true);
  dv.setUint16(4, r.u32() & 0x7fff & ~0x80, true);
  dv.setUint16(8, r.u32() & 0xffff, true);
  return e;
}

