/**
 * x87 responses to unmasked exceptions, from the SDM: pre-computation exceptions (IE, DE, ZE) leave
 * the destination, TOP and the operands alone (so popping forms do not pop) while OE/UE complete the
 * instruction; FLD still pushes a denormal with DE unmasked; FCOMI writes EFLAGS anyway; FSW.ES is the
 * summary of the unmasked flags, so it follows FXRSTOR's flags and masks rather than the stored bit.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { run, le } from './run.js';

const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, ES = 0x80, B = 0x8000;
const CF = 0x01, PF = 0x04, ZF = 0x40;

/** Control word 0x037f (everything masked, extended precision, nearest) with `unmask` cleared. */
function cwBytes(unmask: number): number[] { const cw = 0x037f & ~unmask; return [cw & 0xff, cw >> 8]; }
function top(sw: number): number { return (sw >> 11) & 7; }
function f80(sign: number, exp: number, mant: bigint): number[] {
  const b: number[] = [];
  for (let k = 0; k < 8; k++) b.push(Number((mant >> BigInt(8 * k)) & 0xffn));
  const se = (sign << 15) | exp;
  return [...b, se & 0xff, se >> 8];
}
const ONE = f80(0, 0x3fff, 1n << 63n);
const DENORMAL = f80(1, 0, 0x1234n);
const SNAN = f80(0, 0x7fff, (1n << 63n) | 5n);
const ZERO = f80(0, 0, 0n);
const HUGE = f80(0, 0x7ffe, 1n << 63n);

/** Scratch layout at RBX: control word at +0, ST operands at +16 and +32, the status word goes to +48. */
function layout(unmask: number, a: number[], b: number[], extra: number[] = []): number[] {
  return [...cwBytes(unmask), 0, 0, ...extra.slice(0, 12), ...new Array(12 - Math.min(12, extra.length)).fill(0), ...a, 0, 0, 0, 0, 0, 0, ...b];
}
const SW = (r: ReturnType<typeof run>): number => Number(r.state.gpr[0]! & 0xffffn);

test('FLD m32 of a denormal with DE unmasked still pushes the normalized value (SDM FLD)', () => {
  // 2^-149, the smallest binary32 denormal: 2^63 · 2^-212 in extended, exponent 16383 − 149.
  const r = run(['fldcw [rbx]', 'fld dword [rbx+16]', 'fnstsw ax', 'fnclex', 'fstp tword [rbx+32]'], [...cwBytes(DE), 0, 0, ...new Array(12).fill(0), 1, 0, 0, 0]);
  assert.equal(r.exception, null);
  const sw = SW(r);
  assert.equal(sw & (DE | ES | B), DE | ES | B);
  assert.equal(top(sw), 7, 'pushed');
  assert.equal(le(r.data, 32, 8), 1n << 63n);
  assert.equal(le(r.data, 40, 2), BigInt(16383 - 149));
});

test('FLD m32 of an SNaN with IE unmasked pushes nothing', () => {
  const r = run(['fldcw [rbx]', 'fld dword [rbx+16]', 'fnstsw ax'], [...cwBytes(IE), 0, 0, ...new Array(12).fill(0), 1, 0, 0x80, 0x7f]);
  const sw = SW(r);
  assert.equal(sw & (IE | ES), IE | ES);
  assert.equal(top(sw), 0, 'TOP unchanged');
});

for (const [name, asm, unmask, a, b, flag] of [
  ['FSUBRP with a denormal and DE unmasked', 'fsubrp st1, st0', DE, DENORMAL, ONE, DE],
  ['FMULP with a denormal and DE unmasked', 'fmulp st1, st0', DE, ONE, DENORMAL, DE],
  ['FDIVRP by zero with ZE unmasked (ST(1) = ST(0) / ST(1))', 'fdivrp st1, st0', ZE, ONE, ZERO, ZE],
  ['FADDP with an SNaN and IE unmasked', 'faddp st1, st0', IE, SNAN, ONE, IE],
] as const) {
  test(`${name}: no result and no pop`, () => {
    // ST(1) = b, ST(0) = a.
    const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', asm, 'fnstsw ax', 'fnclex', 'fstp tword [rbx+64]', 'fstp tword [rbx+80]'], layout(unmask, a, b));
    const sw = SW(r);
    assert.equal(sw & (flag | ES | B), flag | ES | B);
    assert.equal(top(sw), 6, 'both operands still on the stack');
    assert.deepEqual([...r.data.subarray(64, 74)], a, 'ST(0) unchanged');
    assert.deepEqual([...r.data.subarray(80, 90)], b, 'ST(1) unchanged');
  });
}

