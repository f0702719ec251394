/**
 * Shift and rotate corner cases with results worked out by hand from the SDM: count masking,
 * the RCL/RCR modulo-(size+1) rule, flags untouched by a masked count of 0, SAR/SHR beyond the
 * operand width for byte operands, and SHLD/SHRD in 32 and 64 bits.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { assemble, run, reg, CF, OF, ZF, SF, PF, AF } from './harness.js';

function exec(asm: string, rax: bigint, rdx = 0n, flags = 0): { rax: bigint; rdx: bigint; flags: number } {
  const r = run(assemble(64, asm), { regs: { rax, rdx }, flags });
  assert.equal(r.exception, null, asm);
  return { rax: reg(r, 'rax'), rdx: reg(r, 'rdx'), flags: r.state.rflags };
}

test('RCL/RCR on bytes and words rotate modulo 9 and 17 through CF', () => {
  let r = exec('rcl al, 9', 0x81n, 0n, CF);
  assert.equal(r.rax, 0x81n);
  assert.equal(r.flags & CF, CF);
  r = exec('rcl al, 10', 0x80n);
  assert.equal(r.rax, 0n);
  assert.equal(r.flags & CF, CF);
  r = exec('rcr ax, 17', 0x1234n);
  assert.equal(r.rax, 0x1234n);
  r = exec('rcr ax, 18', 0x0001n);
  assert.equal(r.rax, 0n);
  assert.equal(r.flags & CF, CF);
  // 32-bit: count 31 is a real rotation of 31 through the 33-bit value CF:EAX.
  r = exec('rcl eax, 31', 0x2n, 0n, CF);
  // CF:EAX = 1:00000002 rotated left 31 = rotated right 2 over 33 bits -> EAX = 0x40000000 | 0x80000000 >> ... worked out:
  // bits (33-bit, MSB = CF): value = 2^32 + 2; rotl by 31 == rotr by 2: low bits "10" move to the top.
  // new 33-bit = (value >> 2) | ((value & 3) << 31) = 0x40000000 | (2 << 31) = 0x1_4000_0000 -> CF 1, EAX 0x40000000.
  assert.equal(r.rax, 0x4000_0000n);
  assert.equal(r.flags & CF, CF);
});

test('a masked count of zero leaves every flag as it was', () => {
  const all = CF | PF | AF | ZF | SF | OF;
  for (const asm of ['shl eax, 32', 'shr rax, 64', 'rol ax, 32', 'sar al, 0', 'rcr eax, 32', 'shld eax, edx, 32', 'shrd rax, rdx, 64']) {
    const r = exec(asm, 0x1234n, 0x55n, all);
    assert.equal(r.flags & all, all, asm);
    const z = exec(asm, 0x1234n, 0x55n, 0);
    assert.equal(z.flags & all, 0, asm);
  }
});

test('byte shifts by counts past the width: SAR fills with the sign, SHR empties', () => {
  let r = exec('sar al, 9', 0x80n);
  assert.equal(r.rax, 0xffn);
  assert.equal(r.flags & CF, CF);
  r = exec('shr al, 9', 0x80n);
  assert.equal(r.rax, 0n);
  assert.equal(r.flags & (CF | ZF), ZF);
  r = exec('shl ax, 16', 0x0001n);
  assert.equal(r.rax, 0n);
  assert.equal(r.flags & (CF | ZF), CF | ZF);
});

test('count-1 shifts define OF: SHL = MSB(result) xor CF, SHR = MSB(original), SAR = 0', () => {
  let r = exec('shl al, 1', 0x40n);
  assert.equal(r.rax, 0x80n);
  assert.equal(r.flags & (CF | OF | SF), OF | SF);
  r = exec('shr al, 1', 0x81n);
  assert.equal(r.rax, 0x40n);
  assert.equal(r.flags & (CF | OF), CF | OF);
  r = exec('sar al, 1', 0x81n);
  assert.equal(r.rax, 0xc0n);
  assert.equal(r.flags & (CF | OF), CF);
});

test('SHLD/SHRD in 32 and 64 bits', () => {
  let r = exec('shld eax, edx, 4', 0x12345678n, 0x9abcdef0n);
  assert.equal(r.rax, 0x23456789n);
  assert.equal(r.flags & CF, CF);
  r = exec('shrd eax, edx, 4', 0x12345678n, 0x9abcdef0n);
  assert.equal(r.rax, 0x01234567n);
  assert.equal(r.flags & CF, CF);
  r = exec('shld rax, rdx, 36', 0x0123456789abcdefn, 0xfedcba9876543210n);
  assert.equal(r.rax, 0x9abcdeffedcba987n);
  assert.equal(r.flags & CF, 0);
  r = exec('shrd rax, rdx, 36', 0x0123456789abcdefn, 0xfedcba9876543210n);
  assert.equal(r.rax, 0x8765432100123456n);
  assert.equal(r.flags & CF, 0);
  r = exec('shld rax, rdx, 1', 0x0123456789abcdefn, 0xfedcba9876543210n);
  assert.equal(r.rax, 0x02468acf13579bdfn);
  assert.equal(r.flags & (CF | OF), 0);
  r = exec('shrd rax, rdx, 1', 0x0123456789abcdefn, 0xfedcba9876543210n);
  assert.equal(r.rax, 0x0091a2b3c4d5e6f7n);
  assert.equal(r.flags & (CF | OF), CF);
  r = exec('shld edx, eax, 1', 0x80000000n, 0xc0000000n);
  assert.equal(r.rdx, 0x80000001n);
  assert.equal(r.flags & (CF | OF), CF);
  r = exec('shld edx, eax, 1', 0n, 0x40000000n);
  assert.equal(r.rdx, 0x80000000n);
  assert.equal(r.flags & (CF | OF), OF);
  r = exec('shrd rdx, rax, 63', 1n, 0x8000000000000000n);
  // RDX >> 63 = 1, RAX << 1 = 2: 3; CF = bit 62 of RDX = 0.
  assert.equal(r.rdx, 3n);
  assert.equal(r.flags & CF, 0);
});
