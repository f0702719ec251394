/**
 * Proves the native half of the harness on its own: the host CPU runs snippets with exactly the
 * state we send, and reports results, exceptions and memory exactly.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assembleSnippets } from './assemble.js';
import { runNative, nativeRunnerPath } from './native.js';
import { Rng } from './rng.js';
import { baseCase, R, F, RBX_OFFSET, RSP_OFFSET, le64 } from './template.js';
import { FX, view, randomF80, setX87Stack, randomVector, setXmm, setMxcsr, defaultFx } from './fx.js';
import { DATA_BASE, windowOf, type CaseInput } from './wire.js';

const M64 = (1n << 64n) - 1n;

function one(asm: string, setup: (c: CaseInput) => void, seed = 1): ReturnType<typeof runNative>[number] & { input: CaseInput } {
  const [code] = assembleSnippets([asm]);
  const c = baseCase(code!, new Rng(seed));
  setup(c);
  const [out] = runNative([c]);
  return { ...out!, input: c };
}

/** Reference flags of a 64-bit addition with carry-in, from the definitions. */
function addFlags(a: bigint, b: bigint, cin: bigint): number {
  const full = a + b + cin, res = full & M64;
  let f = 0;
  if (full > M64) f |= F.CF;
  if (res === 0n) f |= F.ZF;
  if (res >> 63n) f |= F.SF;
  if (((a ^ res) & (b ^ res)) >> 63n) f |= F.OF;
  if (((a ^ b ^ res) & 0x10n) !== 0n) f |= F.AF;
  let bits = Number(res & 0xffn), par = 1;
  while (bits) { par ^= bits & 1; bits >>= 1; }
  if (par) f |= F.PF;
  return f;
}

test('add and adc produce the sums and flags defined for them', () => {
  const r = new Rng(7);
  const [add, adc] = assembleSnippets(['add rax, rcx', 'adc rax, rcx']);
  const cases: CaseInput[] = [];
  for (let k = 0; k < 400; k++) { const c = baseCase(k % 2 ? adc! : add!, r); cases.push(c); }
  const out = runNative(cases);
  cases.forEach((c, k) => {
    const a = c.gpr[R.RAX]!, b = c.gpr[R.RCX]!, cin = k % 2 && (c.rflags & F.CF) ? 1n : 0n;
    assert.equal(out[k]!.exception, null);
    assert.equal(out[k]!.gpr[R.RAX], (a + b + cin) & M64, `case ${k}`);
    assert.equal(out[k]!.rflags & 0x8d5, addFlags(a, b, cin), `flags of case ${k}`);
    for (const reg of [R.RCX, R.RDX, R.RBX, R.RSP, R.RBP, R.RSI, R.RDI, R.R8, R.R15]) assert.equal(out[k]!.gpr[reg], c.gpr[reg]);
  });
});

test('mul leaves the 128-bit product in RDX:RAX', () => {
  const r = new Rng(9);
  const [mul] = assembleSnippets(['mul rcx']);
  const cases = Array.from({ length: 200 }, () => baseCase(mul!, r));
  const out = runNative(cases);
  cases.forEach((c, k) => {
    const p = c.gpr[R.RAX]! * c.gpr[R.RCX]!;
    assert.equal(out[k]!.gpr[R.RAX], p & M64);
    assert.equal(out[k]!.gpr[R.RDX], p >> 64n);
    assert.equal((out[k]!.rflags & F.CF) !== 0, (p >> 64n) !== 0n);
  });
});

