/**
 * 32-bit MUL/IMUL/DIV/IDIV (computed without BigInt in the engine) against BigInt arithmetic done
 * here from the SDM's definitions, on edge values and on dividends around the engine's switch
 * between its double and BigInt paths (high halves near 2^20).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { assemble, run, reg, CF, OF } from './harness.js';

const M32 = 0xffff_ffffn;
const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** xorshift64*, deterministic. */
function rng(seed: bigint): () => bigint {
  let x = seed;
  return () => { x ^= x << 13n; x &= 0xffff_ffff_ffff_ffffn; x ^= x >> 7n; x ^= x << 17n; x &= 0xffff_ffff_ffff_ffffn; return x; };
}

const EDGES = [0n, 1n, 2n, 3n, 7n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fff_ffffn, 0x8000_0000n, 0x8000_0001n, 0xffff_fffen, 0xffff_ffffn, 0x1234_5678n, 0x9abc_def0n];
const HIGHS = [0n, 1n, 0xfffffn, 0x100000n, 0x100001n, 0xfff00000n, 0xffeffffn, 0xffefffffn, 0xfff00001n, 0xffff_ffffn, 0x7fff_ffffn, 0x8000_0000n];

const mulCode = { mul: assemble(64, 'mul ecx'), imul: assemble(64, 'imul ecx') };
const divCode = { div: assemble(64, 'div ecx'), idiv: assemble(64, 'idiv ecx') };

test('MUL/IMUL r32 produce EDX:EAX and CF=OF exactly as 64-bit arithmetic says', () => {
  const next = rng(0x9e3779b97f4a7c15n);
  const values = [...EDGES];
  for (let k = 0; k < 40; k++) values.push(next() & M32);
  for (const a of values) {
    for (const b of values.slice(0, 24)) {
      for (const op of ['mul', 'imul'] as const) {
        const r = run(mulCode[op], { regs: { rax: a, rcx: b } });
        const p = op === 'mul' ? a * b : s32(a) * s32(b);
        const pu = BigInt.asUintN(64, p);
        const where = `${op} eax=${a.toString(16)} ecx=${b.toString(16)}`;
        assert.equal(reg(r, 'rax'), pu & M32, where);
        assert.equal(reg(r, 'rdx'), pu >> 32n, where);
        const overflow = op === 'mul' ? (pu >> 32n) !== 0n : p !== s32(p);
        assert.equal(r.state.rflags & (CF | OF), overflow ? CF | OF : 0, where);
      }
    }
  }
});

test('DIV/IDIV r32 give the truncated quotient and remainder, or #DE when it does not fit', () => {
  const next = rng(0x0123456789abcdefn);
  const divisors = [...EDGES.filter((v) => v !== 0n)];
  for (let k = 0; k < 16; k++) divisors.push((next() & M32) | 1n);
  let checked = 0, faults = 0;
  for (const hi of HIGHS) {
    for (const lo of [0n, 1n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, next() & M32, next() & M32]) {
      for (const d of divisors) {
        for (const op of ['div', 'idiv'] as const) {
          const r = run(divCode[op], { regs: { rax: lo, rdx: hi, rcx: d } });
          const where = `${op} edx:eax=${hi.toString(16)}:${lo.toString(16)} ecx=${d.toString(16)}`;
          const n = op === 'div' ? (hi << 32n) | lo : s64((hi << 32n) | lo);
          const dv = op === 'div' ? d : s32(d);
          const q = n / dv, rem = n % dv; // BigInt division truncates toward zero, like IDIV
          const fits = op === 'div' ? q <= M32 : q >= -0x8000_0000n && q <= 0x7fff_ffffn;
          checked++;
          if (!fits) {
            faults++;
            assert.equal(r.exception, 0, where);
            assert.equal(reg(r, 'rax'), lo, where);
            assert.equal(reg(r, 'rdx'), hi, where);
            continue;
          }
          assert.equal(r.exception, null, where);
          assert.equal(reg(r, 'rax'), BigInt.asUintN(32, q), where);
          assert.equal(reg(r, 'rdx'), BigInt.asUintN(32, rem), where);
        }
      }
    }
  }
  // Both outcomes must have been exercised for the test to mean anything.
  assert.ok(faults > 100 && checked - faults > 100, `${checked} cases, ${faults} faults`);
});
