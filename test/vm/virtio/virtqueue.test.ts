import test from 'node:test';
import assert from 'node:assert/strict';
import { createVirtioRng } from '../../../src/vm/virtio/create-virtio.js';
import { MAX_FILL } from '../../../src/vm/virtio/rng/virtio-rng.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, RAM_SIZE, settle } from './fake-guest.js';
import { bit, F_EVENT_IDX, F_INDIRECT, FakeVirtioDriver, NEEDS_RESET } from './fake-driver.js';
import type { FakeVring } from './fake-vring.js';
import { BAR, blk, blkRig, MemoryDisk, pattern, S_OK, submit, T_IN, T_OUT, type BlkRig } from './fake-blk.js';

const W = 2, N = 1, I = 4;
const RNG_MSI = 0x70;

interface World { guest: Guest; rng: VirtioPciFunction; drv: FakeVirtioDriver; errors: string[]; disk: MemoryDisk; b: BlkRig }

/** An entropy device and a block device in one guest, both up with MSI-X. */
function world(rngQueue = 8, accept?: (f: bigint) => bigint): World {
  const guest = new Guest();
  const errors: string[] = [];
  const rng = createVirtioRng({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, queueSize: rngQueue, name: 'rng', onError: (m) => errors.push(m) });
  const drv = new FakeVirtioDriver(guest, rng, BAR + 0x100000, RNG_MSI);
  drv.probe();
  drv.init(accept !== undefined ? { accept } : {});
  const disk = new MemoryDisk(1 << 20);
  disk.data.set(pattern(1 << 20, 7));
  const b = blkRig(disk, {}, {}, guest);
  return { guest, rng, drv, errors, disk, b };
}

async function blkStillWorks(w: World): Promise<void> {
  const r = await blk(w.b, { type: T_IN, sector: 8, inLen: 4096 });
  assert.equal(r.status, S_OK);
  assert.deepEqual(r.data, w.disk.data.subarray(4096, 8192));
}

function rngStillWorks(w: World): void {
  const q = w.drv.vrings[0]!, buf = w.guest.alloc(64);
  q.add([{ addr: buf, len: 64, write: true }]);
  q.forceKick();
  assert.deepEqual(q.takeUsed().map((u) => u.len), [64]);
}

test('entropy requests: buffers filled, used length, direct and indirect chains, a cap per chain', () => {
  const w = world();
  const q = w.drv.vrings[0]!, g = w.guest;
  const a = g.alloc(100), b = g.alloc(28), c = g.alloc(4);
  q.add([{ addr: a, len: 100, write: true }]);
  q.add([{ addr: b, len: 28, write: true }, { addr: c, len: 4, write: true }], true);
  q.kick();
  assert.deepEqual(q.takeUsed().map((u) => u.len), [100, 32]);
  assert.ok(g.read(a, 100).some((x) => x !== 0) && g.read(c, 4).some((x) => x !== 0), 'random bytes arrived');
  const big = g.alloc(MAX_FILL + 4096);
  q.add([{ addr: big, len: MAX_FILL + 4096, write: true }]);
  q.kick();
  assert.deepEqual(q.takeUsed().map((u) => u.len), [MAX_FILL]);
  assert.equal(g.msi.count(1, RNG_MSI), 2, 'one interrupt per kick');
});

test('event index: used_event holds interrupts back until the used index passes it', () => {
  const w = world();
  const q = w.drv.vrings[0]!, g = w.guest;
  assert.ok(q.eventIdx);
  q.setUsedEvent(5);
  const seen: number[] = [];
  for (let i = 0; i < 7; i++) {
    q.add([{ addr: g.alloc(8), len: 8, write: true }]);
    q.forceKick();
    seen.push(g.msi.count(1, RNG_MSI));
    for (const u of q.takeUsed()) assert.equal(u.len, 8);
    q.setUsedEvent(5); // keep the driver's request instead of re-arming after each
  }
  assert.deepEqual(seen, [1, 1, 1, 1, 1, 2, 2], 'first notification, then only when used idx moves past 5');
});

