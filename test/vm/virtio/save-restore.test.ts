/**
 * Saved state of virtio functions, carried the way a migration carries it: the record goes
 * through the binary encoding into a new function on a copy of the guest's RAM, and the guest
 * driver simply carries on. In-flight block requests are re-submitted on the destination.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeState, encodeState, SavedStateError, type SavedState } from '../../../src/common/saved-state.js';
import { createVirtioBlk, createVirtioRng } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, settle, until } from './fake-guest.js';
import { FakeVirtioDriver, NEEDS_RESET } from './fake-driver.js';
import { BAR, blk, blkRig, complete, MemoryDisk, pattern, S_OK, submit, T_IN, T_OUT, type BlkRig } from './fake-blk.js';

function migrate(r: BlkRig, disk: MemoryDisk): BlkRig {
  const bytes = encodeState([r.fn.save()]);
  const guest = r.guest.clone();
  const fn = createVirtioBlk({ disk, memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'vblk' });
  fn.restore(decodeState(bytes)[0]!);
  return { guest, fn, drv: r.drv.moveTo(guest, fn), errors: [] };
}

test('a running virtio-blk moves to a new function on a copy of RAM and carries on', async () => {
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 1));
  const a = blkRig(disk);
  for (let i = 0; i < 3; i++) assert.equal((await blk(a, { type: T_IN, sector: i, inLen: 512 })).status, S_OK);
  const before = encodeState([a.fn.save()]);
  const b = migrate(a, new MemoryDisk(1 << 20, 512, false, disk.data));
  assert.deepEqual(encodeState([b.fn.save()]), before, 'the destination saves exactly what the source saved');
  assert.deepEqual(b.guest.mmio.list().map((m) => m.base), [BAR], 'BAR mapped on the destination bus');
  assert.equal(b.drv.status(), a.drv.status());
  const res = await blk(b, { type: T_IN, sector: 9, inLen: 1024 });
  assert.equal(res.status, S_OK);
  assert.deepEqual(res.data, disk.data.subarray(9 * 512, 11 * 512));
  assert.equal(b.drv.vrings[0]!.usedIdx(), 4, 'the used index continues');
  assert.equal(b.guest.msi.count(1), 1, 'MSI-X table restored: the message has the programmed data');
});

test('in-flight requests are re-submitted on restore and complete on the destination', async () => {
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 2));
  const a = blkRig(disk);
  disk.hold = true;
  const data = pattern(4096, 3);
  const w = submit(a, { type: T_OUT, sector: 64, out: data });
  const r = submit(a, { type: T_IN, sector: 128, inLen: 2048 });
  await until(() => disk.pending.length === 2, 'both requests at the backend');
  const saved = a.fn.save();
  const transport = (saved.data['transport'] as { data: { device: { data: { inflightHeads: Uint32Array } } } }).data.device.data;
  assert.deepEqual([...transport.inflightHeads], [w.head, r.head]);
  const destDisk = new MemoryDisk(1 << 20, 512, false, disk.data.slice());
  const b = migrate(a, destDisk);
  const wb = await complete(b, w), rb = await complete(b, r);
  assert.equal(wb.status, S_OK);
  assert.equal(rb.status, S_OK);
  assert.deepEqual(rb.data, disk.data.subarray(128 * 512, 132 * 512));
  assert.deepEqual(destDisk.data.subarray(64 * 512, 72 * 512), data, 'the write happened on the destination');
  assert.deepEqual(destDisk.log.sort(), ['read 128+4', 'write 64+8']);
  disk.hold = false;
  disk.releaseAll();
  await a.fn.drain();
});

test('drain() waits for requests in flight; a save afterwards records none', async () => {
  const disk = new MemoryDisk(1 << 20);
  const r = blkRig(disk);
  disk.hold = true;
  const s = submit(r, { type: T_OUT, sector: 0, out: pattern(512, 4) });
  await until(() => disk.pending.length === 1, 'write at the backend');
  let drained = false;
  const d = r.fn.drain().then(() => { drained = true; });
  await settle();
  assert.equal(drained, false);
  disk.releaseAll();
  await d;
  assert.equal((await complete(r, s)).status, S_OK);
  const dev = (r.fn.save().data['transport'] as { data: { device: { data: { inflightHeads: Uint32Array } } } }).data.device.data;
  assert.equal(dev.inflightHeads.length, 0);
});

test('a device in DEVICE_NEEDS_RESET stays failed across save/restore, with its reason', () => {
  const guest = new Guest();
  const fn = createVirtioRng({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi });
  const drv = new FakeVirtioDriver(guest, fn, BAR);
  drv.probe();
  drv.init();
  drv.vrings[0]!.pushAvail(400);
  drv.vrings[0]!.forceKick();
  const g2 = guest.clone();
  const fn2 = createVirtioRng({ memory: g2.memory, mmio: g2.mmio, msi: g2.msi });
  fn2.restore(decodeState(encodeState([fn.save()]))[0]!);
  assert.equal(drv.moveTo(g2, fn2).status() & NEEDS_RESET, NEEDS_RESET);
  assert.match(fn2.transport.failure ?? '', /head descriptor 400 is out of range/);
});

type Mutate = (s: SavedState) => void;
const transportData = (s: SavedState): Record<string, unknown> => (s.data['transport'] as { data: Record<string, unknown> }).data;
const queue0 = (s: SavedState): Record<string, unknown> => (transportData(s)['queues'] as Record<string, unknown>[])[0]!;

test('hostile saved state is refused with the field named, and the function is left as it was', async () => {
  const cases: [string, Mutate, RegExp][] = [
    ['wrong record id', (s) => { s.id = 'vm.pci.function'; }, /record is for 'vm.pci.function'/],
    ['queue size not a power of two', (s) => { queue0(s)['size'] = 3; }, /queues\[0\]: queue 0: size 3 is not a power of two/],
    ['ring moved out of RAM', (s) => { (queue0(s)['addrs'] as Uint32Array)[1] = 0x100; }, /not inside one guest RAM region/],
    ['ring index out of range', (s) => { queue0(s)['usedIdx'] = 70000; }, /'usedIdx' must be an integer in 0..65535/],
    ['unoffered features', (s) => { transportData(s)['negotiated'] = 1n << 60n; }, /were never offered/],
    ['in-flight head past the queue', (s) => {
      const dev = (transportData(s)['device'] as { data: Record<string, unknown> }).data;
      dev['inflightQueues'] = Uint32Array.of(0);
      dev['inflightHeads'] = Uint32Array.of(9999);
    }, /names queue 0 head 9999/],
    ['another device type', (s) => { ((s.data['pci'] as { data: { config: Uint8Array } }).data.config)[2] = 0x44; }, /identity byte at config offset 0x2/],
    ['MSI-X table of another size', (s) => { (s.data['msix'] as { data: Record<string, unknown> }).data['vectors'] = 5; }, /saved table has 5 vectors/],
  ];
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 5));
  const r = blkRig(disk);
  assert.equal((await blk(r, { type: T_IN, sector: 0, inLen: 512 })).status, S_OK);
  const good = encodeState([r.fn.save()]);
  for (const [what, mutate, message] of cases) {
    const s = decodeState(good)[0]!;
    mutate(s);
    assert.throws(() => r.fn.restore(s), (e: unknown) => e instanceof SavedStateError && message.test(e.message), what);
    assert.deepEqual(encodeState([r.fn.save()]), good, `${what}: unchanged`);
  }
  assert.equal((await blk(r, { type: T_IN, sector: 1, inLen: 512 })).status, S_OK, 'still works');
});

test('restoring an rng record into a blk function is refused', () => {
  const g = new Guest();
  const rng: VirtioPciFunction = createVirtioRng({ memory: g.memory, mmio: g.mmio, msi: g.msi });
  const b = blkRig(new MemoryDisk(1 << 20), {}, false);
  assert.throws(() => b.fn.restore(rng.save()), SavedStateError);
});
