/**
 * virtio-console with MULTIPORT, driven like Linux's virtio_console: the control conversation,
 * a console on port 0 and the agent port, open/close from both ends, data both ways, the
 * single-port mode, emergency writes, hostile messages and buffers, save/restore.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeState, encodeState, SavedStateError } from '../../../src/common/saved-state.js';
import { createVirtioConsole } from '../../../src/vm/virtio/create-virtio.js';
import type { ConsolePortListener } from '../../../src/vm/virtio/console/console-port.js';
import { bit, NEEDS_RESET } from './fake-driver.js';
import { settle } from './fake-guest.js';
import {
  BAD_ID, bringUp, CONSOLE_PORT, consoleRig, DEVICE_ADD, DEVICE_READY, F_EMERG_WRITE, F_MULTIPORT, PORT_NAME, PORT_OPEN, PORT_READY,
  postBuffers, rxQueue, sendBytes, sendControl, takeBuffers, takeControl, txQueue, type ConsoleRig,
} from './fake-console.js';

class Listener implements ConsolePortListener {
  readonly chunks: Uint8Array[] = [];
  readonly events: string[] = [];
  data(b: Uint8Array): void { this.chunks.push(b.slice()); }
  open(): void { this.events.push('open'); }
  close(): void { this.events.push('close'); }
  text(): string { return Buffer.concat(this.chunks).toString(); }
}

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

test('identity: device 0x1043, MULTIPORT and EMERG_WRITE offered, max_nr_ports, one queue pair per port plus control', () => {
  const r = consoleRig({}, false);
  assert.equal(r.fn.readConfig(2, 2), 0x1043);
  const offered = r.drv.readOffered();
  assert.notEqual(offered & bit(F_MULTIPORT), 0n);
  assert.notEqual(offered & bit(F_EMERG_WRITE), 0n);
  assert.equal(r.drv.deviceConfig(4, 4), 2);
  assert.equal(r.drv.common(0x12, 2), 6);
  assert.equal(r.con.port(1).name, 'org.viridian.agent.0');
  assert.throws(() => consoleRig({ ports: [{ name: 'a' }, { console: true }] }, false), /only port 0 can/);
  assert.throws(() => consoleRig({ ports: [{ console: true }, { name: 'bad name' }] }, false), /printable ASCII/);
  assert.throws(() => consoleRig({ ports: [{ console: true }, { name: 'x' }, { name: 'x' }] }, false), /used twice/);
});

test("the control conversation: DEVICE_ADD per port, then CONSOLE_PORT + PORT_OPEN for the console and PORT_NAME for the agent", () => {
  const r = consoleRig();
  const msgs = bringUp(r);
  assert.deepEqual(msgs, [
    { id: 0, event: DEVICE_ADD, value: 1, extra: '' },
    { id: 1, event: DEVICE_ADD, value: 1, extra: '' },
    { id: 0, event: CONSOLE_PORT, value: 1, extra: '' },
    { id: 0, event: PORT_OPEN, value: 1, extra: '' },
    { id: 1, event: PORT_NAME, value: 0, extra: 'org.viridian.agent.0' },
  ], 'no PORT_OPEN for the agent until the host connects');
  assert.equal(r.con.port(0).ready && r.con.port(1).ready, true);
  assert.deepEqual(r.errors, []);
});

test('console port: guest output reaches the listener; host input waits until the guest opens the console', () => {
  const r = consoleRig();
  const out = new Listener();
  r.con.port(0).listener = out;
  bringUp(r);
  assert.equal(r.con.port(0).write(ascii('typed early\n')), 12);
  assert.equal(takeBuffers(r, rxQueue(0)).length, 0, 'not open in the guest yet');
  sendControl(r, 0, PORT_OPEN, 1); // init_port_console sends this
  assert.deepEqual(out.events, ['open']);
  assert.equal(Buffer.concat(takeBuffers(r, rxQueue(0))).toString(), 'typed early\n');
  sendBytes(r, txQueue(0), ascii('Linux version 6.1\n'));
  assert.equal(out.text(), 'Linux version 6.1\n');
  assert.equal(r.con.port(0).stats.fromGuest, 18);
});

test('agent port: host connect sends PORT_OPEN 1, data both ways, guest close discards unread input, host disconnect sends PORT_OPEN 0', () => {
  const r = consoleRig();
  bringUp(r);
  const agent = r.con.portByName('org.viridian.agent.0')!;
  const l = new Listener();
  agent.connect(l);
  assert.deepEqual(takeControl(r), [{ id: 1, event: PORT_OPEN, value: 1, extra: '' }]);
  sendControl(r, 1, PORT_OPEN, 1);
  assert.deepEqual(l.events, ['open']);
  assert.equal(agent.guestOpen, true);
  agent.write(ascii('{"execute":"guest-ping"}\n'));
  assert.equal(Buffer.concat(takeBuffers(r, rxQueue(1))).toString(), '{"execute":"guest-ping"}\n');
  sendBytes(r, txQueue(1), ascii('{"return":{}}\n'));
  assert.equal(l.text(), '{"return":{}}\n');
  // Fill the guest's buffers, leave more pending, then close: the leftover is discarded.
  agent.write(new Uint8Array(4 * 4096 + 100));
  assert.equal(agent.pendingBytes, 4 * 4096 + 100 - 3 * 4096, 'three buffers were left after the ping');
  sendControl(r, 1, PORT_OPEN, 0);
  assert.deepEqual(l.events, ['open', 'close']);
  assert.equal(agent.pendingBytes, 0);
  assert.ok(agent.stats.discarded > 0);
  agent.disconnect();
  assert.deepEqual(takeControl(r).map((m) => [m.id, m.event, m.value]), [[1, PORT_OPEN, 0]]);
  sendBytes(r, txQueue(1), ascii('late'));
  assert.equal(l.text(), '{"return":{}}\n', 'bytes while the host end is closed are discarded');
});

test('write() is bounded by the port buffer and reports what it took', () => {
  const r = consoleRig({ portBufferBytes: 100 });
  bringUp(r);
  const agent = r.con.port(1);
  assert.equal(agent.write(new Uint8Array(70)), 70);
  assert.equal(agent.write(new Uint8Array(70)), 30);
  assert.equal(agent.freeBytes, 0);
});

test('without MULTIPORT: port 0 alone is a console from DRIVER_OK; emergency writes reach its listener', () => {
  const r = consoleRig({}, { accept: (f) => f & ~bit(F_MULTIPORT) });
  const out = new Listener();
  r.con.port(0).listener = out;
  postBuffers(r, 0, 2);
  r.con.port(0).write(ascii('hello'));
  assert.equal(Buffer.concat(takeBuffers(r, 0)).toString(), 'hello');
  r.drv.write(r.drv.caps.device + 8, 4, 'Z'.charCodeAt(0));
  r.drv.write(r.drv.caps.device + 8, 1, '!'.charCodeAt(0));
  assert.equal(out.text(), 'Z!');
  sendControl(r, 0, PORT_READY, 1); // queue 3 is not a control queue without MULTIPORT: ignored
  assert.deepEqual(r.errors, []);
});

const hostile: [string, (r: ConsoleRig) => void, RegExp][] = [
  ['a control message shorter than its header', (r) => { sendBytes(r, 3, new Uint8Array(5)); }, /less than its 8-byte header/],
  ['a readable control receive buffer', (r) => {
    const vr = r.drv.vrings[2]!;
    vr.add([{ addr: r.guest.alloc(64), len: 64, write: false }]);
    sendControl(r, BAD_ID, DEVICE_READY, 1);
  }, /control buffer at head \d+ must be device-writable/],
  ['a port receive buffer with a readable part', (r) => {
    bringUp(r);
    sendControl(r, 0, PORT_OPEN, 1);
    takeBuffers(r, 0);
    const vr = r.drv.vrings[0]!;
    while (r.drv.vrings[0]!.takeUsed().length > 0) { /* drain */ }
    r.con.port(0).write(new Uint8Array(4 * 4096)); // use up the posted buffers
    vr.add([{ addr: r.guest.alloc(16), len: 16, write: false }]);
    vr.forceKick();
    r.con.port(0).write(ascii('x'));
  }, /receive buffer at head \d+ of port 0 has a device-readable part/],
];

