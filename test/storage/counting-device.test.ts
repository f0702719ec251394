/** The counting wrapper the host's metrics use: bytes and requests through, everything else passed on. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { CountingBlockDevice } from '../../src/storage/counting-device.js';
import type { BlockDevice } from '../../src/storage/block-device.js';

function memoryDisk(sectors: number): BlockDevice {
  const data = new Uint8Array(sectors * 512);
  return {
    sizeBytes: data.length, sectorSize: 512, physicalSectorSize: 4096, readOnly: false,
    read: async (s, buf) => { buf.set(data.subarray(s * 512, s * 512 + buf.length)); },
    write: async (s, buf) => { data.set(buf, s * 512); },
    flush: async () => {}, discard: async () => {}, close: async () => {},
  };
}

test('reads and writes are counted in bytes; data and geometry pass through', async () => {
  const d = new CountingBlockDevice(memoryDisk(16));
  assert.equal(d.sizeBytes, 8192);
  assert.equal(d.physicalSectorSize, 4096);
  await d.write(2, new Uint8Array(1024).fill(7));
  const back = new Uint8Array(512);
  await d.read(3, back);
  assert.equal(back[0], 7);
  assert.deepEqual([d.bytesWritten, d.bytesRead, d.requests], [1024, 512, 2]);
});

test('a failed request is not counted as bytes moved', async () => {
  const inner = memoryDisk(1);
  inner.read = async () => { throw new Error('medium error'); };
  const d = new CountingBlockDevice(inner);
  await assert.rejects(d.read(0, new Uint8Array(512)), /medium error/);
  assert.equal(d.bytesRead, 0);
  assert.equal(d.requests, 1);
});
