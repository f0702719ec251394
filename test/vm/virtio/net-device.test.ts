/**
 * virtio-net driven by a fake guest the way Linux's virtio_net drives it: identity and
 * configuration, transmit and receive through a loopback backend and a pair of in-memory NICs,
 * mergeable and single-buffer receive, the receive backlog bound, transmit backpressure, link
 * status, frame validation.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetBackend } from '../../../src/vm/net/memory-backend.js';
import { MAX_FRAME } from '../../../src/vm/net/net-backend.js';
import type { NetFrameSink } from '../../../src/vm/net/net-backend.js';
import { settle, until } from './fake-guest.js';
import { bit, F_EVENT_IDX, F_INDIRECT, F_VERSION_1 } from './fake-driver.js';
import {
  BROADCAST, ethFrame, F_CTRL_MAC_ADDR, F_CTRL_RX, F_CTRL_VQ, F_GUEST_ANNOUNCE, F_MAC, F_MRG_RXBUF, F_MTU, F_STATUS, HDR,
  MAC_A, MAC_B, macOf, netRig, postRx, receive, takeRx, transmit,
} from './fake-net.js';

/** A sink standing in for "the network" at the far end of a memory pair. */
class Wire implements NetFrameSink {
  readonly frames: Uint8Array[] = [];
  links: boolean[] = [];
  writables = 0;
  receiveFrame(f: Uint8Array): void { this.frames.push(f.slice()); }
  linkChanged(up: boolean): void { this.links.push(up); }
  writable(): void { this.writables++; }
}

function wired(capacity?: number): { near: MemoryNetBackend; far: MemoryNetBackend; wire: Wire } {
  const [near, far] = MemoryNetBackend.pair(capacity === undefined ? {} : { capacity });
  const wire = new Wire();
  far.attach(wire);
  return { near, far, wire };
}

test('identity and configuration: device 0x1041, network class, MAC, link status, one queue pair', () => {
  const r = netRig(MemoryNetBackend.loopback(), {}, false);
  assert.equal(r.fn.readConfig(2, 2), 0x1041);
  assert.equal(r.fn.readConfig(0x09, 1) | (r.fn.readConfig(0x0a, 2) << 8), 0x020000, 'class: Ethernet controller');
  assert.equal(r.drv.caps.deviceLen, 12);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => r.drv.deviceConfig(i, 1)), [...macOf(MAC_A)]);
  assert.equal(r.drv.deviceConfig(6, 2) & 1, 1, 'VIRTIO_NET_S_LINK_UP with a loopback attached');
  assert.equal(r.drv.deviceConfig(8, 2), 1, 'max_virtqueue_pairs');
  const offered = r.drv.readOffered();
  for (const b of [F_MAC, F_STATUS, F_MRG_RXBUF, F_CTRL_VQ, F_CTRL_RX, F_GUEST_ANNOUNCE, F_CTRL_MAC_ADDR, F_VERSION_1]) assert.notEqual(offered & bit(b), 0n, `feature ${b} offered`);
  assert.equal(offered & bit(F_MTU), 0n, 'no MTU feature unless one is configured');
  assert.equal(offered & 0x7fffn & ~(bit(F_MAC)), 0n, 'no checksum or segmentation offloads');
  assert.equal(r.drv.common(0x12, 2), 3, 'rx, tx, control');

  const m = netRig(MemoryNetBackend.loopback(), { mtu: 9000, controlQueue: false }, false);
  const mo = m.drv.readOffered();
  assert.notEqual(mo & bit(F_MTU), 0n);
  assert.equal(mo & bit(F_CTRL_VQ), 0n);
  assert.equal(m.drv.deviceConfig(10, 2), 9000);
  assert.equal(m.drv.common(0x12, 2), 2);
  assert.throws(() => netRig(MemoryNetBackend.loopback(), { mac: '01:00:5e:00:00:01' }, false), /multicast/);
  assert.throws(() => netRig(MemoryNetBackend.loopback(), { mac: '52:54:00' }, false), /six hex byte pairs/);
});

test('feature rules: control-queue features without CTRL_VQ are refused at FEATURES_OK', () => {
  const r = netRig(MemoryNetBackend.loopback(), {}, false);
  assert.equal(r.drv.negotiate((f) => f & ~bit(F_CTRL_VQ)), false);
  assert.match(r.fn.transport.failure ?? '', /needs VIRTIO_NET_F_CTRL_VQ/);
  assert.equal(r.drv.negotiate((f) => f & ~(bit(F_CTRL_VQ) | bit(F_CTRL_RX) | bit(F_GUEST_ANNOUNCE) | bit(F_CTRL_MAC_ADDR))), true);
});

