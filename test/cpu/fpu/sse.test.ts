/**
 * SSE results derived from IEEE 754 and the SDM: 1/3 in binary32/binary64 under every MXCSR
 * rounding mode, FTZ/DAZ, NaN propagation, the indefinite values, and #XM for unmasked exceptions.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { run, le } from './run.js';

const f32 = (v: number): number[] => [...new Uint8Array(new Float32Array([v]).buffer)];
const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const f64 = (v: number): number[] => [...new Uint8Array(new Float64Array([v]).buffer)];
const xmm = (r: ReturnType<typeof run>, n: number, bytes: number): bigint => {
  let v = 0n;
  for (let k = bytes - 1; k >= 0; k--) v = (v << 8n) | BigInt(r.fx.getUint8(160 + n * 16 + k));
  return v;
};
const mxcsrOf = (r: ReturnType<typeof run>): number => r.fx.getUint32(24, true);

// 1/3 = 1.0101…·2^-2: binary32 keeps 24 bits and drops 1010… (> half), binary64 keeps 53 and drops 0101… (< half).
const THIRD32 = { down: 0x3eaaaaaa, up: 0x3eaaaaab, nearest: 0x3eaaaaab };
const THIRD64 = { down: 0x3fd5555555555555n, up: 0x3fd5555555555556n, nearest: 0x3fd5555555555555n };

for (const [rc, name] of [[0, 'nearest'], [1, 'down'], [2, 'up'], [3, 'zero']] as const) {
  test(`DIVSS/DIVSD 1/3 and −1/3 round ${name}`, () => {
    const mx = 0x1f80 | (rc << 13);
    const r = run(['movss xmm0, [rbx]', 'divss xmm0, [rbx+4]', 'movss xmm1, [rbx+8]', 'divss xmm1, [rbx+4]',
      'movsd xmm2, [rbx+16]', 'divsd xmm2, [rbx+24]'], [...f32(1), ...f32(3), ...f32(-1), 0, 0, 0, 0, ...f64(1), ...f64(3)], mx);
    assert.equal(r.exception, null);
    const mag32 = rc === 0 ? THIRD32.nearest : rc === 2 ? THIRD32.up : THIRD32.down;
    assert.equal(Number(xmm(r, 0, 4)), mag32);
    // For −1/3 rounding down moves away from zero and rounding up towards it.
    const negMag = rc === 0 ? THIRD32.nearest : rc === 1 ? THIRD32.up : THIRD32.down;
    assert.equal(Number(xmm(r, 1, 4)), (negMag | 0x80000000) >>> 0);
    const mag64 = rc === 0 ? THIRD64.nearest : rc === 2 ? THIRD64.up : THIRD64.down;
    assert.equal(xmm(r, 2, 8), mag64);
    assert.equal(mxcsrOf(r) & 0x3f, 0x20, 'only PE');
  });
}

test('FTZ flushes a tiny result to zero with UE and PE; without FTZ the denormal is exact', () => {
  // 2^-126 · 0.5 = 2^-127 is exactly representable as a denormal: no UE (masked, exact) without FTZ.
  const data = [...u32(0x00800000), ...f32(0.5)];
  const plain = run(['movss xmm0, [rbx]', 'mulss xmm0, [rbx+4]'], data);
  assert.equal(Number(xmm(plain, 0, 4)), 0x00400000);
  assert.equal(mxcsrOf(plain) & 0x3f, 0);
  const ftz = run(['movss xmm0, [rbx]', 'mulss xmm0, [rbx+4]'], data, 0x1f80 | 0x8000);
  assert.equal(Number(xmm(ftz, 0, 4)), 0);
  assert.equal(mxcsrOf(ftz) & 0x3f, 0x30);
});

test('DAZ treats denormal inputs as zero without DE; otherwise DE is raised', () => {
  const data = [...u32(0x00000001), ...f32(1)];
  const de = run(['movss xmm0, [rbx]', 'addss xmm0, [rbx+4]'], data);
  assert.equal(mxcsrOf(de) & 0x3f, 0x22, 'DE and PE (1 + 2^-149 is inexact)');
  const daz = run(['movss xmm0, [rbx]', 'addss xmm0, [rbx+4]'], data, 0x1f80 | 0x40);
  assert.equal(Number(xmm(daz, 0, 4)), 0x3f800000);
  assert.equal(mxcsrOf(daz) & 0x3f, 0);
});

test('NaN rules: the first operand NaN is returned quieted; SNaN raises IE; invalid gives the default NaN', () => {
  const r = run(['movss xmm0, [rbx]', 'addss xmm0, [rbx+4]', 'movss xmm1, [rbx+8]', 'addss xmm1, [rbx]',
    'movss xmm2, [rbx+12]', 'subss xmm2, [rbx+12]'], [...u32(0x7f800001), ...u32(0x7fc00005), ...f32(1), ...u32(0x7f800000)]);
  assert.equal(Number(xmm(r, 0, 4)), 0x7fc00001, 'first operand SNaN, quieted, beats the second QNaN');
  assert.equal(Number(xmm(r, 1, 4)), 0x7fc00001, 'second operand SNaN, quieted');
  assert.equal(Number(xmm(r, 2, 4)), 0xffc00000, '∞ − ∞ is the QNaN indefinite');
  assert.equal(mxcsrOf(r) & 1, 1);
});

test('MINSS/MAXSS return the second operand for NaNs and for equal zeros', () => {
  const r = run(['movss xmm0, [rbx]', 'minss xmm0, [rbx+4]', 'movss xmm1, [rbx+4]', 'maxss xmm1, [rbx]', 'movss xmm2, [rbx+8]', 'minss xmm2, [rbx+12]'],
    [...f32(-0), ...f32(0), ...u32(0x7fc00000), ...f32(5)]);
  assert.equal(Number(xmm(r, 0, 4)), 0, '+0 (second)');
  assert.equal(Number(xmm(r, 1, 4)), 0x80000000, '−0 (second)');
  assert.equal(Number(xmm(r, 2, 4)), Number(le(new Uint8Array(f32(5)), 0, 4)));
});

test('CVTSD2SI and CVTTSS2SI: rounding, truncation and the integer indefinite', () => {
  const r = run(['cvtsd2si eax, [rbx]', 'cvttss2si ecx, [rbx+8]', 'cvtsd2si rdx, [rbx+16]'], [...f64(2.5), ...f32(-3.99), 0, 0, 0, 0, ...f64(1e300)]);
  assert.equal(r.state.gpr[0]! & 0xffffffffn, 2n, 'ties to even');
  assert.equal(r.state.gpr[1]! & 0xffffffffn, 0xfffffffdn);
  assert.equal(r.state.gpr[2], 0x8000000000000000n);
  assert.equal(mxcsrOf(r) & 0x21, 0x21);
});

test('an unmasked exception raises #XM and leaves the destination unchanged', () => {
  const r = run(['movss xmm0, [rbx]', 'divss xmm0, [rbx+4]'], [...f32(1), ...f32(0)], 0x1f80 & ~0x200);
  assert.equal(r.exception, 19);
  assert.equal(Number(xmm(r, 0, 4)), 0x3f800000);
  assert.equal(mxcsrOf(r) & 0x3f, 0x04);
});

test('COMISS sets ZF/PF/CF and raises IE for a QNaN; UCOMISS does not', () => {
  const c = run(['movss xmm0, [rbx]', 'comiss xmm0, [rbx+4]'], [...u32(0x7fc00000), ...f32(1)]);
  assert.equal(c.state.rflags & 0x45, 0x45);
  assert.equal(mxcsrOf(c) & 1, 1);
  const u = run(['movss xmm0, [rbx]', 'ucomiss xmm0, [rbx+4]'], [...f32(1), ...f32(2)]);
  assert.equal(u.state.rflags & 0x45, 0x01);
  assert.equal(mxcsrOf(u) & 1, 0);
});

test('with UE or OE unmasked, PE reports the result rounded with an unbounded exponent', () => {
  const UM = 0x1f80 & ~0x800, OM = 0x1f80 & ~0x400;
  // 2^-1074 * 1.5: tiny (UE), exact with an unbounded exponent although its denormal rounding is not.
  const exact = run(['movsd xmm0, [rbx]', 'mulsd xmm0, [rbx+8]'], [...f64(2 ** -1074), ...f64(1.5)], UM);
  assert.equal(exact.exception, 19);
  assert.equal(mxcsrOf(exact) & 0x3f, 0x12); // DE (denormal operand) and UE, no PE
  // 2^-1021 / 3 is tiny and inexact at any exponent range.
  const inexact = run(['movsd xmm0, [rbx]', 'divsd xmm0, [rbx+8]'], [...f64(2 ** -1021), ...f64(3)], UM);
  assert.equal(mxcsrOf(inexact) & 0x3f, 0x30);
  // 2^1000 * 2^100 overflows exactly; (2^1000 + 2^948) * 3 overflows inexactly.
  const big = run(['movsd xmm0, [rbx]', 'mulsd xmm0, [rbx+8]'], [...f64(2 ** 1000), ...f64(2 ** 100)], OM);
  assert.equal(big.exception, 19);
  assert.equal(mxcsrOf(big) & 0x3f, 0x08);
  const bigInexact = run(['movsd xmm0, [rbx]', 'mulsd xmm0, [rbx+8]'], [...f64(2 ** 1000 + 2 ** 948), ...f64(3 * 2 ** 100)], OM);
  assert.equal(mxcsrOf(bigInexact) & 0x3f, 0x28);
  // Masked, the same tiny product reports UE and PE (its denormal result is rounded).
  const masked = run(['movsd xmm0, [rbx]', 'mulsd xmm0, [rbx+8]'], [...f64(2 ** -1074), ...f64(1.5)]);
  assert.equal(mxcsrOf(masked) & 0x3f, 0x32);
});
