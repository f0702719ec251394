/** The allocation-free 64 x 64 -> 128 multiply against BigInt arithmetic, signed and unsigned. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mul64, product } from '../../../src/hv/cpu/x86/insn/mul128.js';

const EDGES = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen, 0x123456789abcdef0n];

function check(a: bigint, b: bigint, signed: boolean): void {
  const lo = (v: bigint): number => Number(v & 0xffffffffn) | 0;
  const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;
  mul64(lo(a), hi(a), lo(b), hi(b), signed);
  const x = signed ? BigInt.asIntN(64, a) : a, y = signed ? BigInt.asIntN(64, b) : b;
  const p = BigInt.asUintN(128, x * y);
  const want = [p, p >> 32n, p >> 64n, p >> 96n].map((w) => Number(w & 0xffffffffn) | 0);
  assert.deepEqual([...product], want, `${signed ? 'signed' : 'unsigned'} ${a.toString(16)} * ${b.toString(16)}`);
}

test('edge operands', () => {
  for (const a of EDGES) for (const b of EDGES) { check(a, b, false); check(a, b, true); }
});

test('100k random operands', () => {
  let s = 0x9e3779b97f4a7c15n;
  const next = (): bigint => { s ^= s << 13n; s &= (1n << 64n) - 1n; s ^= s >> 7n; s ^= s << 17n; s &= (1n << 64n) - 1n; return s; };
  for (let i = 0; i < 100_000; i++) { const a = next(), b = next(); check(a, b, (i & 1) === 0); }
});