test('event index: the device publishes avail_event so the driver kicks only when needed', () => {
  const w = world();
  const q = w.drv.vrings[0]!, g = w.guest;
  q.add([{ addr: g.alloc(8), len: 8, write: true }]);
  q.add([{ addr: g.alloc(8), len: 8, write: true }]);
  assert.equal(q.kick(), true, 'avail_event 0: the first entry needs a kick');
  assert.equal(q.availEvent(), 2, 'the device asks to be kicked at the next new entry');
  q.takeUsed();
  // A driver that queues again before the device has looked: one kick for a batch, none for an empty batch.
  assert.equal(q.kick(), false, 'nothing new since the last kick');
  q.add([{ addr: g.alloc(8), len: 8, write: true }]);
  assert.equal(q.kick(), true);
  assert.equal(q.availEvent(), 3);
  assert.equal(q.usedFlags(), 0, 'used flags stay 0 with event index');
});

test('without event index, NO_INTERRUPT in the available ring suppresses interrupts', () => {
  const w = world(8, (f) => f & ~bit(F_EVENT_IDX));
  const q = w.drv.vrings[0]!, g = w.guest;
  assert.equal(q.eventIdx, false);
  q.setAvailFlags(1);
  q.add([{ addr: g.alloc(8), len: 8, write: true }]);
  q.kick();
  assert.equal(q.takeUsed().length, 1, 'the request was served');
  assert.equal(g.msi.count(1, RNG_MSI), 0, 'but no interrupt');
  q.setAvailFlags(0);
  q.add([{ addr: g.alloc(8), len: 8, write: true }]);
  q.kick();
  assert.equal(g.msi.count(1, RNG_MSI), 1);
});

type Spoil = (q: FakeVring, g: Guest) => void;
const buf = (g: Guest, n = 64): number => g.alloc(n);

const RNG_CASES: [string, Spoil, RegExp][] = [
  ['a descriptor loop', (q, g) => { const a = buf(g); q.writeDesc(0, a, 8, W | N, 1); q.writeDesc(1, a, 8, W | N, 0); q.pushAvail(0); }, /loops back to descriptor 0/],
  ['a head past the queue', (q) => q.pushAvail(9), /head descriptor 9 is out of range/],
  ['a next link past the queue', (q, g) => { q.writeDesc(0, buf(g), 8, W | N, 8); q.pushAvail(0); }, /links to 8, past the queue size 8/],
  ['an indirect table longer than the queue', (q, g) => {
    const t = g.alloc(16 * 9), a = buf(g);
    for (let i = 0; i < 9; i++) q.writeDesc(i, a, 4, W | (i < 8 ? N : 0), i + 1, t);
    q.writeDesc(0, t, 16 * 9, I, 0); q.pushAvail(0);
  }, /longer than the queue size 8/],
  ['an indirect table of 24 bytes', (q, g) => { q.writeDesc(0, g.alloc(32), 24, I, 0); q.pushAvail(0); }, /length 24, not a non-zero multiple of 16/],
  ['an empty indirect table', (q, g) => { q.writeDesc(0, g.alloc(32), 0, I, 0); q.pushAvail(0); }, /length 0/],
  ['a nested indirect descriptor', (q, g) => { const t = g.alloc(32); q.writeDesc(0, g.alloc(32), 16, I, 0, t); q.writeDesc(0, t, 32, I, 0); q.pushAvail(0); }, /nested indirect/],
  ['INDIRECT together with NEXT', (q, g) => { const t = g.alloc(16); q.writeDesc(0, buf(g), 8, W, 0, t); q.writeDesc(0, t, 16, I | N, 1); q.pushAvail(0); }, /both INDIRECT and NEXT/],
  ['an indirect table in MMIO space', (q) => { q.writeDesc(0, 0xfe000000, 32, I, 0); q.pushAvail(0); }, /indirect table 0xfe000000\+32 .* not inside one RAM region/],
  ['an indirect table that loops', (q, g) => { const t = g.alloc(32), a = buf(g); q.writeDesc(0, a, 4, W | N, 1, t); q.writeDesc(1, a, 4, W | N, 0, t); q.writeDesc(0, t, 32, I, 0); q.pushAvail(0); }, /loops back to entry 0/],
  ['a buffer in MMIO space', (q) => { q.writeDesc(0, 0xfe000000, 16, W, 0); q.pushAvail(0); }, /buffer 0xfe000000\+16 is outside guest RAM/],
  ['a buffer running past the end of RAM', (q) => { q.writeDesc(0, RAM_SIZE - 4, 8, W, 0); q.pushAvail(0); }, /outside guest RAM/],
  ['a buffer above 1 TiB', (q) => { q.writeDesc(0, 2 ** 40, 8, W, 0); q.pushAvail(0); }, /0x10000000000\+8 is outside guest RAM/],
  ['an available index 9 ahead on an 8-entry queue', (q, g) => { q.writeDesc(0, buf(g), 8, W, 0); for (let i = 0; i < 9; i++) q.pushAvail(0); }, /9 entries ahead of 0, more than the queue size 8/],
  ['a read-only buffer where the device must write', (q, g) => { q.writeDesc(0, buf(g), 8, 0, 0); q.pushAvail(0); }, /device-readable buffer/],
  ['a readable buffer after a writable one', (q, g) => { q.writeDesc(0, buf(g), 8, W | N, 1); q.writeDesc(1, buf(g), 8, 0, 0); q.pushAvail(0); }, /device-readable but follows a device-writable/],
];

