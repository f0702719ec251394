import test from 'node:test';
import assert from 'node:assert/strict';
import { I8042Controller } from '../../../src/vm/devices/i8042-kbc.js';
import { FakeIrq, FakePlatform, hammerPorts } from './fakes.js';

function setup(): { kbc: I8042Controller; p: FakePlatform; irq1: FakeIrq; irq12: FakeIrq } {
  const p = new FakePlatform();
  const irq1 = new FakeIrq();
  const irq12 = new FakeIrq();
  return { kbc: new I8042Controller(p, irq1, irq12), p, irq1, irq12 };
}

/** Everything waiting in the output buffer, read as a guest would (status OBF, then data). */
function drain(kbc: I8042Controller, limit = 100): number[] {
  const out: number[] = [];
  for (let i = 0; i < limit && (kbc.ioRead(0x64, 1) & 1); i++) out.push(kbc.ioRead(0x60, 1));
  return out;
}

test('self-test 0xAA answers 0x55 and sets the system flag; interface tests answer 0', () => {
  const { kbc } = setup();
  assert.equal(kbc.ioRead(0x64, 1) & 0x05, 0, 'no data, system flag clear at power-on');
  kbc.ioWrite(0x64, 1, 0xaa);
  assert.equal(kbc.ioRead(0x64, 1) & 0x0d, 0x0d, 'OBF, SYS, last write was a command');
  assert.deepEqual(drain(kbc), [0x55]);
  kbc.ioWrite(0x64, 1, 0xab);
  kbc.ioWrite(0x64, 1, 0xa9);
  assert.deepEqual(drain(kbc), [0x00, 0x00]);
});

test('command byte read (0x20) and write (0x60); IRQ1 follows its interrupt-enable bit', () => {
  const { kbc, irq1 } = setup();
  kbc.ioWrite(0x64, 1, 0x60);
  kbc.ioWrite(0x60, 1, 0x44); // translate + SYS, no interrupts
  kbc.ioWrite(0x64, 1, 0x20);
  assert.equal(irq1.level, false);
  assert.deepEqual(drain(kbc), [0x44]);
  kbc.ioWrite(0x64, 1, 0x60);
  kbc.ioWrite(0x60, 1, 0x45);
  kbc.ioWrite(0x64, 1, 0x20);
  assert.equal(irq1.level, true);
  assert.deepEqual(drain(kbc), [0x45]);
  assert.equal(irq1.level, false);
});

test('keyboard commands: reset FA AA, identify FA AB 41 (translated), echo, LEDs, scan-code set', () => {
  const { kbc, irq1 } = setup();
  kbc.ioWrite(0x60, 1, 0xff);
  assert.equal(irq1.level, true);
  assert.deepEqual(drain(kbc), [0xfa, 0xaa]);
  assert.equal(irq1.rises, 2, 'one interrupt per byte');
  kbc.ioWrite(0x60, 1, 0xf2);
  assert.deepEqual(drain(kbc), [0xfa, 0xab, 0x41]);
  kbc.ioWrite(0x64, 1, 0x60); kbc.ioWrite(0x60, 1, 0x01); // translation off
  kbc.ioWrite(0x60, 1, 0xf2);
  assert.deepEqual(drain(kbc), [0xfa, 0xab, 0x83]);
  kbc.ioWrite(0x60, 1, 0xee);
  assert.deepEqual(drain(kbc), [0xee]);
  kbc.ioWrite(0x60, 1, 0xed);
  kbc.ioWrite(0x60, 1, 0x07);
  assert.deepEqual(drain(kbc), [0xfa, 0xfa]);
  assert.equal(kbc.keyboardLeds(), 7);
  kbc.ioWrite(0x60, 1, 0xf0); kbc.ioWrite(0x60, 1, 0x00);
  assert.deepEqual(drain(kbc), [0xfa, 0xfa, 0x02]);
  kbc.ioWrite(0x60, 1, 0xf0); kbc.ioWrite(0x60, 1, 0x01);
  kbc.ioWrite(0x60, 1, 0xf0); kbc.ioWrite(0x60, 1, 0x00);
  assert.deepEqual(drain(kbc), [0xfa, 0xfa, 0xfa, 0xfa, 0x01]);
  kbc.ioWrite(0x60, 1, 0xf5); kbc.ioWrite(0x60, 1, 0xf4);
  assert.deepEqual(drain(kbc), [0xfa, 0xfa]);
  kbc.ioWrite(0x60, 1, 0x12);
  assert.deepEqual(drain(kbc), [0xfe], 'unknown command: resend');
});

