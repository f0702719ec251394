import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { Hpet, HPET_SIZE } from '../../../src/vm/devices/hpet.js';
import { FakeIrq, rng } from './fakes.js';

function setup(): { clock: VmClock; pins: FakeIrq[]; hpet: Hpet; legacy: boolean[] } {
  const clock = new VmClock('manual');
  const pins: FakeIrq[] = [];
  for (let i = 0; i < 24; i++) pins.push(new FakeIrq());
  const legacy: boolean[] = [];
  const hpet = new Hpet(clock, (pin) => pins[pin]!, { onLegacyReplacement: (e) => legacy.push(e) });
  return { clock, pins, hpet, legacy };
}

function read(h: Hpet, off: number, size: number): bigint {
  const d = new Uint8Array(size);
  h.mmioRead(off, d);
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(d[i]!);
  return v;
}

function write(h: Hpet, off: number, size: number, v: bigint | number): void {
  const d = new Uint8Array(size);
  let x = BigInt(v);
  for (let i = 0; i < size; i++) { d[i] = Number(x & 0xffn); x >>= 8n; }
  h.mmioWrite(off, d);
}

const TN_LEVEL = 0x2, TN_ENB = 0x4, TN_PERIODIC = 0x8, TN_VAL_SET = 0x40, TN_32 = 0x100;

test('capabilities: vendor 8086, 3 timers, 64-bit counter, legacy-replacement capable, 10 ns period', () => {
  const { hpet } = setup();
  const cap = read(hpet, 0, 8);
  assert.equal(Number(cap & 0xffn), 1, 'revision 1');
  assert.equal(Number((cap >> 8n) & 0x1fn), 2, 'NUM_TIM_CAP = timers - 1');
  assert.equal(Number((cap >> 13n) & 1n), 1);
  assert.equal(Number((cap >> 15n) & 1n), 1);
  assert.equal(Number((cap >> 16n) & 0xffffn), 0x8086);
  assert.equal(read(hpet, 4, 4), 10_000_000n, '32-bit read of the period at offset 4, in femtoseconds');
  assert.equal(read(hpet, 2, 2), 0x8086n);
  const t0 = read(hpet, 0x100, 8);
  assert.equal(Number(t0 & 0x30n), 0x30, 'periodic-capable, 64-bit comparator');
  assert.equal(t0 >> 32n, 0x00f00000n, 'route capability: pins 20-23');
});

test('main counter: halted until ENABLE_CNF, 100 MHz while running, writable only while halted', () => {
  const { clock, hpet } = setup();
  clock.advance(1000);
  assert.equal(read(hpet, 0xf0, 8), 0n);
  write(hpet, 0xf0, 8, 0xfffffffffffffff0n);
  write(hpet, 0x10, 4, 1);
  clock.advance(1000);
  assert.equal(read(hpet, 0xf0, 8), 0x54n, '100 ticks later the 64-bit counter has wrapped');
  write(hpet, 0xf0, 4, 5);
  assert.equal(read(hpet, 0xf4, 4), 0n, 'writes while running are dropped');
  write(hpet, 0x10, 4, 0);
  const stopped = read(hpet, 0xf0, 8);
  clock.advance(5000);
  assert.equal(read(hpet, 0xf0, 8), stopped);
  write(hpet, 0xf4, 4, 0x12345678);
  write(hpet, 0xf0, 4, 0x9abcdef0);
  assert.equal(read(hpet, 0xf0, 8), 0x123456789abcdef0n);
});

test('one-shot edge timer on its routed IOAPIC pin fires when the counter reaches the comparator', () => {
  const { clock, pins, hpet } = setup();
  write(hpet, 0x140, 4, TN_ENB | (21 << 9)); // timer 2 → pin 21
  assert.equal(Number((read(hpet, 0x140, 4) >> 9n) & 0x1fn), 21);
  write(hpet, 0x148, 8, 1000);
  write(hpet, 0x10, 4, 1);
  clock.advance(9_990); clock.runDue();
  assert.equal(pins[21]!.pulses, 0);
  clock.advance(10); clock.runDue();
  assert.equal(pins[21]!.pulses, 1);
  clock.advance(1e9); clock.runDue();
  assert.equal(pins[21]!.pulses, 1, 'one-shot');
  write(hpet, 0x140, 4, TN_ENB | (5 << 9));
  assert.equal(Number((read(hpet, 0x140, 4) >> 9n) & 0x1fn), 21, 'a route outside the capability is ignored');
});