test('faults report the exact vector, error code and faulting instruction', () => {
  const div = one('nop\ndiv rcx', (c) => { c.gpr[R.RCX] = 0n; });
  assert.equal(div.exception, 0);
  assert.equal(div.ripOffset, 1, 'RIP of the faulting DIV, after the NOP');
  assert.equal(div.gpr[R.RCX], 0n);
  const ud = one('ud2', () => undefined);
  assert.equal(ud.exception, 6);
  const load = one('mov rax, [rcx]', (c) => { c.gpr[R.RCX] = 0x3000_0000n; });
  assert.deepEqual([load.exception, load.errorCode], [14, 0x4], 'user read of a not-present page');
  const store = one('mov [rcx], rax', (c) => { c.gpr[R.RCX] = 0x3000_0008n; });
  assert.deepEqual([store.exception, store.errorCode], [14, 0x6], 'user write of a not-present page');
  const exec = one('jmp rcx', (c) => { c.gpr[R.RCX] = BigInt(DATA_BASE); });
  assert.deepEqual([exec.exception, exec.errorCode], [14, 0x15], 'instruction fetch from the no-execute data window');
  const gp = one('mov rax, [rcx]', (c) => { c.gpr[R.RCX] = 0x8000_0000_0000_0000n; });
  assert.deepEqual([gp.exception, gp.errorCode], [13, 0], 'non-canonical address');
  const de = one('idiv rcx', (c) => { c.gpr[R.RAX] = 0n; c.gpr[R.RDX] = 0x8000_0000_0000_0000n; c.gpr[R.RCX] = 1n; });
  assert.equal(de.exception, 0, 'quotient overflow');
});

test('RSP, the data window and RIP-relative operands are the case\'s own', () => {
  const push = one('push rax\npush qword [rel DATA+0x40]', (c) => { c.gpr[R.RAX] = 0x1122334455667788n; c.runs.push({ offset: 0x40, bytes: le64(0xcafef00dn) }); });
  assert.equal(push.exception, null);
  assert.equal(push.gpr[R.RSP], BigInt(DATA_BASE + RSP_OFFSET - 16));
  const w = windowOf(push.runs);
  const dv = view(w);
  assert.equal(dv.getBigUint64(RSP_OFFSET - 8, true), 0x1122334455667788n);
  assert.equal(dv.getBigUint64(RSP_OFFSET - 16, true), 0xcafef00dn);
  const lea = one('lea rax, [rel DATA+0x123]', () => undefined);
  assert.equal(lea.gpr[R.RAX], BigInt(DATA_BASE + 0x123));
  const store = one('mov [rbx+16], rcx', (c) => { c.gpr[R.RCX] = 0xa5a5n; });
  assert.equal(view(windowOf(store.runs)).getBigUint64(RBX_OFFSET + 16, true), 0xa5a5n);
  // Bytes the case sent come back unchanged (the output is the whole window, not a change list).
  assert.deepEqual(windowOf(store.runs).subarray(RBX_OFFSET - 0x100, RBX_OFFSET + 16), windowOf(store.input.runs).subarray(RBX_OFFSET - 0x100, RBX_OFFSET + 16));
});

test('FXSAVE64 state goes in and comes out unchanged, x87 stack included', () => {
  const r = new Rng(3);
  const [nop] = assembleSnippets(['nop']);
  const cases: CaseInput[] = [];
  for (let k = 0; k < 50; k++) {
    const c = baseCase(nop!, r);
    c.fxsave = defaultFx();
    view(c.fxsave).setUint16(FX.FCW, 0x0040 | 0x3f | (r.below(4) << 10) | (r.pick([0, 2, 3]) << 8), true);
    setMxcsr(c.fxsave, 0x1f80 | (r.below(4) << 13) | r.below(64) | (r.chance(0.5) ? 0x8040 : 0));
    const n = r.below(9);
    setX87Stack(c.fxsave, r.below(8), Array.from({ length: n }, () => randomF80(r)));
    for (let x = 0; x < 16; x++) setXmm(c.fxsave, x, randomVector(r));
    cases.push(c);
  }
  const out = runNative(cases);
  cases.forEach((c, k) => {
    const o = out[k]!.fxsave;
    assert.equal(out[k]!.exception, null);
    assert.deepEqual(o.subarray(0, 5), c.fxsave.subarray(0, 5), 'FCW, FSW, abridged FTW');
    assert.deepEqual(o.subarray(24, 28), c.fxsave.subarray(24, 28), 'MXCSR');
    for (let i = 0; i < 8; i++) assert.deepEqual(o.subarray(32 + i * 16, 42 + i * 16), c.fxsave.subarray(32 + i * 16, 42 + i * 16), `ST${i}`);
    assert.deepEqual(o.subarray(160, 416), c.fxsave.subarray(160, 416), 'XMM0-15');
  });
});

