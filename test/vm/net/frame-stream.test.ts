/**
 * The length-prefixed frame stream (QEMU's stream netdev format): byte-exact encoding, decoding
 * across every possible chunk split, and refused lengths skipped without losing step.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameEncoder } from '../../../src/vm/net/frame-stream.js';
import { MAX_FRAME } from '../../../src/vm/net/net-backend.js';

function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 31 + seed * 7) & 0xff;
  return f;
}

function decoder(): { d: FrameDecoder; got: Uint8Array[]; refused: number[] } {
  const got: Uint8Array[] = [], refused: number[] = [];
  return { d: new FrameDecoder((f) => got.push(new Uint8Array(f)), (n) => refused.push(n)), got, refused };
}

test('encoder: each frame is its 4-byte big-endian length, then the frame', () => {
  const e = new FrameEncoder();
  e.append(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14));
  e.append(frame(0x1234, 1));
  const out = e.take();
  assert.deepEqual([...out.subarray(0, 18)], [0, 0, 0, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.deepEqual([...out.subarray(18, 22)], [0, 0, 0x12, 0x34]);
  assert.deepEqual(new Uint8Array(out.subarray(22)), frame(0x1234, 1));
  assert.equal(e.pending, 0);
  assert.equal(e.fits(MAX_FRAME), true, 'an empty batch always takes the largest frame');
});

test('decoder: frames come out whole however the stream is cut', () => {
  const frames = [frame(14, 1), frame(60, 2), frame(1514, 3), frame(17, 4)];
  const e = new FrameEncoder();
  for (const f of frames) e.append(f);
  const wire = e.take();
  for (let cut = 1; cut < wire.length; cut++) {
    const { d, got } = decoder();
    d.push(wire.subarray(0, cut));
    d.push(wire.subarray(cut));
    assert.deepEqual(got, frames, `cut at ${cut}`);
    assert.equal(d.idle, true);
  }
  const { d, got } = decoder();
  for (const b of wire) d.push(Uint8Array.of(b));
  assert.deepEqual(got, frames, 'one byte at a time');
});

test('decoder: undersized and oversized lengths are refused and their bytes skipped; the next frame is intact', () => {
  const good = frame(100, 5);
  const parts: Uint8Array[] = [];
  const prefix = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  parts.push(prefix(0), prefix(13), frame(13, 6), prefix(MAX_FRAME + 1), frame(MAX_FRAME + 1, 7), prefix(100), good);
  const wire = Buffer.concat(parts);
  for (const chunk of [wire.length, 1000, 7]) {
    const { d, got, refused } = decoder();
    for (let i = 0; i < wire.length; i += chunk) d.push(wire.subarray(i, i + chunk));
    assert.deepEqual(refused, [0, 13, MAX_FRAME + 1], `chunks of ${chunk}`);
    assert.deepEqual(got, [good]);
    assert.equal(d.idle, true);
  }
});

test('decoder: a hostile 4 GiB length only costs skipping, never buffering', () => {
  const { d, got, refused } = decoder();
  d.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  for (let i = 0; i < 16; i++) d.push(new Uint8Array(65536));
  assert.deepEqual(refused, [0xffffffff]);
  assert.equal(got.length, 0);
  assert.equal(d.idle, false, 'still skipping');
});
