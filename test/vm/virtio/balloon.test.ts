/**
 * virtio-balloon driven like Linux's virtio_balloon: target changes with a configuration
 * interrupt, inflate/deflate PFN arrays (up to 256 per request), `actual` written back, the stats
 * buffer held and handed back on request, hostile requests, save/restore.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/common/errors.js';
import { decodeState, encodeState, SavedStateError } from '../../../src/common/saved-state.js';
import { createVirtioBalloon } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioBalloon, VirtioBalloonOptions } from '../../../src/vm/virtio/balloon/virtio-balloon.js';
import type { BalloonStats } from '../../../src/vm/virtio/balloon/balloon-stats.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, RAM_SIZE } from './fake-guest.js';
import { bit, FakeVirtioDriver, NEEDS_RESET, type InitOptions } from './fake-driver.js';

const BAR = 0xfe500000;
const F_STATS_VQ = 1, F_DEFLATE_ON_OOM = 2, F_MUST_TELL_HOST = 0;
const S_SWAP_IN = 0, S_MEMFREE = 4, S_MEMTOT = 5, S_AVAIL = 6, S_OOM_KILL = 10, S_UNKNOWN = 42;

interface BalloonRig { guest: Guest; fn: VirtioPciFunction<VirtioBalloon>; drv: FakeVirtioDriver; dev: VirtioBalloon; errors: string[]; reports: BalloonStats[] }

function rig(opts: VirtioBalloonOptions = {}, init: InitOptions | false = {}, guest = new Guest()): BalloonRig {
  const errors: string[] = [], reports: BalloonStats[] = [];
  const fn = createVirtioBalloon({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'vballoon', onError: (m) => errors.push(m), onStats: (s) => reports.push(s), ...opts });
  const drv = new FakeVirtioDriver(guest, fn, BAR);
  drv.probe();
  if (init !== false) drv.init(init);
  return { guest, fn, drv, dev: fn.device, errors, reports };
}

/** Sends one inflate (queue 0) or deflate (queue 1) request with these PFNs; returns used entries. */
function pfns(r: BalloonRig, q: number, list: number[]): number {
  const at = r.guest.alloc(4 * list.length, 4);
  list.forEach((p, i) => r.guest.w32(at + 4 * i, p));
  const vr = r.drv.vrings[q]!;
  vr.add([{ addr: at, len: 4 * list.length, write: false }]);
  vr.kick();
  return vr.takeUsed().length;
}

function statsBuffer(r: BalloonRig, entries: [number, number][]): { addr: number; head: number } {
  const addr = r.guest.alloc(10 * entries.length, 2);
  entries.forEach(([tag, val], i) => {
    const o = addr + 10 * i;
    r.guest.w16(o, tag);
    r.guest.w32(o + 2, val % 2 ** 32);
    r.guest.w32(o + 6, Math.floor(val / 2 ** 32));
  });
  const vr = r.drv.vrings[2]!;
  const head = vr.add([{ addr, len: 10 * entries.length, write: false }]);
  vr.kick();
  return { addr, head };
}

/** Guest pages the fake driver gives up: page-aligned RAM away from the rings. */
const firstPfn = 0x1000000 / 4096;

test('identity and configuration: device 0x1045, STATS_VQ and DEFLATE_ON_OOM offered, num_pages and actual', () => {
  const r = rig({}, false);
  assert.equal(r.fn.readConfig(2, 2), 0x1045);
  const offered = r.drv.readOffered();
  assert.notEqual(offered & bit(F_STATS_VQ), 0n);
  assert.notEqual(offered & bit(F_DEFLATE_ON_OOM), 0n);
  assert.equal(offered & bit(F_MUST_TELL_HOST), 0n);
  assert.equal(r.drv.caps.deviceLen, 8);
  assert.equal(r.drv.common(0x12, 2), 3);
  const n = rig({ statsQueue: false, deflateOnOom: false }, false, new Guest());
  assert.equal(n.drv.readOffered() & (bit(F_STATS_VQ) | bit(F_DEFLATE_ON_OOM)), 0n);
  assert.equal(n.drv.common(0x12, 2), 2);
});

