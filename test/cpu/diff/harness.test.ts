/**
 * The comparison itself: with the host CPU standing in for the engine, every template agrees (no
 * false alarms from undefined state, address layout or window handling); a corrupted result is
 * reported once per template, naming the register, flag or byte that differs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplates, prepare, type RunSnippet } from './harness.js';
import { runNative } from './native.js';
import { integerTemplates } from './templates-integer.js';
import { x87Templates } from './templates-x87.js';
import { sseTemplates } from './templates-sse.js';
import { F, RBX_OFFSET, type Template } from './template.js';
import { windowOf, windowRuns } from './wire.js';

/** An "engine" that is the host CPU, one runner process per call. */
const hostEngine: RunSnippet = (code, s) => {
  const [o] = runNative([{ code, gpr: s.gpr, rflags: s.rflags, fxsave: s.fxsave, runs: windowRuns(s.data) }]);
  return { state: { gpr: o!.gpr, rflags: o!.rflags, fxsave: o!.fxsave, data: windowOf(o!.runs) }, exception: o!.exception, errorCode: o!.errorCode };
};

function sample(ts: Template[], every: number): Template[] { return ts.filter((_, k) => k % every === 0); }

test('the host agrees with itself on a sample of every area', () => {
  const ps = prepare([...sample(integerTemplates(), 25), ...sample(x87Templates(), 8), ...sample(sseTemplates(), 30)]);
  assert.ok(ps.length > 60, `only ${ps.length} templates sampled`);
  const ms = checkTemplates(ps, 3, 99, hostEngine);
  assert.deepEqual(ms.map((m) => m.report), []);
});

test('a wrong result is reported once per template with the differing state named', () => {
  const ps = prepare(integerTemplates().filter((t) => t.name === 'add rax, rcx' || t.name === 'mov [rbx+7], r10' || t.name === 'mul rcx'));
  assert.equal(ps.length, 3);
  const flipCf: RunSnippet = (code, s) => { const r = hostEngine(code, s); r.state.rflags ^= F.CF; return r; };
  const ms = checkTemplates(ps, 4, 5, flipCf);
  // MUL defines CF, ADD defines CF, MOV leaves it alone: all three must notice.
  assert.equal(ms.length, 3);
  for (const m of ms) { assert.match(m.report, /rflags: host/); assert.match(m.report, /case 0 of seed 5/); assert.match(m.report, /bytes: [0-9a-f]+/); }
  const badByte: RunSnippet = (code, s) => { const r = hostEngine(code, s); r.state.data[RBX_OFFSET + 7] ^= 1; return r; };
  const [mov] = checkTemplates(ps.filter((p) => p.t.name.startsWith('mov')), 2, 5, badByte);
  assert.match(mov!.report, /data window differs first at \+0x8007/);
  const badReg: RunSnippet = (code, s) => { const r = hostEngine(code, s); r.state.gpr[2] = r.state.gpr[2]! ^ 1n; return r; };
  const [mul] = checkTemplates(ps.filter((p) => p.t.name === 'mul rcx'), 2, 5, badReg);
  assert.match(mul!.report, /rdx: host 0x[0-9a-f]{16} engine/);
});

test('undefined flags are not compared, defined ones are', () => {
  const [mul] = prepare(integerTemplates().filter((t) => t.name === 'mul rcx'));
  const flipZf: RunSnippet = (code, s) => { const r = hostEngine(code, s); r.state.rflags ^= F.ZF | F.SF | F.AF | F.PF; return r; };
  assert.deepEqual(checkTemplates([mul!], 3, 1, flipZf), [], 'MUL leaves SF ZF AF PF undefined');
  const flipOf: RunSnippet = (code, s) => { const r = hostEngine(code, s); r.state.rflags ^= F.OF; return r; };
  assert.equal(checkTemplates([mul!], 3, 1, flipOf).length, 1, 'MUL defines OF');
});

test('a missing exception and a wrong vector are mismatches', () => {
  const ps = prepare(integerTemplates().filter((t) => t.name === 'ud2 (64-bit: #UD)'));
  const none: RunSnippet = (code, s) => ({ ...hostEngine(code, s), exception: null, errorCode: null });
  assert.match(checkTemplates(ps, 1, 1, none)[0]!.report, /exception: host #UD 6 \(at \+0\) engine none/);
  const gp: RunSnippet = (code, s) => ({ ...hostEngine(code, s), exception: 13, errorCode: 0 });
  assert.match(checkTemplates(ps, 1, 1, gp)[0]!.report, /engine #GP 13/);
});
