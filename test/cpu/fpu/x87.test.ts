/**
 * x87 results derived from IEEE 754 and the SDM: 1/3 under every precision and rounding control,
 * stored 80-bit patterns of the constants, denormal and NaN rules, stack faults and #MF.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { run, le } from './run.js';

/** 1/3 = 2^-2 · 1.0101…; the significand bits past each precision are 1010… (2/3 ulp) for 64 and
 *  24 bits and 0101… (1/3 ulp) for 53 bits. */
const THIRD: Record<number, [bigint, bigint]> = {
  // precision control → [truncated significand, truncated + 1 ulp], left-justified in 64 bits
  3: [0xaaaaaaaaaaaaaaaan, 0xaaaaaaaaaaaaaaabn],
  2: [0x15555555555555n << 11n, 0x15555555555556n << 11n],
  0: [0xaaaaaan << 40n, 0xaaaaabn << 40n],
};

for (const pc of [0, 2, 3]) {
  for (const rc of [0, 1, 2, 3]) {
    test(`1/3 with precision control ${pc} and rounding control ${rc}`, () => {
      const cw = 0x037f & ~0x0f00 | (pc << 8) | (rc << 10);
      const r = run(['fldcw [rbx+8]', 'fld1', 'fild dword [rbx]', 'fdivp st1, st0', 'fnstsw ax', 'fstp tword [rbx+16]'],
        [3, 0, 0, 0, 0, 0, 0, 0, cw & 0xff, cw >> 8]);
      assert.equal(r.exception, null);
      const [down, up] = THIRD[pc]!;
      const nearestUp = pc !== 2; // 2/3 ulp rounds up, 1/3 ulp rounds down
      const roundsUp = rc === 2 || (rc === 0 && nearestUp);
      assert.equal(le(r.data, 16, 8).toString(16), (roundsUp ? up : down).toString(16));
      assert.equal(le(r.data, 24, 2), 0x3ffdn);
      const sw = Number(r.state.gpr[0]! & 0xffffn);
      assert.equal(sw & 0x20, 0x20, 'PE');
      assert.equal((sw >> 9) & 1, roundsUp ? 1 : 0, 'C1 says whether the result was rounded up');
    });
  }
}

