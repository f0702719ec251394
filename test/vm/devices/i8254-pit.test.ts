import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { I8254Pit } from '../../../src/vm/devices/i8254-pit.js';
import { FakeIrq, hammerPorts } from './fakes.js';

/** ns of n PIT clocks at 1.193182 MHz, rounded up so that n clocks have fully elapsed. */
const clocks = (n: number): number => Math.ceil((n * 1e9) / 1_193_182);

function setup(): { clock: VmClock; irq: FakeIrq; pit: I8254Pit } {
  const clock = new VmClock('manual');
  const irq = new FakeIrq();
  return { clock, irq, pit: new I8254Pit(clock, irq) };
}

function step(clock: VmClock, ns: number, stepNs: number): void {
  for (let t = 0; t < ns; t += stepNs) { clock.advance(Math.min(stepNs, ns - t)); clock.runDue(); }
}

function latchRead(pit: I8254Pit, ch: number): number {
  pit.ioWrite(0x43, 1, ch << 6); // counter latch
  const lo = pit.ioRead(0x40 + ch, 1);
  return lo | (pit.ioRead(0x40 + ch, 1) << 8);
}

test('mode 2 rate generator: count falls one per clock and reloads; IRQ0 once per period', () => {
  const { clock, irq, pit } = setup();
  pit.ioWrite(0x43, 1, 0x34); // ch0, LSB then MSB, mode 2, binary
  pit.ioWrite(0x40, 1, 1193 & 0xff);
  pit.ioWrite(0x40, 1, 1193 >> 8);
  assert.equal(latchRead(pit, 0), 1193);
  clock.advance(clocks(119));
  assert.equal(latchRead(pit, 0), 1193 - 119);
  clock.advance(clocks(1193) - clocks(119)); // exactly one period after load
  assert.equal(latchRead(pit, 0), 1193, 'reloaded at the period boundary');
  clock.setNow(0);
  const irq2 = new FakeIrq();
  const pit2 = new I8254Pit(clock, irq2);
  pit2.ioWrite(0x43, 1, 0x34); pit2.ioWrite(0x40, 1, 1193 & 0xff); pit2.ioWrite(0x40, 1, 1193 >> 8);
  step(clock, 10_000_000, 50_000); // 10 ms = 10.0015 periods of 999.85 µs
  assert.equal(irq2.pulses, 10);
  void irq;
});

test('mode 0 interrupt on terminal count: OUT low until the count expires, then IRQ0 held high', () => {
  const { clock, irq, pit } = setup();
  pit.ioWrite(0x43, 1, 0x30);
  pit.ioWrite(0x43, 1, 0xe2); // read-back status of ch0: null count set after the control word
  assert.equal(pit.ioRead(0x40, 1) & 0x40, 0x40);
  pit.ioWrite(0x40, 1, 100);
  pit.ioWrite(0x40, 1, 0);
  pit.ioWrite(0x43, 1, 0xe2);
  assert.equal(pit.ioRead(0x40, 1), 0x30, 'OUT low, count loaded, LSB/MSB, mode 0, binary');
  pit.ioRead(0x40, 1); pit.ioRead(0x40, 1); // the latched count
  clock.advance(clocks(99)); clock.runDue();
  assert.equal(irq.level, false);
  clock.advance(clocks(100) - clocks(99)); clock.runDue();
  assert.equal(irq.level, true);
  assert.equal(irq.rises, 1);
  pit.ioWrite(0x43, 1, 0xe2);
  assert.equal(pit.ioRead(0x40, 1) & 0x80, 0x80, 'status shows OUT high');
  step(clock, 5_000_000, 1_000_000);
  assert.equal(irq.rises, 1, 'mode 0 fires once');
  pit.ioWrite(0x43, 1, 0x30);
  assert.equal(irq.level, false, 'a new control word drives OUT low');
});