for (const [label, accept] of [
  ['event index + indirect', (f: bigint) => f],
  ['no event index, no indirect', (f: bigint) => f & ~(bit(F_EVENT_IDX) | bit(F_INDIRECT))],
] as const) {
  test(`loopback with MRG_RXBUF (${label}): frames of 60, 1514 and 9014 bytes come back intact, spread over page buffers`, async () => {
    const backend = MemoryNetBackend.loopback();
    const r = netRig(backend, {}, { accept });
    postRx(r, 16, 1526);
    const frames = [ethFrame(MAC_A, MAC_B, 46, 1), ethFrame(MAC_A, MAC_B, 1500, 2), ethFrame(MAC_A, MAC_B, 9000, 3)];
    transmit(r, frames[0]!);
    transmit(r, frames[1]!, { split: 100 });
    transmit(r, frames[2]!, { indirect: (accept(bit(F_INDIRECT)) & bit(F_INDIRECT)) !== 0n, split: 4096 });
    const got = await receive(r, 3);
    assert.deepEqual(got.map((g) => g.frame), frames);
    assert.deepEqual(got.map((g) => g.numBuffers), [1, 1, 6], 'num_buffers: ceil((12 + len) / 1526); 1514 + 12 fills one exactly');
    assert.deepEqual(got[0]!.header.subarray(0, 10), new Uint8Array(10), 'no checksum or GSO information');
    assert.equal(r.drv.vrings[1]!.takeUsed().length, 3, 'transmit buffers returned');
    assert.equal(r.net.tx.txFrames, 3);
    assert.equal(r.net.rx.stats.rxFrames, 3);
    assert.equal(backend.stats.txBytes, 60 + 1514 + 9014);
    assert.ok(r.guest.msi.count(1) >= 1 && r.guest.msi.count(2) >= 1, 'receive and transmit interrupts on their vectors');
    assert.deepEqual(r.errors, []);
  });
}

test('without MRG_RXBUF: one buffer per frame, num_buffers 1; a frame larger than the buffer is dropped and counted', async () => {
  const r = netRig(MemoryNetBackend.loopback(), {}, { accept: (f) => f & ~bit(F_MRG_RXBUF) });
  postRx(r, 4, 1526, 2);
  const small = ethFrame(MAC_A, MAC_B, 1000, 4), big = ethFrame(MAC_A, MAC_B, 2000, 5), last = ethFrame(MAC_A, MAC_B, 1500, 6);
  transmit(r, small);
  transmit(r, big);
  transmit(r, last);
  const got = await receive(r, 2);
  assert.deepEqual(got.map((g) => g.frame), [small, last]);
  assert.deepEqual(got.map((g) => g.numBuffers), [1, 1]);
  assert.equal(r.net.rx.stats.rxDroppedTooBig, 1);
});

test('receive backlog: frames without buffers wait up to the bound, the rest are dropped and counted, order is kept', async () => {
  const { near, far } = wired();
  const r = netRig(near, { rxBacklogFrames: 8 });
  const frames = Array.from({ length: 12 }, (_, i) => ethFrame(MAC_A, MAC_B, 100 + i, 10 + i));
  for (const f of frames) far.send(f);
  far.flush();
  await until(() => r.net.rx.stats.rxDroppedNoBuffers + r.net.rx.backlogged === 12, 'frames at the device');
  assert.equal(r.net.rx.backlogged, 8);
  assert.equal(r.net.rx.stats.rxDroppedNoBuffers, 4);
  postRx(r, 3);
  assert.deepEqual(takeRx(r).map((g) => g.frame), frames.slice(0, 3), 'the kick drains the backlog in order');
  postRx(r, 10);
  assert.deepEqual(takeRx(r).map((g) => g.frame), frames.slice(3, 8));
  assert.equal(r.net.rx.backlogged, 0);
  far.send(frames[11]!);
  far.flush();
  assert.deepEqual((await receive(r, 1)).map((g) => g.frame), [frames[11]]);
});

