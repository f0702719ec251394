import test from 'node:test';
import assert from 'node:assert/strict';
import { createVirtioRng } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, settle } from './fake-guest.js';
import { ACK, bit, DRIVER, DRIVER_OK, F_ACCESS_PLATFORM, F_EVENT_IDX, F_INDIRECT, F_VERSION_1, FakeVirtioDriver, FEATURES_OK, NEEDS_RESET } from './fake-driver.js';
import { BAR, blkRig, MemoryDisk } from './fake-blk.js';
import { PciRoot } from '../../../src/vm/pci/pci-root.js';
import { PciConfigIo } from '../../../src/vm/pci/pci-config-io.js';
import type { PciFunction } from '../../../src/vm/pci/pci-function.js';

function root(fn: PciFunction): PciRoot { const r = new PciRoot(); r.add(0, 3, 0, fn); return r; }

function rngRig(queueSize = 16): { guest: Guest; fn: VirtioPciFunction; drv: FakeVirtioDriver; intx: boolean[] } {
  const guest = new Guest();
  const fn = createVirtioRng({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, queueSize, fill: (b, o, n) => b.fill(0x5a, o, o + n) });
  const intx: boolean[] = [];
  // The PCI function re-announces its level on command writes; keep only the changes.
  fn.intxSink = (level) => { if ((intx[intx.length - 1] ?? false) !== level) intx.push(level); };
  const drv = new FakeVirtioDriver(guest, fn, BAR);
  drv.probe();
  return { guest, fn, drv, intx };
}

test('identity: modern-only IDs, revision 1, capabilities in one 64-bit BAR, MSI-X sized for queues + config', () => {
  const { fn, drv } = rngRig();
  assert.equal(fn.readConfig(0, 2), 0x1af4);
  assert.equal(fn.readConfig(2, 2), 0x1044, 'entropy device: 0x1040 + 4');
  assert.equal(fn.readConfig(8, 1), 1, 'revision 1 (non-transitional)');
  assert.ok(fn.readConfig(0x2e, 2) >= 0x40, 'subsystem id >= 0x40');
  assert.equal(fn.readConfig(0x10, 4) & 0x7, 0x4, 'BAR0 is 64-bit memory');
  const c = drv.caps;
  assert.equal(c.bar, 0);
  assert.ok(c.commonLen >= 0x38, 'common config covers struct virtio_pci_common_cfg');
  assert.equal(c.common % 4, 0);
  assert.equal(c.notify % 2, 0);
  assert.ok(c.multiplier === 0 || (c.multiplier & (c.multiplier - 1)) === 0, 'notify multiplier is 0 or a power of two');
  assert.equal(c.deviceLen, 0, 'rng has no device configuration');
  assert.equal(c.tableSize, 2);
  assert.ok(c.table + 16 * c.tableSize <= drv.barSize() && c.pba + 8 <= drv.barSize());
  assert.equal(fn.readConfig(c.pciCfg + 2, 1), 20, 'virtio_pci_cfg_cap is 20 bytes');
});

test('blk exposes its device configuration through the DEVICE_CFG capability', () => {
  const r = blkRig(new MemoryDisk(1 << 20), {}, {});
  assert.equal(r.fn.readConfig(2, 2), 0x1042);
  assert.equal(r.drv.caps.deviceLen, 60);
  assert.equal(r.drv.deviceConfig(0, 4), 2048, 'capacity in 512-byte sectors');
});