test('BCD counting: 1000 decimal written as 0x1000 counts 0999 after one clock', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x43, 1, 0x31);
  pit.ioWrite(0x40, 1, 0x00);
  pit.ioWrite(0x40, 1, 0x10);
  clock.advance(clocks(1));
  assert.equal(latchRead(pit, 0), 0x0999);
  clock.advance(clocks(1001) - clocks(1));
  assert.equal(latchRead(pit, 0), 0x9999, 'BCD wraps from 0000 to 9999');
});

test('LSB-only and MSB-only access modes', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x43, 1, 0x50); // ch1, LSB only, mode 0
  pit.ioWrite(0x41, 1, 0x80);
  assert.equal(pit.ioRead(0x41, 1), 0x80);
  pit.ioWrite(0x43, 1, 0x60); // ch1, MSB only, mode 0
  pit.ioWrite(0x41, 1, 0x02);
  clock.advance(clocks(1));
  assert.equal(pit.ioRead(0x41, 1), 0x01, 'count 0x200 - 1 = 0x1ff: MSB reads 0x01');
});

test('counter latch holds the value until read; a second latch before the read is ignored', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x43, 1, 0x34);
  pit.ioWrite(0x40, 1, 0); pit.ioWrite(0x40, 1, 0); // 65536
  clock.advance(clocks(10));
  pit.ioWrite(0x43, 1, 0x00);
  clock.advance(clocks(500));
  pit.ioWrite(0x43, 1, 0x00);
  const v = pit.ioRead(0x40, 1) | (pit.ioRead(0x40, 1) << 8);
  assert.equal(v, 65536 - 10);
  assert.equal(latchRead(pit, 0), 65536 - 510);
});

test('read-back latches status and count of several channels at once; status is read first', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x43, 1, 0x36); // ch0 mode 3
  pit.ioWrite(0x40, 1, 0xe8); pit.ioWrite(0x40, 1, 0x03); // 1000
  pit.ioWrite(0x43, 1, 0xb4); // ch2 mode 2
  pit.ioWrite(0x42, 1, 0x00); pit.ioWrite(0x42, 1, 0x01); // 256
  pit.ioWrite(0x61, 1, 0x01); // gate 2 high
  clock.advance(clocks(100));
  pit.ioWrite(0x43, 1, 0xc0 | 0x08 | 0x02); // count+status for ch0 and ch2
  clock.advance(clocks(50));
  assert.equal(pit.ioRead(0x40, 1), 0x80 | 0x36, 'ch0: OUT high (first half), LSB/MSB, mode 3');
  assert.equal(pit.ioRead(0x40, 1) | (pit.ioRead(0x40, 1) << 8), 1000 - 200, 'mode 3 counts down by two');
  assert.equal(pit.ioRead(0x42, 1), 0x80 | 0x34);
  assert.equal(pit.ioRead(0x42, 1) | (pit.ioRead(0x42, 1) << 8), 256 - 100);
});

test('port 0x61: gate 2, speaker data, OUT2 and the refresh toggle; Linux-style channel 2 calibration', () => {
  const { clock, pit } = setup();
  const r1 = pit.ioRead(0x61, 1) & 0x10;
  clock.advance(15_085);
  assert.notEqual(pit.ioRead(0x61, 1) & 0x10, r1, 'refresh bit toggles every 15.085 µs');
  pit.ioWrite(0x61, 1, (pit.ioRead(0x61, 1) & ~0x02) | 0x01);
  pit.ioWrite(0x43, 1, 0xb0); // ch2, LSB/MSB, mode 0
  pit.ioWrite(0x42, 1, 11932 & 0xff);
  pit.ioWrite(0x42, 1, 11932 >> 8);
  assert.equal(pit.ioRead(0x61, 1) & 0x23, 0x01, 'gate set, speaker off, OUT2 low');
  clock.advance(clocks(11931));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0);
  clock.advance(clocks(11932) - clocks(11931));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0x20, 'OUT2 high after 11932 clocks (10 ms)');
});