test('host scan codes: delivered with IRQ1 while enabled, held while 0xAD disables the keyboard, and while scanning is off', () => {
  const { kbc, irq1 } = setup();
  kbc.ioWrite(0x64, 1, 0xad);
  assert.equal(kbc.injectScanCodes(Uint8Array.of(0x1e, 0x9e)), 2);
  assert.equal(kbc.ioRead(0x64, 1) & 1, 0);
  kbc.ioWrite(0x64, 1, 0xae);
  assert.equal(irq1.level, true);
  assert.deepEqual(drain(kbc), [0x1e, 0x9e]);
  kbc.ioWrite(0x60, 1, 0xf5);
  drain(kbc);
  kbc.injectScanCodes(Uint8Array.of(0x1c));
  assert.deepEqual(drain(kbc), []);
  kbc.ioWrite(0x60, 1, 0xf4);
  assert.deepEqual(drain(kbc), [0xfa, 0x1c]);
});

test('output port: 0xD0 reads it, 0xD1 writes it (bit 1 A20, bit 0 low resets); 0xFE pulses reset; 0xDD/0xDF gate A20', () => {
  const { kbc, p } = setup();
  kbc.ioWrite(0x64, 1, 0xd0);
  assert.equal(drain(kbc)[0]! & 0x03, 0x03);
  kbc.ioWrite(0x64, 1, 0xd1);
  kbc.ioWrite(0x60, 1, 0x01);
  assert.deepEqual(p.a20, [false]);
  assert.equal(p.resets.length, 0);
  kbc.ioWrite(0x64, 1, 0xd1);
  kbc.ioWrite(0x60, 1, 0x02);
  assert.deepEqual(p.a20, [false, true]);
  assert.equal(p.resets.length, 1);
  kbc.ioWrite(0x64, 1, 0xfe);
  assert.equal(p.resets.length, 2);
  kbc.ioWrite(0x64, 1, 0xff);
  assert.equal(p.resets.length, 2, '0xFF pulses no line');
  kbc.ioWrite(0x64, 1, 0xdd);
  assert.deepEqual(p.a20, [false, true, false]);
  kbc.ioWrite(0x64, 1, 0xdf);
  assert.deepEqual(p.a20, [false, true, false, true]);
});

test('aux port: 0xA8/0xA7 toggle the disable bit; 0xD4 forwards to the mouse, whose replies set AUX OBF and IRQ12', () => {
  const { kbc, irq1, irq12 } = setup();
  kbc.ioWrite(0x64, 1, 0xa7);
  kbc.ioWrite(0x64, 1, 0x20);
  assert.equal(drain(kbc)[0]! & 0x20, 0x20);
  kbc.ioWrite(0x64, 1, 0xa8);
  kbc.ioWrite(0x64, 1, 0x20);
  assert.equal(drain(kbc)[0]! & 0x20, 0);
  const rises1 = irq1.rises;
  kbc.ioWrite(0x64, 1, 0xd4);
  kbc.ioWrite(0x60, 1, 0xff);
  assert.equal(kbc.ioRead(0x64, 1) & 0x21, 0x21);
  assert.equal(irq12.level, true);
  assert.deepEqual(drain(kbc), [0xfa, 0xaa, 0x00]);
  assert.equal(irq12.rises, 3);
  assert.equal(irq1.rises, rises1, 'mouse bytes do not raise IRQ1');
  kbc.ioWrite(0x64, 1, 0xd4); kbc.ioWrite(0x60, 1, 0xf2);
  kbc.ioWrite(0x64, 1, 0xd4); kbc.ioWrite(0x60, 1, 0xf3);
  kbc.ioWrite(0x64, 1, 0xd4); kbc.ioWrite(0x60, 1, 200);
  assert.deepEqual(drain(kbc), [0xfa, 0x00, 0xfa, 0xfa]);
  kbc.ioWrite(0x64, 1, 0xd3); kbc.ioWrite(0x60, 1, 0x77);
  assert.equal(kbc.ioRead(0x64, 1) & 0x20, 0x20);
  assert.deepEqual(drain(kbc), [0x77]);
});

test('save → restore keeps queued bytes, command byte and keyboard state', () => {
  const a = setup();
  a.kbc.ioWrite(0x60, 1, 0xf2);
  a.kbc.injectScanCodes(Uint8Array.of(0x10, 0x90));
  a.kbc.ioWrite(0x60, 1, 0xed); // waiting for the LED argument
  const state = a.kbc.save();
  const b = setup();
  b.kbc.restore(state);
  assert.equal(b.irq1.level, true);
  for (const x of [a, b]) x.kbc.ioWrite(0x60, 1, 0x04);
  assert.deepEqual(drain(b.kbc), drain(a.kbc));
  assert.equal(b.kbc.keyboardLeds(), 4);
  assert.throws(() => b.kbc.restore({ ...state, data: { ...state.data, kbdScanSet: 7 } }), /kbdScanSet/);
});

test('hostile: random values at 0x60/0x64, any size, never throw and stay bounded', () => {
  const { kbc } = setup();
  hammerPorts(kbc, 0x60, 0x64, 10000, 31, () => kbc.injectScanCodes(Uint8Array.of(1, 2, 3)));
  // Two bounded queues of 64 plus the output buffer: a guest cannot make the controller grow.
  assert.ok(drain(kbc, 10_000).length <= 129);
});