test('feature negotiation: VERSION_1, INDIRECT_DESC, EVENT_IDX offered, ACCESS_PLATFORM not; bad subsets refused', () => {
  const { drv } = rngRig();
  assert.ok(drv.negotiate((f) => f));
  const offered = drv.offered;
  for (const b of [F_VERSION_1, F_INDIRECT, F_EVENT_IDX]) assert.notEqual(offered & bit(b), 0n, `bit ${b} offered`);
  assert.equal(offered & bit(F_ACCESS_PLATFORM), 0n);
  drv.setCommon(0x08, 4, 1);
  assert.equal(drv.common(0x0c, 4), 1, 'driver_feature reads back what was accepted (bit 32)');
  drv.setCommon(0x00, 4, 7);
  assert.equal(drv.common(0x04, 4), 0, 'feature words past 63 read 0');
  assert.equal(drv.negotiate((f) => f & ~bit(F_VERSION_1)), false, 'no VERSION_1: FEATURES_OK refused');
  assert.equal(drv.status(), ACK | DRIVER);
  assert.equal(drv.negotiate((f) => f | bit(F_ACCESS_PLATFORM)), false, 'an unoffered bit: refused');
  assert.equal(drv.negotiate(() => bit(F_VERSION_1)), true, 'the minimal set is fine');
});

test('device status: writing 0 resets everything; bits stay set; DRIVER_OK without FEATURES_OK needs reset', () => {
  const { drv, fn } = rngRig();
  drv.init();
  assert.equal(drv.status(), ACK | DRIVER | FEATURES_OK | DRIVER_OK);
  drv.setStatus(ACK);
  assert.equal(drv.status(), ACK | DRIVER | FEATURES_OK | DRIVER_OK, 'the driver cannot clear bits without a reset');
  drv.setCommon(0x16, 2, 0);
  assert.equal(drv.common(0x1c, 2), 1);
  assert.equal(drv.common(0x1a, 2), 1);
  drv.setStatus(0);
  assert.equal(drv.status(), 0);
  assert.equal(drv.common(0x1c, 2), 0, 'queue disabled by reset');
  assert.equal(drv.common(0x1a, 2), 0xffff, 'queue vector unmapped by reset');
  assert.equal(drv.common(0x10, 2), 0xffff, 'config vector unmapped by reset');
  assert.equal(drv.common(0x18, 2), 16, 'queue size back to the maximum');
  assert.equal(drv.common(0x20, 4), 0, 'ring address cleared');
  drv.setStatus(ACK | DRIVER | DRIVER_OK);
  assert.equal(drv.status() & NEEDS_RESET, NEEDS_RESET);
  assert.match(fn.transport.failure ?? '', /DRIVER_OK without FEATURES_OK/);
  drv.reset();
  assert.equal(drv.status(), 0);
  drv.init();
  assert.equal(drv.status() & NEEDS_RESET, 0);
});

test('queue registers: select past the end reads size 0; 64-bit addresses in halves; no changes once enabled', () => {
  const { drv } = rngRig();
  drv.negotiate((f) => f);
  assert.equal(drv.common(0x12, 2), 1, 'num_queues');
  drv.setCommon(0x16, 2, 5);
  assert.equal(drv.common(0x18, 2), 0);
  drv.setCommon(0x18, 2, 8);
  assert.equal(drv.common(0x18, 2), 0);
  drv.setCommon(0x16, 2, 0);
  drv.setCommon(0x20, 4, 0x12345000);
  drv.setCommon(0x24, 4, 0x1);
  assert.equal(drv.common(0x20, 4), 0x12345000);
  assert.equal(drv.common(0x24, 4), 1);
  assert.equal(drv.read(drv.caps.common + 0x20, 8), 0x112345000, 'one 8-byte read sees both halves');
  drv.setCommon(0x1a, 2, 7);
  assert.equal(drv.common(0x1a, 2), 0xffff, 'a vector past the MSI-X table is refused (reads NO_VECTOR)');
  drv.setCommon(0x1a, 2, 1);
  assert.equal(drv.common(0x1a, 2), 1);
  const q = drv.setupQueue(0, true, 8);
  drv.setCommon(0x1c, 2, 1);
  assert.equal(drv.common(0x18, 2), 8);
  drv.setCommon(0x18, 2, 4);
  drv.setCommon(0x20, 4, 0);
  assert.equal(drv.common(0x18, 2), 8, 'size is fixed while enabled');
  assert.equal(drv.common(0x20, 4), q.desc, 'address is fixed while enabled');
});

