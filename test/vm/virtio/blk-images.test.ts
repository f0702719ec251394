/**
 * virtio-blk on real disk images: a raw file checked byte for byte with fs, a read-only raw file,
 * and a dynamic VHD cross-checked with QEMU's own tools (qemu-io writes what the guest reads;
 * qemu-img converts what the guest wrote).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createImage, openImage } from '../../../src/storage/registry.js';
import { bit } from './fake-driver.js';
import {
  blk, blkRig, dwz, pattern, S_IOERR, S_OK, S_UNSUPP, T_DISCARD, T_FLUSH, T_GET_ID, T_IN, T_OUT, T_WRITE_ZEROES,
} from './fake-blk.js';

const MiB = 1024 * 1024;
const F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13, F_WRITE_ZEROES = 14, F_SIZE_MAX = 1, F_SEG_MAX = 2, F_TOPOLOGY = 10;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-virtio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('raw image: reads, writes in odd-sized descriptors, flush, discard, write zeroes, get-id, errors', async (t) => {
  const file = join(tempDir(t), 'disk.raw');
  const initial = pattern(4 * MiB, 1);
  writeFileSync(file, initial);
  const img = await openImage(file, { readOnly: false });
  t.after(() => img.close());
  const r = blkRig(img, { serial: 'VIRIDIAN-SERIAL-0001' });
  const offered = r.drv.offered;
  for (const b of [F_SIZE_MAX, F_SEG_MAX, F_BLK_SIZE, F_FLUSH, F_TOPOLOGY, F_DISCARD, F_WRITE_ZEROES]) assert.notEqual(offered & bit(b), 0n, `feature ${b}`);
  assert.equal(offered & bit(F_RO), 0n);
  assert.equal(r.drv.deviceConfig(0, 4), 8192, 'capacity');
  assert.equal(r.drv.deviceConfig(12, 4), 254, 'seg_max');
  assert.equal(r.drv.deviceConfig(20, 4), 512, 'blk_size');
  assert.equal(r.drv.deviceConfig(34, 2), 1, 'num_queues');

  let res = await blk(r, { type: T_IN, sector: 16, inLen: 8192, segment: 4096 });
  assert.equal(res.status, S_OK);
  assert.equal(res.usedLen, 8193, 'data plus status byte');
  assert.deepEqual(res.data, initial.subarray(16 * 512, 16 * 512 + 8192));

  const data = pattern(12288, 2);
  res = await blk(r, { type: T_OUT, sector: 100, out: data, segment: 1000, indirect: true });
  assert.equal(res.status, S_OK);
  assert.equal(res.usedLen, 1);
  assert.equal((await blk(r, { type: T_FLUSH })).status, S_OK);
  assert.deepEqual(readFileSync(file).subarray(100 * 512, 100 * 512 + 12288), Buffer.from(data), 'the file holds what the guest wrote');

  res = await blk(r, { type: T_DISCARD, out: dwz([[100, 8, 0], [120, 4, 0]]) });
  assert.equal(res.status, S_OK);
  res = await blk(r, { type: T_IN, sector: 100, inLen: 12288 });
  assert.deepEqual(res.data.subarray(0, 4096), new Uint8Array(4096), 'discarded range reads as zeros');
  assert.deepEqual(res.data.subarray(4096, 10240), data.subarray(4096, 10240), 'between the segments: untouched');
  assert.deepEqual(res.data.subarray(10240), new Uint8Array(2048));

  for (const flags of [0, 1]) {
    res = await blk(r, { type: T_WRITE_ZEROES, out: dwz([[300, 16, flags]]) });
    assert.equal(res.status, S_OK, `write zeroes, unmap=${flags}`);
    assert.deepEqual(readFileSync(file).subarray(300 * 512, 316 * 512), Buffer.alloc(16 * 512));
    await blk(r, { type: T_OUT, sector: 300, out: pattern(16 * 512, 9) });
  }
  const before = sha(readFileSync(file));
  assert.equal((await blk(r, { type: T_DISCARD, out: dwz([[0, 8, 1]]) })).status, S_UNSUPP, 'discard with unmap');
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[0, 8, 0], [8, 8, 2]]) })).status, S_UNSUPP, 'unknown flag');
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[8190, 8, 0]]) })).status, S_IOERR, 'past the end');
  assert.equal((await blk(r, { type: T_DISCARD, out: new Uint8Array(8) })).status, S_IOERR, 'half a segment');
  assert.equal(sha(readFileSync(file)), before, 'refused requests changed nothing');

  res = await blk(r, { type: T_GET_ID, inLen: 20 });
  assert.equal(Buffer.from(res.data).toString('latin1'), 'VIRIDIAN-SERIAL-0001');
  assert.equal(res.usedLen, 21);
  res = await blk(r, { type: T_GET_ID, inLen: 8 });
  assert.equal(Buffer.from(res.data).toString('latin1'), 'VIRIDIAN');

  assert.equal((await blk(r, { type: T_IN, sector: 8191, inLen: 1024 })).status, S_IOERR, 'runs past the end');
  assert.equal((await blk(r, { type: T_IN, sector: 2 ** 60, inLen: 512 })).status, S_IOERR, 'absurd sector');
  assert.equal((await blk(r, { type: T_IN, sector: 0, inLen: 700 })).status, S_IOERR, 'not whole sectors');
  assert.equal((await blk(r, { type: T_OUT, sector: 8191, out: new Uint8Array(1024) })).status, S_IOERR);
  res = await blk(r, { type: 99, inLen: 0 });
  assert.equal(res.status, S_UNSUPP);
  assert.equal(r.drv.status() & 0x40, 0, 'bad requests are I/O errors, not device failures');
  assert.equal(sha(readFileSync(file)), before);
  assert.ok(r.guest.msi.count(1) >= 10, 'completions interrupt on the queue vector');
});

test('a request larger than the bounce chunk moves through in pieces', async (t) => {
  const file = join(tempDir(t), 'big.raw');
  writeFileSync(file, new Uint8Array(4 * MiB));
  const img = await openImage(file, { readOnly: false });
  t.after(() => img.close());
  const r = blkRig(img);
  const data = pattern(MiB + 4096, 5);
  assert.equal((await blk(r, { type: T_OUT, sector: 24, out: data, segment: 65536, indirect: true })).status, S_OK);
  const res = await blk(r, { type: T_IN, sector: 24, inLen: data.length, segment: 131072 - 512 });
  assert.equal(res.status, S_OK);
  assert.equal(sha(res.data), sha(data));
  assert.equal(sha(readFileSync(file).subarray(24 * 512, 24 * 512 + data.length)), sha(data));
});

test('read-only raw image: RO offered, no discard, writes fail with IOERR and the file is untouched', async (t) => {
  const file = join(tempDir(t), 'ro.raw');
  writeFileSync(file, pattern(MiB, 3));
  const img = await openImage(file, { readOnly: true });
  t.after(() => img.close());
  const r = blkRig(img);
  assert.notEqual(r.drv.offered & bit(F_RO), 0n);
  assert.equal(r.drv.offered & (bit(F_DISCARD) | bit(F_WRITE_ZEROES)), 0n);
  const before = sha(readFileSync(file));
  assert.equal((await blk(r, { type: T_OUT, sector: 0, out: new Uint8Array(512) })).status, S_IOERR);
  assert.equal((await blk(r, { type: T_DISCARD, out: dwz([[0, 8, 0]]) })).status, S_UNSUPP, 'discard was not negotiated');
  assert.equal((await blk(r, { type: T_FLUSH })).status, S_OK);
  assert.equal((await blk(r, { type: T_IN, sector: 1, inLen: 512 })).status, S_OK);
  assert.equal(sha(readFileSync(file)), before);
});

test('dynamic VHD: the guest reads what qemu-io wrote and qemu-img sees what the guest wrote', async (t) => {
  const dir = tempDir(t), file = join(dir, 'disk.vhd'), out = join(dir, 'out.raw');
  await createImage(file, 'vhd', { size: 8 * MiB, type: 'dynamic' });
  execFileSync('qemu-io', ['-f', 'vpc', '-c', 'write -P 0xab 1M 64k', file], { stdio: 'ignore' });
  const img = await openImage(file, { readOnly: false });
  const r = blkRig(img, { serial: 'vhd0' });
  let res = await blk(r, { type: T_IN, sector: 2048, inLen: 65536 + 512, segment: 4096 });
  assert.equal(res.status, S_OK);
  assert.ok(res.data.subarray(0, 65536).every((b) => b === 0xab), 'qemu-io pattern');
  assert.ok(res.data.subarray(65536).every((b) => b === 0), 'unallocated sectors read as zeros');
  const data = pattern(128 * 1024, 4);
  res = await blk(r, { type: T_OUT, sector: 4096 + 7, out: data, segment: 4096, indirect: true });
  assert.equal(res.status, S_OK);
  assert.equal((await blk(r, { type: T_WRITE_ZEROES, out: dwz([[2048 + 8, 8, 0]]) })).status, S_OK);
  assert.equal((await blk(r, { type: T_FLUSH })).status, S_OK);
  await img.close();
  execFileSync('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', file, out], { stdio: 'ignore' });
  const raw = readFileSync(out);
  assert.deepEqual(raw.subarray((4096 + 7) * 512, (4096 + 7) * 512 + data.length), Buffer.from(data));
  assert.ok(raw.subarray(MiB, MiB + 4096).every((b) => b === 0xab));
  assert.ok(raw.subarray(MiB + 4096, MiB + 8192).every((b) => b === 0), 'write zeroes');
  assert.ok(raw.subarray(MiB + 8192, MiB + 65536).every((b) => b === 0xab));
});
