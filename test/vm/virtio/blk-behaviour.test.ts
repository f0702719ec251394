/**
 * virtio-blk semantics that need control over when the backend finishes: flush ordering,
 * writethrough without FLUSH, out-of-order completion, reset with requests in flight, plus 4 KiB
 * logical sectors, multiqueue, INTx and backend errors.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { settle, until } from './fake-guest.js';
import { bit } from './fake-driver.js';
import {
  blk, blkRig, complete, dwz, MemoryDisk, pattern, S_IOERR, S_OK, submit, T_FLUSH, T_IN, T_OUT, T_WRITE_ZEROES,
} from './fake-blk.js';

const F_FLUSH = 9, F_MQ = 12;

test('a flush waits for every write submitted before it, then flushes the backend', async () => {
  const disk = new MemoryDisk(1 << 20);
  const r = blkRig(disk);
  disk.hold = true;
  const w1 = submit(r, { type: T_OUT, sector: 0, out: pattern(4096, 1) });
  const w2 = submit(r, { type: T_OUT, sector: 64, out: pattern(4096, 2) });
  const f = submit(r, { type: T_FLUSH });
  await until(() => disk.pending.length === 2, 'both writes at the backend');
  await settle();
  assert.deepEqual(disk.pending.map((o) => o.kind), ['write', 'write'], 'the flush has not reached the backend');
  assert.ok(disk.releaseOne('write'));
  await settle();
  assert.deepEqual(disk.pending.map((o) => o.kind), ['write'], 'still waiting for the second write');
  assert.ok(disk.releaseOne('write'));
  await until(() => disk.pending.length === 1, 'the flush at the backend');
  assert.equal(disk.pending[0]!.kind, 'flush');
  disk.releaseAll();
  for (const s of [w1, w2, f]) assert.equal((await complete(r, s)).status, S_OK);
  assert.deepEqual(disk.log, ['write 0+8', 'write 64+8', 'flush']);
});

test('without FLUSH negotiated every write is flushed before it completes (writethrough)', async () => {
  const disk = new MemoryDisk(1 << 20);
  const r = blkRig(disk, {}, { accept: (f) => f & ~bit(F_FLUSH) });
  assert.equal((await blk(r, { type: T_OUT, sector: 8, out: pattern(512, 3) })).status, S_OK);
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[16, 8, 0]]) })).status, S_OK);
  assert.deepEqual(disk.log, ['write 8+1', 'flush', 'write 16+8', 'flush']);
  const wb = blkRig(new MemoryDisk(1 << 20));
  assert.equal((await blk(wb, { type: T_OUT, sector: 8, out: pattern(512, 3) })).status, S_OK);
  assert.equal((wb.fn.device as unknown as { disk: MemoryDisk }).disk.flushes, 0, 'with FLUSH negotiated the cache is writeback');
});

test('requests complete in the order the backend finishes them', async () => {
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 4));
  const r = blkRig(disk);
  disk.hold = true;
  const a = submit(r, { type: T_IN, sector: 0, inLen: 512 });
  const b = submit(r, { type: T_IN, sector: 8, inLen: 512 });
  await until(() => disk.pending.length === 2, 'two reads held');
  disk.pending[1]!.release();
  disk.pending.splice(1, 1);
  await until(() => r.drv.vrings[0]!.usedIdx() === 1, 'the second read done');
  const vr = r.drv.vrings[0]!;
  assert.equal(r.guest.r32(vr.used + 4), b.head, 'the second request is used first');
  disk.releaseAll();
  assert.deepEqual((await complete(r, b)).data, disk.data.subarray(4096, 4608));
  assert.deepEqual((await complete(r, a)).data, disk.data.subarray(0, 512));
});

test('reset with requests in flight: they never touch guest memory, and new writes wait for old ones', async () => {
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 5));
  const r = blkRig(disk);
  disk.hold = true;
  const rd = submit(r, { type: T_IN, sector: 0, inLen: 4096 });
  r.guest.write(rd.dataAt, new Uint8Array(4096).fill(0xee));
  submit(r, { type: T_OUT, sector: 32, out: new Uint8Array(4096).fill(0x11) });
  await until(() => disk.pending.length === 2, 'both at the backend');
  r.drv.init();
  const w2 = submit(r, { type: T_OUT, sector: 32, out: new Uint8Array(4096).fill(0x22) });
  await settle();
  assert.equal(disk.pending.length, 2, 'the new write waits for the old epoch');
  disk.releaseOne('read');
  disk.releaseOne('write');
  await until(() => disk.pending.length === 1, 'the new write reaches the backend');
  disk.releaseAll();
  assert.equal((await complete(r, w2)).status, S_OK);
  assert.ok(r.guest.read(rd.dataAt, 4096).every((x) => x === 0xee), 'the old read did not land in guest memory');
  assert.equal(r.guest.read(rd.statusAt, 1)[0], 0xee, 'nor its status');
  assert.ok(disk.data.subarray(32 * 512, 40 * 512).every((x) => x === 0x22), 'the newer write wins');
  await r.fn.drain();
  assert.equal(r.drv.vrings[0]!.usedIdx(), 1, 'only the new request was used');
});

test('4 KiB logical sectors: BLK_SIZE and topology; unaligned ranges are I/O errors', async () => {
  const disk = new MemoryDisk(1 << 20, 4096);
  disk.data.set(pattern(1 << 20, 6));
  const r = blkRig(disk);
  assert.equal(r.drv.deviceConfig(20, 4), 4096, 'blk_size');
  assert.equal(r.drv.deviceConfig(44, 4), 8, 'discard alignment in 512-byte sectors');
  assert.equal(r.drv.deviceConfig(0, 4), 2048, 'capacity still in 512-byte sectors');
  const ok = await blk(r, { type: T_IN, sector: 16, inLen: 8192 });
  assert.equal(ok.status, S_OK);
  assert.deepEqual(ok.data, disk.data.subarray(8192, 16384));
  assert.equal((await blk(r, { type: T_IN, sector: 1, inLen: 4096 })).status, S_IOERR);
  assert.equal((await blk(r, { type: T_IN, sector: 8, inLen: 512 })).status, S_IOERR);
  assert.equal((await blk(r, { type: T_OUT, sector: 4, out: new Uint8Array(4096) })).status, S_IOERR);
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[3, 8, 0]]) })).status, S_IOERR);
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[8, 8, 0]]) })).status, S_OK);
  assert.ok(disk.data.subarray(4096, 8192).every((x) => x === 0));
});

test('multiqueue: MQ offered with num_queues, both queues serve requests', async () => {
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 8));
  const r = blkRig(disk, { queues: 2, queueSize: 64 });
  assert.notEqual(r.drv.offered & bit(F_MQ), 0n);
  assert.equal(r.drv.deviceConfig(34, 2), 2);
  assert.equal(r.drv.deviceConfig(12, 4), 62, 'seg_max follows the queue size');
  const a = await blk(r, { type: T_IN, sector: 0, inLen: 512, queue: 0 });
  const b = await blk(r, { type: T_IN, sector: 1, inLen: 512, queue: 1 });
  assert.deepEqual(a.data, disk.data.subarray(0, 512));
  assert.deepEqual(b.data, disk.data.subarray(512, 1024));
  assert.equal(r.guest.msi.count(1), 1);
  assert.equal(r.guest.msi.count(2), 1, 'queue 1 on its own vector');
});

test('INTx: a completion asserts the line until the driver reads the ISR', async () => {
  const disk = new MemoryDisk(1 << 20);
  const r = blkRig(disk, {}, { msix: false });
  let level = false;
  r.fn.intxSink = (l) => { level = l; };
  assert.equal((await blk(r, { type: T_IN, sector: 0, inLen: 512 })).status, S_OK);
  assert.equal(level, true);
  assert.equal(r.drv.isr(), 1);
  assert.equal(level, false);
  assert.equal(r.guest.msi.messages.length, 0);
});

test('a backend error is VIRTIO_BLK_S_IOERR, recorded, and the device keeps working', async () => {
  const disk = new MemoryDisk(1 << 20);
  const r = blkRig(disk);
  disk.failReads = true;
  assert.equal((await blk(r, { type: T_IN, sector: 0, inLen: 512 })).status, S_IOERR);
  assert.match((r.fn.device as unknown as { lastIoError: string }).lastIoError, /medium error/);
  disk.failReads = false;
  assert.equal((await blk(r, { type: T_IN, sector: 0, inLen: 512 })).status, S_OK);
  assert.equal(r.drv.status() & 0x40, 0);
});