test('enabling a queue whose rings are unaligned, outside RAM or not a power of two sets DEVICE_NEEDS_RESET', () => {
  const cases: [string, (d: FakeVirtioDriver) => void, RegExp][] = [
    ['size 3', (d) => d.setCommon(0x18, 2, 3), /size 3 is not a power of two/],
    ['descriptor table unaligned', (d) => d.setCommon(0x20, 4, d.common(0x20, 4) + 8), /not 16-byte aligned/],
    ['used ring in MMIO space', (d) => { d.setCommon(0x30, 4, 0xfe000000); }, /used ring 0xfe000000.*not inside one guest RAM region/],
    ['available ring above 4 GiB', (d) => d.setCommon(0x2c, 4, 0x10), /available ring .* not inside/],
  ];
  for (const [what, spoil, msg] of cases) {
    const { drv, fn } = rngRig();
    drv.negotiate((f) => f);
    drv.setupQueue(0, false);
    spoil(drv);
    drv.setCommon(0x1c, 2, 1);
    assert.equal(drv.status() & NEEDS_RESET, NEEDS_RESET, what);
    assert.equal(drv.common(0x1c, 2), 0, `${what}: queue stays disabled`);
    assert.match(fn.transport.failure ?? '', msg, what);
  }
});

test('MSI-X: per-queue vector messages; INTx fallback through the ISR with read-to-clear', async () => {
  const { guest, drv, intx } = rngRig();
  drv.init({ msix: true });
  const buf = guest.alloc(32);
  drv.vrings[0]!.add([{ addr: buf, len: 32, write: true }]);
  drv.vrings[0]!.kick();
  assert.equal(guest.msi.count(1), 1, 'queue 0 interrupt on vector 1');
  assert.equal(guest.msi.messages[0]!.address, 0xfee00000);
  assert.deepEqual(intx, [], 'no INTx while MSI-X is on');
  assert.equal(drv.isr(), 0, 'the queue bit is not set under MSI-X');

  drv.init({ msix: false });
  guest.msi.clear();
  drv.vrings[0]!.add([{ addr: buf, len: 8, write: true }]);
  drv.vrings[0]!.kick();
  assert.deepEqual(intx, [true], 'INTx asserted');
  assert.equal(guest.msi.messages.length, 0);
  assert.equal(drv.fn.readConfig(6, 2) & 0x8, 0x8, 'PCI status interrupt bit mirrors the ISR');
  assert.equal(drv.isr(), 1, 'queue interrupt bit');
  assert.deepEqual(intx, [true, false], 'reading the ISR released INTx');
  assert.equal(drv.isr(), 0, 'read-to-clear');
  await settle(2);
});

test('configuration change: ISR bit 1 / config vector, and config_generation moves after the changed value is read', () => {
  const r = blkRig(new MemoryDisk(1 << 20), {}, { msix: true });
  const t = r.fn.transport;
  const gen = r.drv.common(0x15, 1);
  r.guest.msi.clear();
  t.configChanged();
  assert.equal(r.guest.msi.count(0), 1, 'config change on vector 0');
  assert.equal(r.drv.common(0x15, 1), gen, 'not yet read');
  r.drv.read(r.drv.caps.device, 4);
  assert.notEqual(r.drv.common(0x15, 1), gen, 'generation changed after reading changed configuration');
  r.drv.init({ msix: false });
  let level = false;
  r.fn.intxSink = (l) => { level = l; };
  t.configChanged();
  assert.equal(level, true);
  assert.equal(r.drv.isr(), 2);
  assert.equal(level, false);
});

