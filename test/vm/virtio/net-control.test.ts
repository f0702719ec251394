/**
 * virtio-net's control queue and receive filter as Linux programs them on `ip link set up`
 * (PROMISC off, ALLMULTI, MAC_TABLE_SET), MAC change, the announce handshake; hostile
 * descriptors on every queue; save/restore with held receive buffers and filter state.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeState, encodeState, SavedStateError } from '../../../src/common/saved-state.js';
import { MemoryNetBackend } from '../../../src/vm/net/memory-backend.js';
import { createVirtioNet } from '../../../src/vm/virtio/create-virtio.js';
import { settle, until } from './fake-guest.js';
import { bit, NEEDS_RESET } from './fake-driver.js';
import {
  BROADCAST, control, ethFrame, F_GUEST_ANNOUNCE, MAC_A, MAC_B, macOf, netRig, postRx, receive, takeRx, transmit, type NetRig,
} from './fake-net.js';

const RX = 0, MAC = 1, ANNOUNCE = 3, OK = 0, ERR = 1;

function macTables(uc: string[], mc: string[]): Uint8Array {
  const b = new Uint8Array(8 + 6 * (uc.length + mc.length)), v = new DataView(b.buffer);
  v.setUint32(0, uc.length, true);
  uc.forEach((m, i) => b.set(macOf(m), 4 + 6 * i));
  const at = 4 + 6 * uc.length;
  v.setUint32(at, mc.length, true);
  mc.forEach((m, i) => b.set(macOf(m), at + 4 + 6 * i));
  return b;
}

test('receive filter: after PROMISC off and a MAC table, only our unicast, listed multicast and broadcast pass', async () => {
  const [near, far] = MemoryNetBackend.pair();
  const r = netRig(near);
  postRx(r, 32);
  assert.equal(control(r, RX, 0, Uint8Array.of(0)), OK, 'PROMISC off');
  assert.equal(control(r, RX, 1, Uint8Array.of(0)), OK, 'ALLMULTI off');
  assert.equal(control(r, MAC, 0, macTables(['52:54:00:cc:00:03'], ['33:33:00:00:00:01'])), OK);
  const pass = [ethFrame(MAC_A, MAC_B, 50, 1), ethFrame('52:54:00:cc:00:03', MAC_B, 50, 2), ethFrame('33:33:00:00:00:01', MAC_B, 50, 3), ethFrame(BROADCAST, MAC_B, 50, 4)];
  const block = [ethFrame('52:54:00:dd:00:04', MAC_B, 50, 5), ethFrame('33:33:00:00:00:02', MAC_B, 50, 6)];
  for (const f of [...block, ...pass]) far.send(f);
  far.flush();
  assert.deepEqual((await receive(r, 4)).map((g) => g.frame), pass);
  assert.equal(r.net.rx.stats.rxFiltered, 2);
  assert.equal(control(r, RX, 1, Uint8Array.of(1)), OK, 'ALLMULTI on');
  far.send(block[1]!);
  far.flush();
  assert.deepEqual((await receive(r, 1))[0]!.frame, block[1]);
  const many = Array.from({ length: 65 }, (_, i) => `52:54:01:00:00:${i.toString(16).padStart(2, '0')}`);
  assert.equal(control(r, MAC, 0, macTables(many, [])), OK, 'more than 64 entries: overflow, accepted');
  far.send(block[0]!);
  far.flush();
  assert.equal((await receive(r, 1)).length, 1, 'unicast overflow passes every unicast');
});

test('control commands: malformed, unknown or not negotiated get VIRTIO_NET_ERR; MAC_ADDR_SET changes the configuration MAC', () => {
  const r = netRig(MemoryNetBackend.loopback());
  assert.equal(control(r, RX, 0, Uint8Array.of(0, 0)), ERR, 'PROMISC with two data bytes');
  assert.equal(control(r, RX, 9, Uint8Array.of(1)), ERR, 'unknown RX command');
  assert.equal(control(r, 4, 0, Uint8Array.of(1, 0)), ERR, 'MQ class is not offered');
  const t = macTables(['52:54:00:cc:00:03'], []);
  assert.equal(control(r, MAC, 0, t.subarray(0, t.length - 1)), ERR, 'table one byte short');
  assert.equal(control(r, MAC, 1, macOf('01:00:5e:00:00:01')), ERR, 'multicast primary address');
  assert.equal(control(r, MAC, 1, macOf(MAC_B)), OK);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => r.drv.deviceConfig(i, 1)), [...macOf(MAC_B)]);
  assert.equal(r.net.mac, MAC_B);
  assert.deepEqual(r.errors, []);
  r.drv.reset();
  assert.equal(r.net.mac, MAC_A, 'reset restores the permanent address');
});

test('announce: host request sets VIRTIO_NET_S_ANNOUNCE with a configuration interrupt; the driver ACK clears it', () => {
  const r = netRig(MemoryNetBackend.loopback());
  const before = r.guest.msi.count(0);
  assert.equal(r.net.announce(), true);
  assert.equal(r.guest.msi.count(0), before + 1);
  assert.equal(r.drv.deviceConfig(6, 2), 3, 'LINK_UP | ANNOUNCE');
  assert.equal(control(r, ANNOUNCE, 0), OK);
  assert.equal(r.drv.deviceConfig(6, 2), 1);
  const n = netRig(MemoryNetBackend.loopback(), {}, { accept: (f) => f & ~bit(F_GUEST_ANNOUNCE) }, undefined, 0xfe300000);
  assert.equal(n.net.announce(), false, 'not negotiated');
});

type Hostile = [string, (r: NetRig) => void, RegExp];
const hostile: Hostile[] = [
  ['transmit packet with a device-writable part', (r) => {
    const at = r.guest.alloc(100);
    r.drv.vrings[1]!.add([{ addr: at, len: 80, write: false }, { addr: at + 80, len: 20, write: true }]);
    r.drv.vrings[1]!.forceKick();
  }, /transmit packet at head \d+ has a device-writable part/],
  ['transmit packet shorter than its header', (r) => {
    r.drv.vrings[1]!.add([{ addr: r.guest.alloc(8), len: 8, write: false }]);
    r.drv.vrings[1]!.forceKick();
  }, /has 8 bytes, less than the 12-byte header/],
  ['receive buffer with a device-readable part', (r) => {
    const at = r.guest.alloc(2000);
    r.drv.vrings[0]!.add([{ addr: at, len: 12, write: false }, { addr: at + 12, len: 1500, write: true }]);
    r.drv.vrings[0]!.forceKick();
    r.net.receiveFrame(ethFrame(MAC_A, MAC_B, 100));
  }, /receive buffer at head \d+ has a device-readable part/],
  ['receive buffer smaller than the header', (r) => {
    r.drv.vrings[0]!.add([{ addr: r.guest.alloc(8), len: 8, write: true }]);
    r.net.receiveFrame(ethFrame(MAC_A, MAC_B, 100));
  }, /has 8 bytes, less than the 12-byte header/],
  ['receive buffer outside RAM', (r) => {
    r.drv.vrings[0]!.add([{ addr: 0xfff00000, len: 4096, write: true }]);
    r.net.receiveFrame(ethFrame(MAC_A, MAC_B, 100));
  }, /outside guest RAM/],
  ['control command without an ack byte', (r) => {
    r.drv.vrings[2]!.add([{ addr: r.guest.alloc(3), len: 3, write: false }]);
    r.drv.vrings[2]!.forceKick();
  }, /needs 2 readable bytes and 1 writable ack byte/],
];

for (const [what, act, message] of hostile) {
  test(`hostile: ${what} sets DEVICE_NEEDS_RESET; after a reset the NIC works again`, async () => {
    const r = netRig(MemoryNetBackend.loopback());
    act(r);
    assert.equal(r.drv.status() & NEEDS_RESET, NEEDS_RESET);
    assert.match(r.errors[0] ?? '', message);
    r.net.receiveFrame(ethFrame(MAC_A, MAC_B, 60));
    assert.equal(r.net.rx.stats.rxDroppedNotReady >= 1, true, 'frames are dropped while failed');
    r.rxBufs.clear();
    r.rxPartial.length = 0;
    r.drv.init();
    postRx(r, 4);
    const f = ethFrame(MAC_A, MAC_B, 300, 8);
    transmit(r, f);
    assert.deepEqual((await receive(r, 1))[0]!.frame, f);
  });
}

test('save/restore: held receive buffers, filter and announce state move to a copy of the guest and carry on', async () => {
  const [a, far] = MemoryNetBackend.pair();
  const r = netRig(a);
  postRx(r, 4, 1526);
  assert.equal(control(r, RX, 0, Uint8Array.of(0)), OK);
  assert.equal(control(r, MAC, 1, macOf('52:54:00:ee:00:05')), OK);
  assert.equal(r.net.announce(), true);
  // A 3000-byte frame takes 2 buffers; the next 5000-byte one takes the other 2 and waits for more.
  far.send(ethFrame('52:54:00:ee:00:05', MAC_B, 2986, 1));
  far.send(ethFrame('52:54:00:ee:00:05', MAC_B, 4986, 2));
  far.flush();
  await until(() => r.net.rx.backlogged === 1, 'second frame waiting');
  assert.equal(takeRx(r).length, 1);
  assert.equal(r.net.rx.heldBuffers, 2);
  const bytes = encodeState([r.fn.save()]);

  const g2 = r.guest.clone();
  const [b, far2] = MemoryNetBackend.pair();
  const fn2 = createVirtioNet({ mac: MAC_A, backend: b, memory: g2.memory, mmio: g2.mmio, msi: g2.msi, name: 'vnet' });
  fn2.restore(decodeState(bytes)[0]!);
  assert.deepEqual(encodeState([fn2.save()]), bytes, 'the destination saves what the source saved');
  assert.equal(fn2.device.rx.heldBuffers, 2, 'held buffers re-taken');
  assert.equal(fn2.device.mac, '52:54:00:ee:00:05');
  const r2: NetRig = { ...r, guest: g2, fn: fn2, net: fn2.device, drv: r.drv.moveTo(g2, fn2) };
  assert.equal(r2.drv.deviceConfig(6, 2), 3, 'announce still pending');
  postRx(r2, 2, 1526);
  const f = ethFrame('52:54:00:ee:00:05', MAC_B, 5000, 3);
  far2.send(ethFrame('52:54:00:99:00:09', MAC_B, 60, 4));
  far2.send(f);
  far2.flush();
  const got = await receive(r2, 1);
  assert.deepEqual(got[0]!.frame, f, 'spread over the two held buffers and two new ones');
  assert.equal(got[0]!.numBuffers, 4);
  assert.equal(fn2.device.rx.stats.rxFiltered, 1, 'promiscuous mode stayed off');
  await settle();
});

test('restore onto a backend whose link is down: the configuration interrupt comes after the restore, not inside it', async () => {
  const r = netRig(MemoryNetBackend.loopback());
  const bytes = encodeState([r.fn.save()]);
  const g2 = r.guest.clone();
  const [b] = MemoryNetBackend.pair();
  b.setLink(false);
  const fn2 = createVirtioNet({ mac: MAC_A, backend: b, memory: g2.memory, mmio: g2.mmio, msi: g2.msi, name: 'vnet' });
  fn2.restore(decodeState(bytes)[0]!);
  assert.equal(g2.msi.count(0), 0, 'no interrupt during the restore');
  await settle();
  assert.equal(g2.msi.count(0), 1, 'then one configuration interrupt');
  assert.equal(r.drv.moveTo(g2, fn2).deviceConfig(6, 2) & 1, 0, 'LINK_UP clear');
});

test('hostile net saved state is refused and the function is left as it was', () => {
  const r = netRig(MemoryNetBackend.loopback());
  const good = encodeState([r.fn.save()]);
  const dev = (s: ReturnType<typeof decodeState>[number]): Record<string, unknown> =>
    ((s.data['transport'] as { data: { device: { data: Record<string, unknown> } } }).data.device.data);
  const cases: [string, (d: Record<string, unknown>) => void, RegExp][] = [
    ['another NIC', (d) => { d['permanentMac'] = macOf(MAC_B); }, /saved NIC has MAC 52:54:00:bb:00:02/],
    ['too many held buffers', (d) => { d['rxHeld'] = new Uint32Array(300); }, /'rxHeld' must be at most 256/],
    ['one held head twice', (d) => { d['rxHeld'] = Uint32Array.of(3, 3); }, /one head twice/],
    ['a held head past the queue', (d) => { d['rxHeld'] = Uint32Array.of(256); }, /past 255/],
    ['multicast active MAC', (d) => { (d['filter'] as Record<string, unknown>)['mac'] = macOf('01:00:5e:00:00:01'); }, /multicast/],
    ['ragged MAC table', (d) => { (d['filter'] as Record<string, unknown>)['unicast'] = new Uint8Array(7); }, /six-byte addresses/],
  ];
  for (const [what, mutate, message] of cases) {
    const s = decodeState(good)[0]!;
    mutate(dev(s));
    assert.throws(() => r.fn.restore(s), (e: unknown) => e instanceof SavedStateError && message.test(e.message), what);
    assert.deepEqual(encodeState([r.fn.save()]), good, `${what}: unchanged`);
  }
});
