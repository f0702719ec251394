import test from 'node:test';
import assert from 'node:assert/strict';
import { machine, mmioRead32, mmioWrite32, enable } from './helpers.js';
import { IoApic } from '../../../src/vm/apic/ioapic.js';
import { decodeMsi } from '../../../src/vm/apic/apic-bus.js';

// Register layout and values from the Intel 82093AA datasheet (IOREGSEL 0x00, IOWIN 0x10; ID 0, version 1, redirection 0x10 + 2n).
function reg(io: IoApic, index: number): number { mmioWrite32(io, 0x00, index); return mmioRead32(io, 0x10); }
function setReg(io: IoApic, index: number, value: number): void { mmioWrite32(io, 0x00, index); mmioWrite32(io, 0x10, value); }

function setup(n = 2): { io: IoApic } & ReturnType<typeof machine> {
  const m = machine(n);
  for (const a of m.apics) enable(a);
  return { ...m, io: new IoApic(m.bus) };
}

test('identification registers', () => {
  const { io } = setup();
  assert.equal(reg(io, 1), 0x00170020, 'version 0x20, max redirection entry 23');
  setReg(io, 0, 0x0a000000);
  assert.equal(reg(io, 0), 0x0a000000);
  assert.equal(reg(io, 0x10) & 0x10000, 0x10000, 'entries start masked');
  assert.equal(reg(io, 0x10 + 2 * 24), 0, 'past the last entry reads 0');
  mmioWrite32(io, 0x00, 0x13);
  const b = new Uint8Array(1); io.mmioRead(0, b);
  assert.equal(b[0], 0x13, 'IOREGSEL reads back');
});

test('edge-triggered pin delivers on the rising edge only, and not while masked', () => {
  const { io, apics } = setup();
  setReg(io, 0x10 + 2 * 4, 0x00000034); // pin 4: vector 0x34, fixed, physical, edge, unmasked
  setReg(io, 0x11 + 2 * 4, 0x01000000); // to APIC 1
  io.pin(4).set(true);
  assert.equal(apics[1]!.acknowledge(), 0x34);
  mmioWrite32(apics[1]!, 0xb0, 0);
  io.pin(4).set(true); // still high: no new edge
  assert.equal(apics[1]!.pendingVector(), -1);
  io.pin(4).set(false);
  setReg(io, 0x10 + 2 * 4, 0x00010034);
  io.pin(4).pulse();
  assert.equal(apics[1]!.pendingVector(), -1, 'masked edges are lost (datasheet 3.2.4)');
  setReg(io, 0x10 + 2 * 4, 0x00000034);
  assert.equal(apics[1]!.pendingVector(), -1, 'and not replayed on unmask');
  io.pin(4).pulse();
  assert.equal(apics[1]!.pendingVector(), 0x34);
});

test('level-triggered pin: remote IRR, EOI broadcast and re-delivery while asserted', () => {
  const { io, apics } = setup();
  const a = apics[0]!;
  setReg(io, 0x10 + 2 * 10, 0x00008051);
  setReg(io, 0x11 + 2 * 10, 0x00000000);
  io.pin(10).set(true);
  assert.equal(reg(io, 0x10 + 2 * 10) & 0x4000, 0x4000, 'remote IRR set on acceptance');
  assert.equal(a.acknowledge(), 0x51);
  io.pin(10).set(true); // held: no duplicate while remote IRR is set
  assert.equal(a.pendingVector(), -1);
  mmioWrite32(a, 0xb0, 0); // EOI: TMR set, broadcast clears remote IRR, line still high -> again
  assert.equal(a.pendingVector(), 0x51);
  assert.equal(a.acknowledge(), 0x51);
  io.pin(10).set(false);
  mmioWrite32(a, 0xb0, 0);
  assert.equal(reg(io, 0x10 + 2 * 10) & 0x4000, 0);
  assert.equal(a.pendingVector(), -1, 'deasserted line is not re-delivered');
});

test('unmasking a held level interrupt delivers it; the EOI register also ends it', () => {
  const { io, apics } = setup();
  setReg(io, 0x10 + 2 * 3, 0x00018062);
  io.pin(3).set(true);
  assert.equal(apics[0]!.pendingVector(), -1);
  setReg(io, 0x10 + 2 * 3, 0x00008062);
  assert.equal(apics[0]!.acknowledge(), 0x62);
  mmioWrite32(io, 0x40, 0x62);
  // 0x62 is still in service at the local APIC, so the re-delivered one waits in IRR.
  assert.equal(mmioRead32(apics[0]!, 0x230), 1 << 2, 'EOI register re-delivers the held line');
});

test('logical destination and lowest priority through the IOAPIC', () => {
  const { io, apics } = setup(3);
  apics.forEach((a, i) => mmioWrite32(a, 0xd0, (1 << i) << 24));
  setReg(io, 0x10 + 2, 0x00000940); // lowest priority, logical
  setReg(io, 0x11 + 2, 0x06000000); // APICs 1 and 2
  mmioWrite32(apics[1]!, 0x80, 0x40);
  io.pin(1).pulse();
  assert.deepEqual(apics.map((a) => a.pendingVector()), [-1, -1, 0x40]);
});

test('MSI address/data decode (SDM 11.11) and delivery', () => {
  const d = decodeMsi(0xfee0300c, 0xc1a5);
  assert.deepEqual(d, { valid: true, dest: 3, redirectionHint: true, logical: true, vector: 0xa5, deliveryMode: 1, levelTriggered: true, assert: true });
  assert.equal(decodeMsi(0xfed00000, 0).valid, false);
  const { bus, apics } = setup(2);
  bus.signalMsi(0xfee01000, 0x0031);
  assert.deepEqual(apics.map((a) => a.pendingVector()), [-1, 0x31]);
  bus.signalMsi(0xfeb01000, 0x0032);
  assert.equal(bus.droppedMsis, 1);
  bus.signalMsi(0xfee00000, 0x0400); // NMI to APIC 0
  assert.equal(apics[0]!.pendingVector(), -1);
});

test('IOAPIC save/restore keeps entries and remote IRR; bad records change nothing', () => {
  const { io } = setup();
  setReg(io, 0x10 + 2 * 7, 0x00008077);
  io.pin(7).set(true);
  const s = io.save();
  const m2 = setup();
  m2.io.restore(s);
  assert.equal(reg(m2.io, 0x10 + 2 * 7), 0x0000c077);
  assert.throws(() => m2.io.restore({ ...s, data: { ...s.data, rte: new Uint32Array(4) } }), /rte/);
  assert.throws(() => m2.io.restore({ ...s, data: { ...s.data, id: 99 } }), /id/);
  assert.equal(reg(m2.io, 0x10 + 2 * 7), 0x0000c077);
});