for (const [what, spoil, message] of RNG_CASES) {
  test(`hostile ring: ${what} → DEVICE_NEEDS_RESET, config interrupt, the host and the other device carry on, reset recovers`, async () => {
    const w = world();
    const q = w.drv.vrings[0]!;
    spoil(q, w.guest);
    q.forceKick();
    assert.equal(w.drv.status() & NEEDS_RESET, NEEDS_RESET);
    assert.match(w.rng.transport.failure ?? '', message);
    assert.match(w.errors[0] ?? '', /^rng: queue 0: /);
    assert.equal(w.guest.msi.count(0, RNG_MSI), 1, 'configuration interrupt');
    assert.equal(q.usedIdx(), 0, 'nothing used');
    q.add([{ addr: w.guest.alloc(8), len: 8, write: true }]);
    q.forceKick();
    assert.equal(q.usedIdx(), 0, 'a failed device ignores further kicks');
    await blkStillWorks(w);
    w.drv.init();
    assert.equal(w.drv.status() & NEEDS_RESET, 0);
    rngStillWorks(w);
  });
}

test('hostile ring: a chain describing more than 4 GiB', () => {
  const w = world(256);
  const q = w.drv.vrings[0]!, n = 130, t = w.guest.alloc(16 * n);
  for (let i = 0; i < n; i++) q.writeDesc(i, 0, RAM_SIZE, W | (i + 1 < n ? N : 0), i + 1, t);
  q.writeDesc(0, t, 16 * n, I, 0);
  q.pushAvail(0);
  q.forceKick();
  assert.match(w.rng.transport.failure ?? '', /describes \d+ bytes, more than 4 GiB/);
});

test('hostile ring: an indirect descriptor when INDIRECT_DESC was not negotiated', () => {
  const w = world(8, (f) => f & ~bit(F_INDIRECT));
  const q = w.drv.vrings[0]!, t = w.guest.alloc(16);
  q.writeDesc(0, w.guest.alloc(8), 8, W, 0, t);
  q.writeDesc(0, t, 16, I, 0);
  q.pushAvail(0);
  q.forceKick();
  assert.match(w.rng.transport.failure ?? '', /VIRTIO_F_RING_INDIRECT_DESC was not negotiated/);
});

