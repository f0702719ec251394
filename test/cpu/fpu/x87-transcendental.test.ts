/**
 * x87 transcendentals: the 66-bit π reduction (checked against π computed here with Machin's
 * formula and against the published FSIN(double π) result), exact argument preparation for
 * operands outside binary64's range, and the SDM's special cases and flags.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { run, le } from './run.js';
import { Ext, fromFields } from '../../../src/hv/cpu/x86/fpu/x87-float.js';
import { PI66_M, reduceHalfPi, sinReduced, cosReduced, tanReduced, log2Of, atan2Of } from '../../../src/hv/cpu/x86/fpu/x87-elementary.js';

/** floor(π·2^bits) by Machin's formula π = 16·atan(1/5) − 4·atan(1/239), with 32 guard bits. */
function piScaled(bits: number): bigint {
  const one = 1n << BigInt(bits + 32);
  const atanInv = (n: bigint): bigint => {
    let sum = 0n, term = one / n, k = 1n, sign = 1n;
    while (term !== 0n) { sum += sign * (term / k); term /= n * n; k += 2n; sign = -sign; }
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> 32n;
}

function ext(sign: number, exp: number, mant: bigint): Ext { return fromFields(new Ext(), sign, exp, mant); }
/** An 80-bit value as its 10 little-endian bytes. */
function f80Bytes(sign: number, exp: number, mant: bigint): number[] {
  const b: number[] = [];
  for (let k = 0; k < 8; k++) b.push(Number((mant >> BigInt(8 * k)) & 0xffn));
  const se = (sign << 15) | exp;
  b.push(se & 0xff, se >> 8);
  return b;
}
/** The 80-bit value stored at data[at..at+9] as a number (finite values in binary64 range). */
function f80At(data: Uint8Array, at: number): number {
  const mant = le(data, at, 8), se = Number(le(data, at + 8, 2));
  const v = Number(mant) * 2 ** ((se & 0x7fff) - 16383 - 63);
  return se >> 15 ? -v : v;
}
const sw = (r: { state: { gpr: BigUint64Array } }): number => Number(r.state.gpr[0]! & 0xffffn);
const near = (a: number, b: number, rel: number, what: string): void => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

test('the reduction constant is π to 66 significant bits (truncated and rounded agree)', () => {
  const pi = piScaled(68);                       // π·2^68 has 70 bits; 66 significant bits leave 4 zero bits
  assert.equal(PI66_M << 2n, (pi >> 4n) << 4n);
  assert.equal((pi >> 3n) & 1n, 0n, 'the bit after the 66th is 0, so rounding does not change it');
});

test('FSIN of the binary64 nearest π is π − π66 = 9036·2^-66 (the published x87 result, not sin(π_double))', () => {
  const x = ext(0, 0x3fff + 1, 0x1921fb54442d18n << 11n);
  reduceHalfPi(x);
  assert.equal(sinReduced(), 9036 * 2 ** -66);    // 1.2246063538223773e-16
  const r = run(['fld qword [rbx]', 'fsin', 'fnstsw ax', 'fstp tword [rbx+16]'], [...new Uint8Array(new Float64Array([Math.PI]).buffer)]);
  assert.equal(r.exception, null);
  near(f80At(r.data, 16), 1.2246063538223773e-16, 2 ** -50, 'FSIN(π_double)');
  assert.notEqual(f80At(r.data, 16), 1.2246467991473532e-16);
  assert.equal(sw(r) & 0x0400, 0, 'C2 = 0: reduction complete');
});

test('reduction of large arguments is consistent: sin² + cos² = 1 and tan = sin/cos for |x| up to 2^63', () => {
  let seed = 12345;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  for (let k = 0; k < 200; k++) {
    const mant = (1n << 63n) | (BigInt(rnd()) << 31n) | BigInt(rnd() >>> 1);
    const x = ext(0, 0x3fff + (rnd() % 63), mant);
    reduceHalfPi(x);
    const s = sinReduced(), c = cosReduced(), t = tanReduced();
    assert.ok(Math.abs(s * s + c * c - 1) < 1e-15, `sin²+cos² at 2^${x.e + 63}`);
    near(t, s / c, 1e-14, 'tan');
  }
});

test('arguments below 2^40 reduce to within 2^-20 of the exact sine (π66 differs from π by < 2^-66)', () => {
  for (const v of [0.75, 3, 10, 1e3, 123456.789, 2 ** 30 + 0.5, 2 ** 39 - 1]) {
    const bits = new DataView(new Float64Array([v]).buffer);
    const b = bits.getBigUint64(0, true);
    const e = Number((b >> 52n) & 0x7ffn);
    reduceHalfPi(ext(0, e - 1023 + 16383, ((1n << 52n) | (b & 0xfffffffffffffn)) << 11n));
    assert.ok(Math.abs(sinReduced() - Math.sin(v)) < 2 ** -20, `sin ${v}`);
  }
});

test('log2 keeps full relative accuracy next to 1 and beyond binary64 range', () => {
  near(log2Of(ext(0, 0x3ffe, 0xffffffffffffffffn)), -(2 ** -64) / Math.LN2, 1e-14, 'log2(1 − 2^-64)');
  near(log2Of(ext(0, 0x3fff, 0x8000000000000001n)), 2 ** -63 / Math.LN2, 1e-14, 'log2(1 + 2^-63)');
  near(log2Of(ext(0, 0x3fff - 16400, 0xc000000000000000n)), -16400 + Math.log2(1.5), 1e-15, 'log2(1.5·2^-16400)');
  assert.equal(log2Of(ext(0, 0, 1n)), -16445, 'the smallest denormal is 2^-16445');
  assert.equal(log2Of(ext(0, 0x3fff + 16000, 1n << 63n)), 16000);
});

test('atan2 of operands outside binary64 range', () => {
  near(atan2Of(ext(0, 100, 1n << 63n), ext(0, 100, 1n << 63n)), Math.PI / 4, 1e-15, 'tiny/tiny');
  near(atan2Of(ext(0, 0x7ff0, 1n << 63n), ext(1, 0x7ff0, 1n << 63n)), 3 * Math.PI / 4, 1e-15, 'huge/−huge');
  near(atan2Of(ext(1, 0x7ff0, 1n << 63n), ext(0, 5, 1n << 63n)), -Math.PI / 2, 1e-15, '−huge/tiny');
});

test('FSIN and FPTAN on |x| ≥ 2^63 set C2 and leave the operand', () => {
  const big = f80Bytes(0, 0x3fff + 63, 0x8000000000000001n);
  for (const op of ['fsin', 'fptan']) {
    const r = run(['fld tword [rbx]', op, 'fnstsw ax', 'fstp tword [rbx+16]'], big);
    assert.equal(sw(r) & 0x0400, 0x0400, `${op}: C2`);
    assert.deepEqual([...r.data.subarray(16, 26)], big, `${op}: operand unchanged`);
    assert.equal((sw(r) >> 11) & 7, 7, `${op}: nothing pushed`);
  }
});

test('FSINCOS and FPTAN on a QNaN push it: both results are the NaN', () => {
  const nan = f80Bytes(1, 0x7fff, 0xc000000000000123n);
  for (const op of ['fsincos', 'fptan']) {
    const r = run(['fld tword [rbx]', op, 'fnstsw ax', 'fstp tword [rbx+16]', 'fstp tword [rbx+32]'], nan);
    assert.equal((sw(r) >> 11) & 7, 6, `${op}: TOP decremented twice (load and push)`);
    assert.deepEqual([...r.data.subarray(16, 26)], nan, `${op}: ST0`);
    assert.deepEqual([...r.data.subarray(32, 42)], nan, `${op}: ST1`);
  }
});

test('FSIN, FCOS, FPTAN of zero are exact; of a denormal: x, 1, x with DE, UE and PE', () => {
  for (const [op, want, flags] of [['fsin', 0, 0], ['fcos', 1, 0], ['fptan', 0, 0]] as const) {
    const r = run(['fldz', op, 'fnstsw ax', 'fstp tword [rbx+16]', ...(op === 'fptan' ? ['fstp tword [rbx+16]'] : [])]);
    assert.equal(f80At(r.data, 16), want, op);
    assert.equal(sw(r) & 0x3f, flags, `${op}(0) is exact`);
  }
  const den = f80Bytes(0, 0, 0x123n);
  const sin = run(['fld tword [rbx]', 'fsin', 'fnstsw ax', 'fstp tword [rbx+16]'], den);
  assert.deepEqual([...sin.data.subarray(16, 26)], den, 'sin x = x');
  assert.equal(sw(sin) & 0x3f, 0x32, 'DE, UE, PE');
  const cos = run(['fld tword [rbx]', 'fcos', 'fnstsw ax', 'fstp tword [rbx+16]'], den);
  assert.equal(f80At(cos.data, 16), 1);
  assert.equal(sw(cos) & 0x3f, 0x22, 'DE and PE, no underflow');
});

test('FPATAN with UE unmasked delivers a tiny result with the exponent biased by +24576', () => {
  // y = 2^-16380, x = 2^12: atan(2^-16392) is below the normal range (2^-16382).
  const data = [...f80Bytes(0, 3, 1n << 63n), 0, 0, 0, 0, 0, 0, ...f80Bytes(0, 0x3fff + 12, 1n << 63n), 0, 0, 0, 0, 0, 0, 0x6f, 0x03];
  const r = run(['fldcw [rbx+32]', 'fld tword [rbx]', 'fld tword [rbx+16]', 'fpatan', 'fnstsw ax', 'fnclex', 'fstp tword [rbx+48]'], data);
  assert.equal(r.exception, null);
  assert.equal(sw(r) & 0x30, 0x30, 'UE and PE');
  assert.equal(Number(le(r.data, 56, 2)) & 0x7fff, 0x3fff - 16392 + 24576);
  assert.equal(le(r.data, 48, 8), 1n << 63n);
});

test('FYL2X on a denormal x gives a finite result; on x = 0 ZE, and ∞·log2 0 without ZE', () => {
  const one = f80Bytes(0, 0x3fff, 1n << 63n);
  const r = run(['fld tword [rbx]', 'fld tword [rbx+16]', 'fyl2x', 'fnstsw ax', 'fstp tword [rbx+32]'], [...one, 0, 0, 0, 0, 0, 0, ...f80Bytes(0, 0, 1n)]);
  assert.equal(f80At(r.data, 32), -16445);
  assert.equal(sw(r) & 0x3f, 0x22, 'DE and PE');
  const z = run(['fld tword [rbx]', 'fldz', 'fyl2x', 'fnstsw ax', 'fstp tword [rbx+32]'], one);
  assert.equal(f80At(z.data, 32), -Infinity);
  assert.equal(sw(z) & 0x3f, 0x04, 'ZE');
  const inf = run(['fld tword [rbx]', 'fldz', 'fyl2x', 'fnstsw ax', 'fstp tword [rbx+32]'], f80Bytes(0, 0x7fff, 1n << 63n));
  assert.equal(sw(inf) & 0x3f, 0, '+∞ · log2 0 = −∞ is no division by zero');
});

test('F2XM1 and FYL2XP1 on operands below binary64 range: x·ln 2 and y·x/ln 2, not 0', () => {
  const tiny = f80Bytes(0, 0x3fff - 16000, 1n << 63n);            // 2^-16000
  const f = run(['fld tword [rbx]', 'f2xm1', 'fnstsw ax', 'fstp tword [rbx+16]'], tiny);
  assert.equal(Number(le(f.data, 24, 2)), 0x3fff - 16001, '2^-16000·ln 2 lies in [2^-16001, 2^-16000)');
  near(Number(le(f.data, 16, 8)) / 2 ** 63, 2 * Math.LN2, 1e-15, 'significand of 2^-16000·ln 2');
  assert.equal(sw(f) & 0x3f, 0x20, 'PE only: the result is normal');
  const y = f80Bytes(0, 0x3fff + 10, 1n << 63n);                   // y = 1024
  const l = run(['fld tword [rbx]', 'fld tword [rbx+16]', 'fyl2xp1', 'fstp tword [rbx+32]'], [...y, 0, 0, 0, 0, 0, 0, ...tiny]);
  assert.equal(Number(le(l.data, 40, 2)), 0x3fff - 16000 + 10);    // 1024·2^-16000/ln 2 ∈ [2^-15990, 2^-15989)
  near(Number(le(l.data, 32, 8)) / 2 ** 63, Math.LOG2E, 1e-15, 'significand of 2^-15990/ln 2');
});