test('a frame larger than the whole receive ring can hold is dropped at once instead of blocking the backlog', async () => {
  const { near, far } = wired();
  const r = netRig(near, {}, { queueSize: 4 });
  postRx(r, 4, 1526);
  const huge = ethFrame(MAC_A, MAC_B, 9000, 1), next = ethFrame(MAC_A, MAC_B, 200, 2);
  far.send(huge);
  far.send(next);
  far.flush();
  const got = await receive(r, 1);
  assert.deepEqual(got[0]!.frame, next);
  assert.equal(r.net.rx.stats.rxDroppedTooBig, 1);
});

test('transmit backpressure: a congested backend leaves packets in the ring until it drains; nothing is dropped', async () => {
  const { near, far, wire } = wired(2);
  far.attach(wire);
  const r = netRig(near);
  near.hold = true;
  const frames = Array.from({ length: 5 }, (_, i) => ethFrame(MAC_B, MAC_A, 60 + i, i));
  for (const f of frames) transmit(r, f);
  assert.equal(r.net.tx.txFrames, 2, 'the device stopped at the backend capacity');
  assert.equal(r.drv.vrings[1]!.takeUsed().length, 2);
  near.release();
  await until(() => wire.frames.length === 5, 'all five frames on the wire');
  assert.deepEqual(wire.frames, frames);
  assert.equal(r.net.tx.txDroppedNoLink + near.stats.txDroppedNoLink, 0);
  assert.equal(r.drv.vrings[1]!.takeUsed().length, 3, 'the rest completed after writable()');
});

test('link status: unplugging sends a configuration interrupt and clears LINK_UP; frames meanwhile are dropped and counted', async () => {
  const { near, far, wire } = wired();
  const r = netRig(near);
  const before = r.guest.msi.count(0);
  near.setLink(false);
  assert.equal(r.guest.msi.count(0), before + 1, 'configuration interrupt on vector 0');
  assert.equal(r.drv.deviceConfig(6, 2) & 1, 0);
  transmit(r, ethFrame(MAC_B, MAC_A, 100));
  assert.equal(r.net.tx.txDroppedNoLink, 1);
  assert.equal(r.drv.vrings[1]!.takeUsed().length, 1, 'the packet is still completed');
  near.setLink(true);
  assert.equal(r.drv.deviceConfig(6, 2) & 1, 1);
  assert.deepEqual(wire.links, [false, true]);
  transmit(r, ethFrame(MAC_B, MAC_A, 100, 7));
  await until(() => wire.frames.length === 1, 'frame after re-plug');
  void far;
});

test('transmit validation: short, oversized and offload-requesting packets are dropped and counted, the device keeps going', async () => {
  const { near, wire } = wired();
  const r = netRig(near);
  transmit(r, new Uint8Array(13));
  transmit(r, new Uint8Array(MAX_FRAME + 1));
  const csum = new Uint8Array(HDR); csum[0] = 1;
  transmit(r, ethFrame(MAC_B, MAC_A, 100), { header: csum });
  const gso = new Uint8Array(HDR); gso[1] = 1;
  transmit(r, ethFrame(MAC_B, MAC_A, 100), { header: gso });
  const good = ethFrame(MAC_B, MAC_A, 65535 + 4, 9);
  assert.equal(good.length, MAX_FRAME);
  transmit(r, good, { split: 8192 });
  assert.equal(r.net.tx.txDroppedInvalid, 4);
  await until(() => wire.frames.length === 1, 'the largest valid frame');
  assert.deepEqual(wire.frames[0], good);
  assert.deepEqual(r.errors, []);
});

test('two NICs joined by a memory cable talk both ways', async () => {
  const [a, b] = MemoryNetBackend.pair();
  const ra = netRig(a);
  const rb = netRig(b, { mac: MAC_B }, {}, undefined, 0xfe200000);
  postRx(ra, 8);
  postRx(rb, 8);
  const ab = ethFrame(MAC_B, MAC_A, 500, 1), ba = ethFrame(MAC_A, MAC_B, 700, 2);
  transmit(ra, ab);
  transmit(rb, ba);
  assert.deepEqual((await receive(rb, 1))[0]!.frame, ab);
  assert.deepEqual((await receive(ra, 1))[0]!.frame, ba);
  const bc = ethFrame(BROADCAST, MAC_A, 42, 3);
  transmit(ra, bc);
  assert.deepEqual((await receive(rb, 1))[0]!.frame, bc);
  await settle();
  assert.equal(takeRx(ra).length, 0, 'a cable does not echo');
});