test('FADDP overflowing with OE unmasked completes: biased result stored and popped', () => {
  // 2^16384 is beyond the extended range; the unmasked response divides it by 2^24576.
  const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', 'faddp st1, st0', 'fnstsw ax', 'fnclex', 'fstp tword [rbx+64]'], layout(OE, HUGE, HUGE));
  const sw = SW(r);
  assert.equal(sw & (OE | ES), OE | ES);
  assert.equal(top(sw), 7, 'popped');
  assert.equal(le(r.data, 64, 8), 1n << 63n);
  assert.equal(le(r.data, 72, 2), BigInt(0x7fff - 24576));
});

test('FCOMIP with an SNaN and IE unmasked sets ZF PF CF but does not pop', () => {
  const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', 'fcomip st0, st1', 'fnstsw ax'], layout(IE, ONE, SNAN));
  assert.equal(r.state.rflags & (ZF | PF | CF), ZF | PF | CF);
  const sw = SW(r);
  assert.equal(sw & (IE | ES), IE | ES);
  assert.equal(top(sw), 6);
});

test('FUCOMIP with a denormal and DE unmasked orders the operands in EFLAGS but does not pop', () => {
  // ST(0) = negative denormal < ST(1) = 1: CF only.
  const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', 'fucomip st0, st1', 'fnstsw ax'], layout(DE, DENORMAL, ONE));
  assert.equal(r.state.rflags & (ZF | PF | CF), CF);
  const sw = SW(r);
  assert.equal(sw & (DE | ES), DE | ES);
  assert.equal(top(sw), 6);
});

test('FCOMPP with a denormal and DE unmasked sets the condition codes but pops nothing', () => {
  // 1 > negative denormal: C3 C2 C0 = 000.
  const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', 'fcompp', 'fnstsw ax'], layout(DE, ONE, DENORMAL));
  const sw = SW(r);
  assert.equal(sw & 0x4500, 0);
  assert.equal(sw & (DE | ES), DE | ES);
  assert.equal(top(sw), 6);
});

/** A 512-byte FXSAVE image with the given control and status words and an empty stack. */
function fxImage(fcw: number, fsw: number): number[] {
  const img = new Array(512).fill(0);
  img[0] = fcw & 0xff; img[1] = fcw >> 8; img[2] = fsw & 0xff; img[3] = fsw >> 8;
  img[24] = 0x80; img[25] = 0x1f; // MXCSR 0x1f80
  return img;
}

test('FXRSTOR: a stored ES bit without an unmasked flag is not an error', () => {
  const r = run(['fxrstor [rbx]', 'fnstsw ax', 'fwait'], fxImage(0x037f, ES | B | IE));
  assert.equal(r.exception, null);
  assert.equal(SW(r), IE);
});

test('FXRSTOR: an unmasked flag with ES clear is pending; FWAIT raises #MF', () => {
  const r = run(['fxrstor [rbx]', 'fnstsw ax', 'fwait'], fxImage(0x037f & ~IE, IE));
  assert.equal(r.exception, 16);
  assert.equal(SW(r), IE | ES | B);
});

for (const insn of ['fldcw', 'fldenv', 'frstor']) {
  test(`${insn.toUpperCase()} is a waiting instruction: a pending unmasked exception raises #MF before it loads`, () => {
    // The image at +512 would mask everything (FCW 0x037f, FSW 0).
    const r = run(['fxrstor [rbx]', `${insn} [rbx+512]`], [...fxImage(0x037f & ~ZE, ZE), 0x7f, 0x03, 0, 0]);
    assert.equal(r.exception, 16);
    assert.equal(r.fx.getUint16(0, true), 0x037f & ~ZE, 'FCW not loaded');
    assert.equal(r.fx.getUint16(2, true), ZE | ES | B, 'FSW not loaded');
  });
}

test('FNSTENV masks every exception, so nothing is pending afterwards', () => {
  const r = run(['fxrstor [rbx]', 'fnstenv [rbx+512]', 'fnstsw ax', 'fwait'], fxImage(0x037f & ~ZE, ZE));
  assert.equal(r.exception, null);
  assert.equal(SW(r), ZE);
  assert.equal(r.fx.getUint16(0, true), 0x037f);
});

test('FSCALE overflowing beyond the bias adjustment with OE unmasked stores ∞ with PE and C1 = 1', () => {
  // 1 · 2^(2^21): even divided by 2^24576 it is far beyond the extended range (SDM vol. 1 8.5.4).
  const r = run(['fld tword [rbx+32]', 'fld tword [rbx+16]', 'fldcw [rbx]', 'fscale', 'fnstsw ax', 'fnclex', 'fstp tword [rbx+64]'],
    layout(OE, ONE, f80(0, 0x3fff + 21, 1n << 63n)));
  const sw = SW(r);
  assert.equal(sw & (OE | 0x20 | ES | 0x200), OE | 0x20 | ES | 0x200, 'OE, PE, ES and C1');
  assert.deepEqual([...r.data.subarray(64, 74)], f80(0, 0x7fff, 1n << 63n));
});
