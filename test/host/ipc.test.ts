/**
 * The worker channel's framing and message checks against malformed and hostile input: split and
 * merged chunks, oversized or unknown frames, and messages that break the protocol's rules.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_CONSOLE_OUT, FRAME_JSON, FrameDecoder, FrameError, MAX_FRAME, encodeFrame, encodeJson } from '../../src/host/workers/ipc-frame.js';
import { ProtocolError, parseServiceMessage, parseWorkerMessage } from '../../src/host/workers/ipc-protocol.js';

function decodeAll(chunks: Buffer[]): Array<[number, string]> {
  const d = new FrameDecoder();
  const out: Array<[number, string]> = [];
  for (const c of chunks) d.push(c, (k, p) => out.push([k, p.toString('utf8')]));
  return out;
}

test('frames survive any chunking', () => {
  const stream = Buffer.concat([encodeJson({ type: 'hello', protocol: 1 }), encodeFrame(FRAME_CONSOLE_OUT, Buffer.from('abc')), encodeFrame(FRAME_CONSOLE_OUT, Buffer.alloc(0))]);
  const whole = decodeAll([stream]);
  assert.deepEqual(whole, [[FRAME_JSON, '{"type":"hello","protocol":1}'], [FRAME_CONSOLE_OUT, 'abc'], [FRAME_CONSOLE_OUT, '']]);
  for (let cut = 1; cut < stream.length; cut++) assert.deepEqual(decodeAll([stream.subarray(0, cut), stream.subarray(cut)]), whole, `cut at ${cut}`);
  assert.deepEqual(decodeAll([...stream].map((b) => Buffer.from([b]))), whole, 'byte by byte');
});

test('oversized, empty and unknown frames are rejected', () => {
  const len = (n: number): Buffer => { const b = Buffer.alloc(5); b.writeUInt32BE(n, 0); b[4] = FRAME_JSON; return b; };
  assert.throws(() => decodeAll([len(MAX_FRAME + 1)]), FrameError);
  assert.throws(() => decodeAll([len(0xffffffff)]), FrameError);
  assert.throws(() => decodeAll([len(0)]), FrameError);
  const bad = Buffer.from([0, 0, 0, 1, 9]);
  assert.throws(() => decodeAll([bad]), /unknown frame kind 9/);
  assert.throws(() => encodeFrame(FRAME_CONSOLE_OUT, Buffer.alloc(MAX_FRAME)), FrameError);
});

test('messages that break the protocol are refused, not half-used', () => {
  const w = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
  assert.deepEqual(parseWorkerMessage(w({ type: 'response', id: 3, ok: true, result: { ticks: 5 } })), { type: 'response', id: 3, ok: true, result: { ticks: 5 } });
  assert.deepEqual(parseServiceMessage(w({ type: 'request', id: 1, op: 'start', from: 'saved-state' })), { type: 'request', id: 1, op: 'start', from: 'saved-state' });
  const hostile: unknown[] = [
    'not json', [], null, { type: 'reboot-host' }, { type: 'response', id: -1, ok: true }, { type: 'response', id: 1, ok: 'yes' },
    { type: 'response', id: 1, ok: true, result: { 'bad name': 1 } }, { type: 'response', id: 1, ok: true, result: { x: 'NaN' } },
    { type: 'response', id: 1, ok: true, result: [1] }, { type: 'state', state: 'exploded' }, { type: 'exit', outcome: 'vanished', reason: null },
    { type: 'hello', protocol: 1, vmId: 'x'.repeat(65), instance: 'i', pid: 1, state: 'running' },
    { type: 'response', id: 1, ok: false, error: 'e'.repeat(5000) },
  ];
  for (const h of hostile) {
    const buf = typeof h === 'string' ? Buffer.from(h) : w(h);
    assert.throws(() => parseWorkerMessage(buf), ProtocolError, JSON.stringify(h)?.slice(0, 80));
  }
  assert.deepEqual(parseServiceMessage(w({ type: 'hello', protocol: 1, instance: 'abc' })), { type: 'hello', protocol: 1, instance: 'abc' });
  for (const h of [{ type: 'hello', protocol: 1 }, { type: 'request', id: 1, op: 'format-disk' }, { type: 'request', id: 1.5, op: 'pause' }, { type: 'request', id: 1, op: 'start', from: 'elsewhere' }]) {
    assert.throws(() => parseServiceMessage(w(h)), ProtocolError);
  }
});