test('PCI configuration access capability reads and writes the BAR through configuration space', () => {
  const { drv, fn } = rngRig();
  const c = drv.caps.pciCfg;
  const access = (offset: number, length: number): void => { fn.writeConfig(c + 4, 1, 0); fn.writeConfig(c + 8, 4, offset); fn.writeConfig(c + 12, 4, length); };
  access(drv.caps.common + 0x12, 2);
  assert.equal(fn.readConfig(c + 16, 2), 1, 'num_queues through the window');
  access(drv.caps.common + 0x14, 1);
  fn.writeConfig(c + 16, 1, ACK);
  assert.equal(drv.status(), ACK, 'device_status written through the window');
  access(drv.caps.common + 0x13, 2);
  fn.writeConfig(c + 16, 2, 0);
  assert.equal(drv.status(), ACK, 'a misaligned window does nothing');
  // Through mechanism #1, which reads configuration space a byte at a time: the ISR is read once.
  drv.init({ msix: false });
  const io = new PciConfigIo(root(fn));
  drv.vrings[0]!.add([{ addr: drv.guest.alloc(8), len: 8, write: true }]);
  drv.vrings[0]!.kick();
  access(drv.caps.isr, 1);
  io.ioWrite(0xcf8, 4, (0x80000000 | (3 << 11) | (c + 16)) >>> 0);
  assert.equal(io.ioRead(0xcfc, 4) & 0xff, 1, 'ISR queue bit through the window');
  assert.equal(io.ioRead(0xcfc, 1), 0, 'and the read cleared it');
  fn.writeConfig(c + 4, 1, 3);
  access(drv.caps.common + 0x14, 1);
  fn.writeConfig(c + 4, 1, 3);
  fn.writeConfig(c + 16, 1, 0);
  assert.equal(drv.status() & 0x0f, ACK | DRIVER | FEATURES_OK | DRIVER_OK, 'another BAR: nothing');
});

test('the BAR is mapped, moved and unmapped on the MMIO bus with the command register', () => {
  const { guest, drv, fn } = rngRig();
  assert.deepEqual(guest.mmio.list().map((m) => m.base), [BAR]);
  fn.writeConfig(0x10, 4, 0xfd000000);
  assert.deepEqual(guest.mmio.list().map((m) => m.base), [0xfd000000]);
  fn.writeConfig(0x04, 2, 0);
  assert.deepEqual(guest.mmio.list(), []);
  fn.writeConfig(0x10, 4, BAR);
  fn.writeConfig(0x04, 2, 6);
  assert.equal(drv.common(0x12, 2), 1);
});

test('a BAR placed over another device is left unmapped and reported, not thrown', () => {
  const guest = new Guest();
  const errors: string[] = [];
  const a = createVirtioRng({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'rng-a' });
  const b = createVirtioRng({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'rng-b', onError: (m) => errors.push(m) });
  new FakeVirtioDriver(guest, a, BAR).probe();
  new FakeVirtioDriver(guest, b, BAR).probe(); // the same base as rng-a
  assert.equal(guest.mmio.list().length, 1);
  assert.match(errors[0] ?? '', /rng-b: BAR not mapped: .*overlaps rng-a/);
  b.writeConfig(0x10, 4, BAR + 0x200000);
  assert.deepEqual(guest.mmio.list().map((m) => m.name).sort(), ['rng-a', 'rng-b'], 'moving the refused BAR away leaves rng-a mapped');
});

test('hostile register traffic never throws; a reset brings the device back', () => {
  const { guest, drv, fn } = rngRig();
  drv.init();
  let x = 12345;
  const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const size = drv.barSize();
  for (let i = 0; i < 20000; i++) {
    const sz = [1, 2, 4, 8][rnd() % 4]!;
    const off = rnd() % size;
    if (rnd() & 1) guest.mmioWrite(BAR + off, sz, rnd()); else guest.mmioRead(BAR + off, sz);
    if (i % 7 === 0) {
      const co = 0x40 + (rnd() % 0xc0);
      if (rnd() & 1) fn.writeConfig(co, [1, 2, 4][rnd() % 3]!, rnd()); else fn.readConfig(co, 4);
    }
  }
  fn.writeConfig(0x10, 4, BAR);
  fn.writeConfig(0x14, 4, 0);
  fn.writeConfig(0x04, 2, 6);
  drv.init();
  const buf = guest.alloc(16);
  drv.vrings[0]!.add([{ addr: buf, len: 16, write: true }]);
  drv.vrings[0]!.forceKick();
  assert.deepEqual(drv.vrings[0]!.takeUsed().map((u) => u.len), [16]);
  assert.deepEqual([...guest.read(buf, 16)], new Array(16).fill(0x5a));
});
