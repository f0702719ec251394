/**
 * FpuState: save/restore round trip, hostile saved state, FXSAVE/FXRSTOR image layout.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FpuState } from '../../../src/hv/cpu/x86/fpu/fpu-state.js';

function filled(): FpuState {
  const f = new FpuState();
  for (let k = 0; k < 256; k++) f.xmm[k] = (k * 7 + 3) & 0xff;
  for (let k = 0; k < 80; k++) f.st[k] = (k * 13 + 1) & 0xff;
  f.mxcsr = 0x9fc0; f.fcw = 0x0a7f; f.fsw = 0x4123; f.top = 5; f.ftw = 0x3c0f; f.fop = 0x5d9; f.fip = 0x1234; f.fdp = 0x5678;
  return f;
}

test('save() and restore() round-trip every field', () => {
  const a = filled();
  const b = new FpuState();
  b.restore(a.save());
  assert.deepEqual(b.save(), a.save());
});

test('restore() rejects a record with the wrong id, version or field sizes', () => {
  const s = filled().save();
  assert.throws(() => new FpuState().restore({ ...s, id: 'x86.cpu' }));
  assert.throws(() => new FpuState().restore({ ...s, version: 2 }));
  assert.throws(() => new FpuState().restore({ ...s, data: { ...s.data, st: new Uint8Array(79) } }));
  assert.throws(() => new FpuState().restore({ ...s, data: { ...s.data, words: [1, 2, 3] } }));
});

test('FXSAVE places ST(i) by TOP, MXCSR at 24, XMM at 160, and FXRSTOR reverses it', () => {
  const a = filled();
  const img = new Uint8Array(512);
  a.fxsave(img, true);
  const dv = new DataView(img.buffer);
  assert.equal(dv.getUint16(0, true), 0x0a7f);
  assert.equal(dv.getUint16(2, true), (0x4123 & ~0x3800) | (5 << 11));
  assert.equal(dv.getUint32(24, true), 0x9fc0);
  assert.deepEqual([...img.subarray(32, 42)], [...a.st.subarray(50, 60)], 'ST(0) is physical register TOP = 5');
  assert.deepEqual([...img.subarray(160, 416)], [...a.xmm]);
  // FTW 0x3c0f: physical registers 0, 1, 5, 6 are empty (tag 3); the abridged byte marks 2, 3, 4, 7.
  assert.equal(img[4], 0b10011100);
  const b = new FpuState();
  assert.equal(b.fxrstor(img, true), true);
  assert.deepEqual([...b.st], [...a.st]);
  assert.deepEqual([...b.xmm], [...a.xmm]);
  assert.equal(b.top, 5);
});

test('FXRSTOR refuses an image with reserved MXCSR bits and changes nothing', () => {
  const img = new Uint8Array(512);
  new DataView(img.buffer).setUint32(24, 0x10000, true);
  const f = filled();
  const before = f.save();
  assert.equal(f.fxrstor(img, true), false);
  assert.deepEqual(f.save(), before);
});