test('setTarget while running: configuration interrupt and a new config generation; the driver reports actual', () => {
  const r = rig();
  const irqs = r.guest.msi.count(0), gen = r.drv.common(0x15, 1);
  r.dev.setTarget(1000);
  assert.equal(r.guest.msi.count(0), irqs + 1, 'configuration change interrupt on vector 0');
  assert.equal(r.drv.deviceConfig(0, 4), 1000);
  assert.notEqual(r.drv.common(0x15, 1), gen, 'config_generation moved');
  r.dev.setTarget(1000);
  assert.equal(r.guest.msi.count(0), irqs + 1, 'the same target again: no interrupt');
  r.drv.write(r.drv.caps.device + 4, 4, 256);
  assert.equal(r.dev.actualPages, 256);
  r.drv.write(r.drv.caps.device + 5, 1, 2);
  assert.equal(r.dev.actualPages, 512 + 0, 'byte writes merge into actual');
  r.drv.write(r.drv.caps.device + 0, 4, 7);
  assert.equal(r.drv.deviceConfig(0, 4), 1000, 'num_pages is the host\'s');
  assert.throws(() => r.dev.setTarget(RAM_SIZE / 4096 + 1), (e: unknown) => e instanceof UserError && /0 to 8192/.test(e.message));
  assert.throws(() => r.dev.setTarget(1.5), UserError);
});

test('inflate and deflate: pages recorded, invalid and redundant PFNs counted, requests completed', () => {
  const r = rig();
  const list = Array.from({ length: 256 }, (_, i) => firstPfn + i);
  assert.equal(pfns(r, 0, list), 1);
  assert.equal(r.dev.inflated.count, 256);
  assert.equal(r.dev.isInflated((firstPfn + 10) * 4096 + 123), true);
  assert.equal(r.dev.isInflated((firstPfn + 256) * 4096), false);
  pfns(r, 0, [firstPfn, 0xfffff, 2 ** 32 - 1]);
  assert.equal(r.dev.counters.redundantPfns, 1);
  assert.equal(r.dev.counters.invalidPfns, 2, 'PFNs outside RAM');
  pfns(r, 1, list.slice(0, 100));
  assert.equal(r.dev.inflated.count, 156);
  pfns(r, 1, [firstPfn]);
  assert.equal(r.dev.counters.redundantPfns, 2, 'deflating a page not in the balloon');
  assert.deepEqual([...r.dev.inflated.runs()], [firstPfn + 100, 156]);
  assert.deepEqual(r.errors, []);
});

test('zeroInflated: pages are zeroed as they are given up and marked dirty; without it they are left alone', () => {
  for (const zero of [true, false]) {
    const r = rig({ zeroInflated: zero });
    const addr = (firstPfn + 3) * 4096;
    r.guest.write(addr, new Uint8Array(4096).fill(0xab));
    r.guest.memory.takeDirty(0);
    pfns(r, 0, [firstPfn + 3]);
    const page = r.guest.read(addr, 4096);
    assert.equal(page.every((b) => b === (zero ? 0 : 0xab)), true, `zeroInflated ${zero}`);
    const dirty = r.guest.memory.takeDirty(0);
    const p = firstPfn + 3;
    assert.equal((dirty[p >>> 5]! & (1 << (p & 31))) !== 0, zero, 'dirty only when zeroed');
  }
});