test('hostile blk requests: header in a write-only buffer, no status byte, data in the wrong direction, a head reused in flight', async () => {
  const cases: [string, (w: World) => void, RegExp][] = [
    ['header write-only', (w) => { const q = w.b.drv.vrings[0]!; q.add([{ addr: w.guest.alloc(16), len: 16, write: true }, { addr: w.guest.alloc(1), len: 1, write: true }]); q.forceKick(); }, /0 device-readable bytes, less than its 16-byte header/],
    ['no status byte', (w) => { const q = w.b.drv.vrings[0]!; q.add([{ addr: w.guest.alloc(16), len: 16, write: false }]); q.forceKick(); }, /no device-writable byte for its status/],
    ['write data in write-only buffers', (w) => {
      const q = w.b.drv.vrings[0]!, g = w.guest, hdr = g.alloc(16);
      g.write(hdr, Uint8Array.of(T_OUT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
      q.add([{ addr: hdr, len: 16, write: false }, { addr: g.alloc(512), len: 512, write: true }, { addr: g.alloc(1), len: 1, write: true }]);
      q.forceKick();
    }, /type 1 has 512 device-writable data bytes, but its data must be device-readable/],
    ['read data in read-only buffers', (w) => {
      const q = w.b.drv.vrings[0]!, g = w.guest, hdr = g.alloc(16);
      q.add([{ addr: hdr, len: 16, write: false }, { addr: g.alloc(512), len: 512, write: false }, { addr: g.alloc(1), len: 1, write: true }]);
      q.forceKick();
    }, /type 0 has 512 device-readable data bytes, but its data must be device-writable/],
    ['head reused', (w) => {
      w.disk.hold = true;
      const s = submit(w.b, { type: T_IN, sector: 0, inLen: 512 });
      const q = w.b.drv.vrings[0]!;
      q.pushAvail(s.head);
      q.forceKick();
    }, /head descriptor \d+ was made available again while the device still holds it/],
  ];
  for (const [what, spoil, message] of cases) {
    const w = world();
    const before = w.disk.data.slice();
    spoil(w);
    assert.equal(w.b.drv.status() & NEEDS_RESET, NEEDS_RESET, what);
    assert.deepEqual(w.disk.data, before, `${what}: the disk is untouched`);
    assert.match(w.b.fn.transport.failure ?? '', message, what);
    assert.equal(w.guest.msi.count(0), 1, `${what}: configuration interrupt`);
    rngStillWorks(w);
    w.disk.hold = false;
    w.disk.releaseAll();
    w.b.drv.init();
    await blkStillWorks(w);
  }
});

test('random ring contents: no throw, no access outside RAM, every kick ends served or in DEVICE_NEEDS_RESET', async () => {
  const w = world(16);
  const strays: number[] = [];
  w.guest.memory.mmio = { mmioRead: (a) => { strays.push(a); }, mmioWrite: (a) => { strays.push(a); } };
  let x = 0x9e3779b9;
  const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const pool = w.guest.alloc(65536);
  let failures = 0, served = 0;
  for (let round = 0; round < 400; round++) {
    for (const drv of [w.drv, w.b.drv]) {
      const q = drv.vrings[0]!;
      const size = q.size;
      for (let i = 0; i < size; i++) {
        const kind = rnd() % 8;
        const addr = kind === 0 ? rnd() * 4096 : kind === 1 ? 0xfe000000 + (rnd() % 0x10000) : pool + (rnd() % 65000);
        const flags = rnd() % 8, len = kind === 2 ? rnd() : 1 + (rnd() % 600);
        q.writeDesc(i, addr, len, flags, rnd() % (size + 2));
      }
      const heads = 1 + (rnd() % 4);
      for (let i = 0; i < heads; i++) q.pushAvail(rnd() % (size + 1));
      q.forceKick();
      if ((drv.status() & NEEDS_RESET) !== 0) { failures++; drv.init(); } else served++;
    }
    if (round % 50 === 0) await settle(5);
  }
  await w.b.fn.drain();
  assert.deepEqual(strays, [], 'no device access reached MMIO space');
  assert.ok(failures > 0 && served > 0, `both outcomes seen (${failures} failed, ${served} served)`);
  w.drv.init();
  w.b.drv.init();
  rngStillWorks(w);
  await blkStillWorks(w);
});