test('periodic timer 0 with the Linux sequence (VAL_SET, then period) under legacy replacement: IRQ0 via pin 2 every period', () => {
  const { clock, pins, hpet, legacy } = setup();
  write(hpet, 0x10, 4, 2);
  assert.deepEqual(legacy, [true]);
  write(hpet, 0x10, 4, 3);
  const now = read(hpet, 0xf0, 4);
  write(hpet, 0x100, 4, TN_ENB | TN_PERIODIC | TN_VAL_SET | TN_32); // Linux uses 32-bit mode
  write(hpet, 0x108, 4, now + 100_000n); // first at +1 ms
  write(hpet, 0x108, 4, 100_000n); // then every 1 ms
  for (let i = 0; i < 100; i++) { clock.advance(100_000); clock.runDue(); }
  assert.equal(pins[2]!.pulses, 10);
  assert.equal(read(hpet, 0x108, 8), 1_100_000n, 'the comparator advanced by the period at each interrupt');
  // Timer 1 under legacy replacement goes to pin 8.
  write(hpet, 0x120, 4, TN_ENB);
  write(hpet, 0x128, 8, read(hpet, 0xf0, 8) + 10n);
  clock.advance(100); clock.runDue();
  assert.equal(pins[8]!.pulses, 1);
});

test('64-bit periodic comparator set with two 32-bit writes under one VAL_SET', () => {
  const { clock, pins, hpet } = setup();
  write(hpet, 0x100, 4, TN_ENB | TN_PERIODIC | TN_VAL_SET | (23 << 9));
  write(hpet, 0x108, 4, 50_000);
  write(hpet, 0x10c, 4, 0);
  assert.equal(read(hpet, 0x108, 8), 50_000n);
  assert.equal(read(hpet, 0x100, 4) & BigInt(TN_VAL_SET), 0n, 'VAL_SET clears once the comparator is written');
  write(hpet, 0x108, 4, 20_000); // without VAL_SET: the period only
  write(hpet, 0x10c, 4, 0);
  assert.equal(read(hpet, 0x108, 8), 50_000n);
  write(hpet, 0x10, 4, 1);
  for (let i = 0; i < 11; i++) { clock.advance(100_000); clock.runDue(); }
  assert.equal(pins[23]!.pulses, 4, 'in 1.1 ms (110,000 ticks): at 50k, 70k, 90k and 110k');
});

test('level-triggered timer: status bit and line held until the status bit is written with 1', () => {
  const { clock, pins, hpet } = setup();
  write(hpet, 0x120, 8, TN_ENB | TN_LEVEL | (20 << 9));
  write(hpet, 0x128, 8, 50);
  write(hpet, 0x10, 8, 1);
  clock.advance(500); clock.runDue();
  assert.equal(read(hpet, 0x20, 4), 2n);
  assert.equal(pins[20]!.level, true);
  write(hpet, 0x20, 4, 1); // wrong bit: no effect
  assert.equal(pins[20]!.level, true);
  write(hpet, 0x20, 4, 2);
  assert.equal(read(hpet, 0x20, 4), 0n);
  assert.equal(pins[20]!.level, false);
});

test('32-bit mode truncates the comparator and matches on the low 32 bits of the counter', () => {
  const { clock, pins, hpet } = setup();
  write(hpet, 0xf0, 8, 0x1_0000_0000n);
  write(hpet, 0x140, 4, TN_ENB | TN_32 | (22 << 9));
  write(hpet, 0x148, 8, 0x5_0000_0040n);
  assert.equal(read(hpet, 0x148, 8), 0x40n);
  write(hpet, 0x10, 4, 1);
  clock.advance(640); clock.runDue();
  assert.equal(pins[22]!.pulses, 1);
});

test('save → restore continues counter and periodic interrupts identically', () => {
  const a = setup();
  write(a.hpet, 0x100, 4, TN_ENB | TN_PERIODIC | TN_VAL_SET | (20 << 9));
  write(a.hpet, 0x108, 8, 30_000);
  write(a.hpet, 0x108, 8, 70_000);
  write(a.hpet, 0x10, 4, 1);
  a.clock.advance(1_234_567); a.clock.runDue();
  const state = a.hpet.save();
  const b = setup();
  b.clock.setNow(a.clock.nowNs());
  b.hpet.restore(state);
  const base = a.pins[20]!.pulses;
  for (const x of [a, b]) for (let i = 0; i < 50; i++) { x.clock.advance(100_000); x.clock.runDue(); }
  assert.equal(b.pins[20]!.pulses, a.pins[20]!.pulses - base);
  assert.equal(read(b.hpet, 0xf0, 8), read(a.hpet, 0xf0, 8));
  assert.equal(read(b.hpet, 0x108, 8), read(a.hpet, 0x108, 8));
  assert.throws(() => b.hpet.restore({ ...state, data: { ...state.data, counterBase: -1n } }), /counterBase/);
});

test('hostile: random data at every offset with every access length never throws', () => {
  const { clock, hpet } = setup();
  const r = rng(51);
  for (let i = 0; i < 20000; i++) {
    const len = 1 + (r() % 16);
    const off = r() % (HPET_SIZE - len + 1);
    const d = new Uint8Array(len);
    for (let j = 0; j < len; j++) d[j] = r() & 0xff;
    if (r() & 1) hpet.mmioWrite(off, d); else hpet.mmioRead(off, d);
    if (i % 64 === 0) { clock.advance(r() % 1_000_000); clock.runDue(); }
  }
  assert.equal(read(hpet, 4, 4), 10_000_000n, 'capabilities stay read-only');
});