test('FSTP m80 stores the constants with their documented bit patterns', () => {
  const r = run(['fld1', 'fstp tword [rbx]', 'fldpi', 'fstp tword [rbx+16]', 'fldz', 'fchs', 'fstp tword [rbx+32]', 'fldl2t', 'fstp tword [rbx+48]']);
  assert.equal(r.exception, null);
  assert.deepEqual([...r.data.subarray(0, 10)], [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
  assert.deepEqual([...r.data.subarray(16, 26)], [0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40]);
  assert.deepEqual([...r.data.subarray(32, 42)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
  assert.equal(le(r.data, 48, 8), 0xd49a784bcd1b8afen);
});

test('FLDPI rounds the internal constant down under RC=down', () => {
  const cw = 0x077f;
  const r = run(['fldcw [rbx]', 'fldpi', 'fstp tword [rbx+16]'], [cw & 0xff, cw >> 8]);
  assert.equal(le(r.data, 16, 8), 0xc90fdaa22168c234n);
});

test('a binary64 denormal loads exactly (normalized in 80 bits) and reports DE', () => {
  // 2^-1074, the smallest binary64 denormal, is 2^63 · 2^-1137 in extended: exponent 16383 − 1074.
  const r = run(['fld qword [rbx]', 'fnstsw ax', 'fstp tword [rbx+16]'], [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(Number(r.state.gpr[0]! & 2n), 2);
  assert.equal(le(r.data, 16, 8), 1n << 63n);
  assert.equal(le(r.data, 24, 2), BigInt(16383 - 1074));
});

test('storing a tiny value as binary32 gives a denormal with UE and PE', () => {
  // 1.5 · 2^-140 as binary32: denormal significand 1.5 · 2^9 = 768, exact → no UE/PE; 1.25·2^-149 → inexact.
  const exact = run(['fld qword [rbx]', 'fstp dword [rbx+16]', 'fnstsw ax'], f64bytes(1.5 * 2 ** -140));
  assert.equal(le(exact.data, 16, 4), 768n);
  assert.equal(Number(exact.state.gpr[0]! & 0x30n), 0);
  const inexact = run(['fld qword [rbx]', 'fstp dword [rbx+16]', 'fnstsw ax'], f64bytes(1.25 * 2 ** -149));
  assert.equal(le(inexact.data, 16, 4), 1n);
  assert.equal(Number(inexact.state.gpr[0]! & 0x30n), 0x30);
});

test('NaN propagation: a QNaN operand wins over an SNaN, which raises IE', () => {
  // ST(1) = SNaN from binary64 0x7ff0000000000001 loaded with IE masked becomes a QNaN, so build the
  // SNaN in extended format directly.
  const snan80 = [1, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f];
  const qnan80 = [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff];
  const r = run(['fld tword [rbx]', 'fld tword [rbx+16]', 'faddp st1, st0', 'fnstsw ax', 'fstp tword [rbx+32]'],
    [...snan80, 0, 0, 0, 0, 0, 0, ...qnan80]);
  assert.equal(Number(r.state.gpr[0]! & 1n), 1, 'IE');
  assert.deepEqual([...r.data.subarray(32, 42)], qnan80);
});

test('stack underflow gives the indefinite with IE, SF and C1 = 0', () => {
  const r = run(['fadd st0, st1', 'fnstsw ax', 'fstp tword [rbx]']);
  const sw = Number(r.state.gpr[0]! & 0xffffn);
  assert.equal(sw & 0x241, 0x41);
  assert.deepEqual([...r.data.subarray(0, 10)], [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
});

test('an unmasked divide-by-zero is pending until the next waiting instruction (#MF)', () => {
  const cw = 0x037b; // ZM clear
  const r = run(['fldcw [rbx+8]', 'fld1', 'fldz', 'fdivp st1, st0', 'fnstsw ax', 'fwait'], [0, 0, 0, 0, 0, 0, 0, 0, cw & 0xff, cw >> 8]);
  assert.equal(r.exception, 16);
  assert.equal(Number(r.state.gpr[0]! & 0x8084n), 0x8084, 'ZE, ES and B');
});

test('FIST rounds by RC and stores the integer indefinite when out of range', () => {
  const r = run(['fld qword [rbx]', 'fist dword [rbx+16]', 'fld qword [rbx+8]', 'fistp word [rbx+20]', 'fnstsw ax'],
    [...f64bytes(2.5), ...f64bytes(40000)]);
  assert.equal(le(r.data, 16, 4), 2n, 'round half to even');
  assert.equal(le(r.data, 20, 2), 0x8000n);
  assert.equal(Number(r.state.gpr[0]! & 1n), 1);
});

test('FBSTP and FBLD round-trip packed BCD', () => {
  const r = run(['fild qword [rbx]', 'fbstp [rbx+16]', 'fbld [rbx+16]', 'fistp qword [rbx+32]'], [...i64bytes(-123456789012345678n)]);
  assert.deepEqual([...r.data.subarray(16, 26)], [0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80]);
  assert.equal(BigInt.asIntN(64, le(r.data, 32, 8)), -123456789012345678n);
});

test('FPREM leaves the quotient bits in C0, C3, C1', () => {
  // 23 rem 3: quotient 7 (Q2 Q1 Q0 = 1 1 1), remainder 2.
  const r = run(['fild dword [rbx+4]', 'fild dword [rbx]', 'fprem', 'fnstsw ax', 'fistp dword [rbx+16]'], [23, 0, 0, 0, 3, 0, 0, 0]);
  assert.equal(le(r.data, 16, 4), 2n);
  const sw = Number(r.state.gpr[0]! & 0xffffn);
  assert.equal(sw & 0x4700, 0x4300);
});

function f64bytes(v: number): number[] { return [...new Uint8Array(new Float64Array([v]).buffer)]; }
function i64bytes(v: bigint): number[] { return [...new Uint8Array(new BigInt64Array([v]).buffer)]; }

test('two QNaNs with equal significands: the result is ST(0)\'s, whatever the operand order or destination', () => {
  const pos = [0, 0, 0, 0, 0, 0, 0xf8, 0x7f], neg = [0, 0, 0, 0, 0, 0, 0xf8, 0xff];
  // [rbx] = +QNaN, [rbx+8] = -QNaN: after the loads ST(0) = +QNaN and ST(1) = -QNaN.
  for (const op of ['fsub st0, st1', 'fsubr st0, st1', 'fsub st1, st0', 'fsubr st1, st0', 'fdivr st1, st0', 'fadd st1, st0']) {
    const r = run(['fld qword [rbx+8]', 'fld qword [rbx]', op, 'fstp tword [rbx+16]', 'fstp tword [rbx+32]'], [...pos, ...neg]);
    const dst = op.includes('st1, st0') ? 32 : 16;
    assert.equal(r.data[dst + 9]! >> 7, 0, `${op}: the destination holds ST(0)'s NaN (+)`);
  }
  // The memory form as well: ST(0) = +QNaN, m64 = -QNaN.
  const m = run(['fld qword [rbx]', 'fsubr qword [rbx+8]', 'fstp tword [rbx+16]'], [...pos, ...neg]);
  assert.equal(m.data[16 + 9]! >> 7, 0);
});
