/**
 * The stream-socket backend over real Unix sockets in a temporary directory: who listens and who
 * connects, frames both ways, QEMU's wire format byte for byte, reconnecting when either side
 * restarts, a stale socket left by a killed process, a third peer, bad paths, and backpressure.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../src/common/errors.js';
import { MAX_FRAME } from '../../../src/vm/net/net-backend.js';
import { StreamSocketBackend, type StreamSocketOptions } from '../../../src/vm/net/stream-socket-backend.js';
import { prefixed, RawPeer, RecordingSink, tempDir, testFrame, waitFor } from './net-test-helpers.js';

async function open(path: string, o: Partial<StreamSocketOptions> = {}): Promise<{ b: StreamSocketBackend; sink: RecordingSink }> {
  const b = await StreamSocketBackend.open({ path, retryMs: 10, watchMs: 20, ...o });
  const sink = new RecordingSink();
  b.attach(sink);
  return { b, sink };
}

test('the first side listens, the second connects; frames cross intact both ways; close removes the path', async (t) => {
  const path = join(tempDir(t), 'nic.sock');
  const a = await open(path);
  assert.equal(a.b.state, 'listening');
  assert.equal(lstatSync(path).isSocket(), true);
  const b = await open(path);
  assert.equal(b.b.state, 'connected');
  assert.equal(b.b.role, 'client');
  await waitFor(() => a.b.linkUp, 'the listener to accept');
  assert.equal(a.b.role, 'server');
  assert.deepEqual(a.sink.links, [true]);
  const ab = [testFrame(14, 1), testFrame(1514, 2), testFrame(MAX_FRAME, 3)];
  const ba = Array.from({ length: 100 }, (_, i) => testFrame(60 + i * 17, 10 + i));
  for (const f of ab) a.b.send(f);
  a.b.flush();
  for (const f of ba) b.b.send(f);
  b.b.flush();
  await waitFor(() => b.sink.frames.length === ab.length && a.sink.frames.length === ba.length, 'frames both ways');
  assert.deepEqual(b.sink.frames, ab);
  assert.deepEqual(a.sink.frames, ba);
  assert.equal(a.b.stats.txBytes, 14 + 1514 + MAX_FRAME);
  await b.b.close();
  await waitFor(() => !a.b.linkUp, 'the listener to see the peer go');
  assert.deepEqual(a.sink.links, [true, false]);
  assert.equal(a.b.state, 'listening');
  await a.b.close();
  assert.equal(existsSync(path), false, 'the listener removed its path');
});

test("wire format: exactly QEMU's stream netdev (4-byte big-endian length, frame), oversized and undersized frames dropped and counted", async (t) => {
  const path = join(tempDir(t), 'qemu.sock');
  const raw = await RawPeer.listen(path);
  t.after(() => raw.close());
  const { b, sink } = await open(path);
  assert.equal(b.role, 'client', 'a listening QEMU (server=on) is joined as a client');
  await waitFor(() => raw.socket !== undefined, 'raw peer accepts');
  const f1 = testFrame(60, 1), f2 = testFrame(1514, 2);
  b.send(f1);
  b.send(f2);
  b.send(new Uint8Array(13));
  b.send(new Uint8Array(MAX_FRAME + 1));
  b.flush();
  const expected = Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.from(f1), Buffer.from([0, 0, 5, 0xea]), Buffer.from(f2)]);
  await waitFor(() => raw.received.length >= expected.length, 'bytes at the raw peer');
  assert.deepEqual(new Uint8Array(raw.received), new Uint8Array(expected));
  assert.equal(b.stats.txDroppedInvalid, 2);
  const g1 = testFrame(100, 3), g2 = testFrame(2000, 4);
  const wire = Buffer.concat([prefixed(new Uint8Array(5)), prefixed(g1), prefixed(new Uint8Array(MAX_FRAME + 10)), prefixed(g2)]);
  for (let i = 0; i < wire.length; i += 999) raw.socket!.write(wire.subarray(i, i + 999));
  await waitFor(() => sink.frames.length === 2, 'good frames from the raw peer');
  assert.deepEqual(sink.frames, [g1, g2]);
  assert.equal(b.stats.rxDroppedUndersized, 1);
  assert.equal(b.stats.rxDroppedOversized, 1);
  await b.close();
});

test('a restarted peer reconnects, whichever side restarts', async (t) => {
  const path = join(tempDir(t), 'restart.sock');
  const a = await open(path);
  let b = await open(path);
  await waitFor(() => a.b.linkUp && b.b.linkUp, 'first connection');
  await b.b.close();
  await waitFor(() => !a.b.linkUp, 'a sees b go');
  b = await open(path);
  await waitFor(() => a.b.linkUp && b.b.linkUp, 'b back');
  b.b.send(testFrame(64, 1));
  b.b.flush();
  await waitFor(() => a.sink.frames.length === 1, 'a frame after the restart');
  // Now the listener goes: the client takes over the path and the restarted listener joins it.
  await a.b.close();
  await waitFor(() => b.b.state === 'listening', 'b becomes the listener');
  assert.equal(b.sink.links.at(-1), false, 'b saw the link drop');
  const a2 = await open(path);
  assert.equal(a2.b.role, 'client');
  await waitFor(() => b.b.linkUp, 'b accepts the new a');
  a2.b.send(testFrame(64, 2));
  a2.b.flush();
  await waitFor(() => b.sink.frames.length === 1, 'frame from the new a');
  assert.deepEqual(b.sink.frames[0], testFrame(64, 2));
  await a2.b.close();
  await b.b.close();
});

test('a stale socket file left by a killed process does not wedge the backend', async (t) => {
  const path = join(tempDir(t), 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  assert.equal(lstatSync(path).isSocket(), true, 'the dead process left its socket file');
  const a = await open(path);
  assert.equal(a.b.state, 'listening');
  const b = await open(path);
  await waitFor(() => a.b.linkUp && b.b.linkUp, 'connection through the new socket');
  await b.b.close();
  await a.b.close();
});

test('paths that cannot work are refused with a UserError naming the path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'not a socket');
  await assert.rejects(StreamSocketBackend.open({ path: file }), (e: unknown) => e instanceof UserError && /plain-file exists and is not a socket/.test(e.message));
  await assert.rejects(StreamSocketBackend.open({ path: join(dir, 'missing', 'x.sock') }), (e: unknown) => e instanceof UserError && /missing\/x\.sock/.test(e.message));
  assert.equal(existsSync(file), true, 'the file was not touched');
});

test('a third peer is refused while the pair is connected, and gets in once a place is free', async (t) => {
  const path = join(tempDir(t), 'three.sock');
  const logs: string[] = [];
  const a = await open(path, { log: (m) => logs.push(m) });
  const b = await open(path);
  await waitFor(() => a.b.linkUp, 'pair');
  const c = await open(path);
  await waitFor(() => logs.some((m) => /refused another peer/.test(m)), 'refusal');
  a.b.send(testFrame(80, 1));
  a.b.flush();
  await waitFor(() => b.sink.frames.length === 1, 'the pair still talks');
  assert.equal(c.sink.frames.length, 0);
  await b.b.close();
  await waitFor(() => a.b.linkUp && c.b.linkUp, 'c takes the free place');
  c.b.send(testFrame(90, 2));
  c.b.flush();
  await waitFor(() => a.sink.frames.length === 1, 'frame from c');
  await c.b.close();
  await a.b.close();
});

test('a listener whose path was taken over joins the new owner', async (t) => {
  const path = join(tempDir(t), 'taken.sock');
  const a = await open(path);
  assert.equal(a.b.state, 'listening');
  // Another process found the same stale file, removed it and listens there now.
  const { unlinkSync } = await import('node:fs');
  unlinkSync(path);
  const raw = await RawPeer.listen(path);
  t.after(() => raw.close());
  await waitFor(() => raw.connections === 1 && a.b.linkUp, 'a connects to the new owner');
  assert.equal(a.b.role, 'client');
  await a.b.close();
});

test('backpressure: a peer that stops reading makes the backend congested; writable() follows when it reads again', async (t) => {
  const path = join(tempDir(t), 'slow.sock');
  const raw = await RawPeer.listen(path);
  t.after(() => raw.close());
  const { b, sink } = await open(path, { highWaterBytes: 256 * 1024 });
  await waitFor(() => raw.socket !== undefined, 'accept');
  raw.socket!.pause();
  const f = testFrame(9000, 1);
  let sent = 0;
  for (let i = 0; i < 10_000 && !b.congested; i++) { b.send(f); b.flush(); sent++; }
  assert.equal(b.congested, true, 'the socket filled up');
  assert.equal(sink.writables, 0);
  raw.socket!.resume();
  await waitFor(() => sink.writables === 1 && !b.congested, 'writable() after the peer read');
  await waitFor(() => raw.received.length === sent * (4 + 9000), 'every frame arrived');
  await b.close();
});

test('two backends started at the same moment on a fresh path end up connected', async (t) => {
  const path = join(tempDir(t), 'race.sock');
  const [a, b] = await Promise.all([open(path), open(path)]);
  await waitFor(() => a.b.linkUp && b.b.linkUp, 'connected');
  assert.deepEqual(new Set([a.b.role, b.b.role]), new Set(['client', 'server']));
  await a.b.close();
  await b.b.close();
  const s = net.connect(path);
  const err = await new Promise<string>((r) => s.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')));
  assert.equal(err, 'ENOENT', 'nothing left behind');
});