test('channel 2 gate: mode 1 one-shot starts on the rising edge; gate low stops mode 2 with OUT high', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x61, 1, 0x00);
  pit.ioWrite(0x43, 1, 0xb2); // ch2, LSB/MSB, mode 1
  pit.ioWrite(0x42, 1, 100); pit.ioWrite(0x42, 1, 0);
  clock.advance(clocks(500));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0x20, 'OUT high: not yet triggered');
  assert.equal(latchRead(pit, 2), 100);
  pit.ioWrite(0x61, 1, 0x01); // trigger
  clock.advance(clocks(40));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0, 'OUT low while the one-shot runs');
  assert.equal(latchRead(pit, 2), 60);
  clock.advance(clocks(100) - clocks(40));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0x20, 'OUT high at terminal count');
  pit.ioWrite(0x43, 1, 0xb4); // mode 2
  pit.ioWrite(0x42, 1, 50); pit.ioWrite(0x42, 1, 0);
  clock.advance(clocks(20));
  assert.equal(latchRead(pit, 2), 30);
  pit.ioWrite(0x61, 1, 0x0c); // gate low; parity/channel-check enables read back
  assert.equal(pit.ioRead(0x61, 1) & 0x2d, 0x2c);
  clock.advance(clocks(200));
  pit.ioWrite(0x61, 1, 0x01);
  clock.advance(clocks(10));
  assert.equal(latchRead(pit, 2), 40, 'restarted from the reload value on the rising edge');
});

test('mode 3 square wave on channel 2: OUT high for the first half period, low for the second', () => {
  const { clock, pit } = setup();
  pit.ioWrite(0x61, 1, 0x03);
  pit.ioWrite(0x43, 1, 0xb6);
  pit.ioWrite(0x42, 1, 1000 & 0xff); pit.ioWrite(0x42, 1, 1000 >> 8);
  clock.advance(clocks(499));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0x20);
  assert.equal(pit.speakerOn(), true);
  clock.advance(clocks(501) - clocks(499));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0);
  clock.advance(clocks(1000) - clocks(501));
  assert.equal(pit.ioRead(0x61, 1) & 0x20, 0x20);
});

test('save → restore continues the count and the periodic interrupt identically', () => {
  const a = setup();
  a.pit.ioWrite(0x43, 1, 0x34); a.pit.ioWrite(0x40, 1, 0x9c); a.pit.ioWrite(0x40, 1, 0x2e); // 11932
  a.pit.ioWrite(0x43, 1, 0xb0); a.pit.ioWrite(0x42, 1, 0x10); // half-written word on ch2
  step(a.clock, 3_333_333, 100_000);
  const state = a.pit.save();
  const b = setup();
  b.clock.setNow(a.clock.nowNs());
  b.pit.restore(state);
  b.pit.ioWrite(0x42, 1, 0x27); a.pit.ioWrite(0x42, 1, 0x27);
  const before = a.irq.pulses;
  step(a.clock, 50_000_000, 100_000);
  step(b.clock, 50_000_000, 100_000);
  assert.equal(b.irq.pulses, a.irq.pulses - before);
  assert.equal(latchRead(b.pit, 0), latchRead(a.pit, 0));
  assert.equal(latchRead(b.pit, 2), latchRead(a.pit, 2));
  const bad = a.pit.save();
  (bad.data['channels'] as { [k: string]: unknown }[])[1]!['mode'] = 9;
  assert.throws(() => b.pit.restore(bad), /mode/);
});

test('hostile: random values at 0x40-0x43 and 0x61, any size, never throw', () => {
  const { clock, pit } = setup();
  hammerPorts(pit, 0x40, 0x43, 6000, 7, () => { clock.advance(3000); clock.runDue(); });
  hammerPorts(pit, 0x61, 0x61, 300, 8);
  step(clock, 1_000_000, 10_000);
});