for (const [what, act, message] of hostile) {
  test(`hostile console: ${what} sets DEVICE_NEEDS_RESET and the device recovers after a reset`, () => {
    const r = consoleRig();
    act(r);
    assert.equal(r.drv.status() & NEEDS_RESET, NEEDS_RESET);
    assert.match(r.errors[0] ?? '', message);
    r.bufs.clear();
    r.drv.init();
    assert.equal(bringUp(r).length, 5);
  });
}

test('messages for unknown ports and unknown events are ignored', () => {
  const r = consoleRig();
  bringUp(r);
  sendControl(r, 7, PORT_OPEN, 1);
  sendControl(r, 1, 99, 1);
  assert.deepEqual(takeControl(r), []);
  assert.deepEqual(r.errors, []);
});

test('save/restore: port states, pending bytes and undelivered control messages; the new host end is reconciled', async () => {
  const r = consoleRig();
  bringUp(r);
  sendControl(r, 0, PORT_OPEN, 1);
  r.con.port(1).connect();
  sendControl(r, 1, PORT_OPEN, 1);
  takeControl(r);
  takeBuffers(r, rxQueue(1));
  r.con.port(1).write(new Uint8Array(5 * 4096)); // four buffers' worth delivered, 4096 pending
  assert.equal(r.con.port(1).pendingBytes, 4096);
  const bytes = encodeState([r.fn.save()]);
  const g2 = r.guest.clone();
  const fn2 = createVirtioConsole({ memory: g2.memory, mmio: g2.mmio, msi: g2.msi, name: 'vcon' });
  fn2.restore(decodeState(bytes)[0]!);
  const r2: ConsoleRig = { ...r, guest: g2, fn: fn2, con: fn2.device, drv: r.drv.moveTo(g2, fn2) };
  assert.equal(fn2.device.port(1).pendingBytes, 4096);
  assert.equal(fn2.device.port(1).guestOpen, true);
  assert.deepEqual(takeControl(r2), [], 'nothing is delivered from inside the restore');
  await settle();
  assert.deepEqual(takeControl(r2).map((m) => [m.id, m.event, m.value]), [[1, PORT_OPEN, 0]], 'no agent is connected on the destination: the guest hears PORT_OPEN 0');
  fn2.device.port(1).connect();
  assert.deepEqual(takeControl(r2).map((m) => [m.id, m.event, m.value]), [[1, PORT_OPEN, 1]]);
  postBuffers(r2, rxQueue(1), 1);
  assert.equal(takeBuffers(r2, rxQueue(1))[0]!.length, 4096, 'pending bytes delivered on the destination');

  const bad = decodeState(bytes)[0]!;
  const dev = (bad.data['transport'] as { data: { device: { data: { ports: { pending: Uint8Array }[] } } } }).data.device.data;
  dev.ports[1]!.pending = new Uint8Array(1 << 20);
  assert.throws(() => fn2.restore(bad), (e: unknown) => e instanceof SavedStateError && /more than its 65536-byte buffer/.test(e.message));
});