test('thousands of cases in one process, faults interleaved with normal runs, DF per case', () => {
  const r = new Rng(11);
  const [div, std] = assembleSnippets(['div rcx', 'std']);
  const cases: CaseInput[] = [];
  for (let k = 0; k < 3000; k++) {
    const c = baseCase(k % 3 === 2 ? std! : div!, r);
    c.gpr[R.RDX] = 0n;
    if (k % 3 === 0) c.gpr[R.RCX] = 0n; else if (c.gpr[R.RCX] === 0n) c.gpr[R.RCX] = 3n;
    cases.push(c);
  }
  const out = runNative(cases);
  assert.equal(out.length, 3000);
  cases.forEach((c, k) => {
    const o = out[k]!;
    if (k % 3 === 0) { assert.equal(o.exception, 0, `case ${k}`); return; }
    assert.equal(o.exception, null, `case ${k}`);
    if (k % 3 === 1) {
      assert.equal(o.gpr[R.RAX], c.gpr[R.RAX]! / c.gpr[R.RCX]!);
      assert.equal(o.gpr[R.RDX], c.gpr[R.RAX]! % c.gpr[R.RCX]!);
      assert.equal(o.rflags & F.DF, 0, 'DF from the previous case must not leak');
    } else {
      assert.equal(o.rflags & F.DF, F.DF);
    }
  });
});

test('the runner refuses malformed input with a message instead of running it', () => {
  const bad = Buffer.alloc(8);
  bad.writeUInt32LE(0x100000, 0);
  const r = spawnSync(nativeRunnerPath(), [], { input: bad });
  assert.equal(r.status, 2);
  assert.match(r.stderr.toString(), /code longer than the code pages/);
  const truncated = Buffer.alloc(6);
  truncated.writeUInt32LE(4, 0);
  const t = spawnSync(nativeRunnerPath(), [], { input: truncated });
  assert.equal(t.status, 2);
  assert.match(t.stderr.toString(), /truncated code/);
});

test('32-bit snippets run in compatibility mode: 0x48 is DEC EAX there, and pushes are 4 bytes', () => {
  const [code] = assembleSnippets(['dec eax\npush eax\nmov ecx, esp'], 32);
  assert.equal(code![0], 0x48);
  const c = baseCase(code!, new Rng(3));
  c.bits = 32;
  c.gpr[R.RAX] = 0x1234_5678_0000_0000n;
  const [out] = runNative([c]);
  assert.equal(out!.exception, null);
  assert.equal(out!.gpr[R.RAX]! & 0xffffffffn, 0xffffffffn);
  assert.equal(out!.gpr[R.RCX]! & 0xffffffffn, BigInt(DATA_BASE + RSP_OFFSET - 4));
  const w = windowOf(out!.runs);
  assert.equal(new DataView(w.buffer).getUint32(RSP_OFFSET - 4, true), 0xffffffff);
});

test('a fault in 32-bit code is reported with its vector and offset, and the next case runs normally', () => {
  const [bad] = assembleSnippets(['nop\nmov eax, [0x100]'], 32);
  const [good] = assembleSnippets(['inc rax']);
  const a = baseCase(bad!, new Rng(4)); a.bits = 32;
  const b = baseCase(good!, new Rng(5));
  const [o1, o2] = runNative([a, b]);
  assert.equal(o1!.exception, 14);
  assert.equal(o1!.ripOffset, 1);
  assert.equal(o2!.exception, null);
  assert.equal(o2!.gpr[R.RAX], BigInt.asUintN(64, b.gpr[R.RAX]! + 1n));
});