test('stats: the first buffer is parsed and held; requestStats hands it back; the refill brings new values', () => {
  const r = rig();
  assert.equal(r.dev.requestStats(), false, 'nothing held yet');
  const first = statsBuffer(r, [[S_SWAP_IN, 0], [S_MEMFREE, 200 * 2 ** 20], [S_MEMTOT, 2 ** 35 + 4096], [S_UNKNOWN, 1]]);
  assert.equal(r.drv.vrings[2]!.takeUsed().length, 0, 'the device holds the buffer');
  assert.equal(r.dev.stats?.freeMemory, 200 * 2 ** 20);
  assert.equal(r.dev.stats?.totalMemory, 2 ** 35 + 4096, '64-bit values');
  assert.equal(r.dev.stats?.unknownTags, 1);
  assert.equal(r.dev.stats?.availableMemory, undefined);
  const irqs = r.guest.msi.count(3);
  assert.equal(r.dev.requestStats(), true);
  assert.deepEqual(r.drv.vrings[2]!.takeUsed().map((u) => u.id), [first.head]);
  assert.equal(r.guest.msi.count(3), irqs + 1, 'stats queue interrupt');
  assert.equal(r.dev.requestStats(), false, 'already handed back');
  statsBuffer(r, [[S_MEMFREE, 100 * 2 ** 20], [S_AVAIL, 150 * 2 ** 20], [S_OOM_KILL, 2]]);
  assert.equal(r.dev.stats?.freeMemory, 100 * 2 ** 20);
  assert.equal(r.dev.stats?.oomKills, 2);
  assert.equal(r.dev.statsReports, 2);
  assert.deepEqual(r.reports.map((s) => s.freeMemory), [200 * 2 ** 20, 100 * 2 ** 20]);
});

test('hostile balloon requests: writable inflate buffers and writable stats buffers need a reset; oversized requests are capped', () => {
  const r = rig();
  const vr = r.drv.vrings[0]!;
  vr.add([{ addr: r.guest.alloc(8), len: 8, write: true }]);
  vr.forceKick();
  assert.equal(r.drv.status() & NEEDS_RESET, NEEDS_RESET);
  assert.match(r.errors[0]!, /inflate request at head \d+ has a device-writable part/);
  r.drv.init();
  assert.equal(r.dev.inflated.count, 0, 'reset empties the balloon');
  const s = r.drv.vrings[2]!;
  s.add([{ addr: r.guest.alloc(10), len: 10, write: true }]);
  s.forceKick();
  assert.match(r.errors[1]!, /stats buffer at head \d+ has a device-writable part/);
  r.drv.init();
  pfns(r, 0, Array.from({ length: 70000 }, (_, i) => (i % 2) * 0xfffff));
  assert.equal(r.dev.counters.ignoredPfns, 70000 - 65536);
  const t = r.drv.vrings[1]!;
  const at = r.guest.alloc(7);
  t.add([{ addr: at, len: 7, write: false }]);
  t.kick();
  assert.equal(t.takeUsed().length, 1, 'a ragged deflate request still completes');
  assert.equal(r.dev.counters.ignoredPfns, 70000 - 65536 + 1);
});

test('save/restore: target, actual, inflated pages and the held stats buffer move to a copy; stats requests work there', () => {
  const r = rig();
  r.dev.setTarget(300);
  pfns(r, 0, Array.from({ length: 200 }, (_, i) => firstPfn + 2 * i));
  r.drv.write(r.drv.caps.device + 4, 4, 200);
  const held = statsBuffer(r, [[S_MEMFREE, 12345]]);
  const bytes = encodeState([r.fn.save()]);
  const g2 = r.guest.clone();
  const fn2 = createVirtioBalloon({ memory: g2.memory, mmio: g2.mmio, msi: g2.msi, name: 'vballoon' });
  fn2.restore(decodeState(bytes)[0]!);
  assert.deepEqual(encodeState([fn2.save()]), bytes, 'the destination saves what the source saved');
  const d = fn2.device;
  assert.equal(d.targetPages, 300);
  assert.equal(d.actualPages, 200);
  assert.equal(d.inflated.count, 200);
  assert.equal(d.isInflated((firstPfn + 398) * 4096), true);
  assert.equal(d.stats?.freeMemory, 12345);
  const drv2 = r.drv.moveTo(g2, fn2);
  assert.equal(d.requestStats(), true);
  assert.deepEqual(drv2.vrings[2]!.takeUsed().map((u) => u.id), [held.head]);

  const bad = decodeState(bytes)[0]!;
  const dev = (bad.data['transport'] as { data: { device: { data: Record<string, unknown> } } }).data.device.data;
  dev['inflatedRuns'] = Float64Array.of(0x7ffff, 4);
  assert.throws(() => fn2.restore(bad), (e: unknown) => e instanceof SavedStateError && /not inside one RAM region/.test(e.message));
  assert.equal(fn2.device.inflated.count, 200, 'a refused record leaves the device as it was');
});
