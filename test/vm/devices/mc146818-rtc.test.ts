import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { Mc146818Rtc } from '../../../src/vm/devices/mc146818-rtc.js';
import { FakeIrq, hammerPorts } from './fakes.js';

// Thursday 29 February 2024, 23:59:58 UTC
const START = Date.UTC(2024, 1, 29, 23, 59, 58);

function setup(start = START): { clock: VmClock; irq: FakeIrq; rtc: Mc146818Rtc } {
  const clock = new VmClock('manual');
  const irq = new FakeIrq();
  return { clock, irq, rtc: new Mc146818Rtc(clock, irq, start) };
}

const rd = (rtc: Mc146818Rtc, i: number): number => { rtc.ioWrite(0x70, 1, i); return rtc.ioRead(0x71, 1); };
const wr = (rtc: Mc146818Rtc, i: number, v: number): void => { rtc.ioWrite(0x70, 1, i); rtc.ioWrite(0x71, 1, v); };
const time = (rtc: Mc146818Rtc): number[] => [0, 2, 4, 6, 7, 8, 9, 0x32].map((i) => rd(rtc, i));

function step(clock: VmClock, ns: number, stepNs: number): void {
  for (let t = 0; t < ns; t += stepNs) { clock.advance(Math.min(stepNs, ns - t)); clock.runDue(); }
}

test('time registers in BCD, 24-hour, and the leap-day rollover to 1 March', () => {
  const { clock, rtc } = setup();
  assert.deepEqual(time(rtc), [0x58, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20]);
  clock.advance(2e9);
  assert.deepEqual(time(rtc), [0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20]);
  assert.equal(rd(rtc, 0x0d), 0x80, 'register D: valid RAM and time');
});

test('binary mode and 12-hour mode per register B', () => {
  const { rtc } = setup();
  wr(rtc, 0x0b, 0x04); // DM=1 binary, 24/12 = 0: 12-hour
  assert.equal(rd(rtc, 0), 58);
  assert.equal(rd(rtc, 4), 0x80 | 11, '23:00 is 11 PM');
  wr(rtc, 0x0b, 0x00); // BCD, 12-hour
  assert.equal(rd(rtc, 4), 0x91);
});

test('SET stops updates; the written time runs from SET clear', () => {
  const { clock, rtc } = setup();
  wr(rtc, 0x0b, 0x82);
  wr(rtc, 4, 0x12); wr(rtc, 2, 0x34); wr(rtc, 0, 0x56);
  wr(rtc, 7, 0x15); wr(rtc, 8, 0x08); wr(rtc, 9, 0x99); wr(rtc, 0x32, 0x19);
  clock.advance(5e9);
  assert.deepEqual([rd(rtc, 4), rd(rtc, 2), rd(rtc, 0)], [0x12, 0x34, 0x56]);
  assert.equal(rd(rtc, 0x0a) & 0x80, 0, 'no update in progress while SET');
  wr(rtc, 0x0b, 0x02);
  clock.advance(3.5e9);
  assert.deepEqual([rd(rtc, 4), rd(rtc, 2), rd(rtc, 0), rd(rtc, 9), rd(rtc, 0x32)], [0x12, 0x34, 0x59, 0x99, 0x19]);
  assert.equal(rtc.epochSeconds(), Date.UTC(1999, 7, 15, 12, 34, 59) / 1000);
});

test('writing a time register while running keeps the clock going from the new value', () => {
  const { clock, rtc } = setup(Date.UTC(2030, 0, 1, 10, 0, 0));
  wr(rtc, 2, 0x45);
  clock.advance(61e9);
  assert.deepEqual([rd(rtc, 4), rd(rtc, 2), rd(rtc, 0)], [0x10, 0x46, 0x01]);
});

test('UIP is set in the 244+1984 µs before each update and clear otherwise', () => {
  const { clock, rtc } = setup(Date.UTC(2030, 0, 1)); // starts on a second boundary
  clock.advance(500e6);
  assert.equal(rd(rtc, 0x0a), 0x26);
  clock.advance(500e6 - 2_300_000);
  assert.equal(rd(rtc, 0x0a) & 0x80, 0);
  clock.advance(100_000);
  assert.equal(rd(rtc, 0x0a) & 0x80, 0x80);
  const before = rd(rtc, 0);
  clock.advance(2_200_000);
  assert.equal(rd(rtc, 0x0a) & 0x80, 0);
  assert.equal(rd(rtc, 0), before + 1, 'the new second is visible once UIP falls');
});

test('periodic interrupt at 1024 Hz (rate 6) with PIE: IRQ8 until register C is read', () => {
  const { clock, irq, rtc } = setup();
  wr(rtc, 0x0b, 0x42);
  let count = 0;
  for (let t = 0; t < 1000; t++) {
    clock.advance(100_000); clock.runDue();
    if (irq.level) {
      count++;
      assert.equal(rd(rtc, 0x0c) & 0xc0, 0xc0, 'IRQF and PF');
      assert.equal(irq.level, false, 'reading C lowers IRQ8');
    }
  }
  assert.equal(count, 102, '100 ms at 976.5625 µs per interrupt');
  assert.equal(rd(rtc, 0x0c), 0, 'flags cleared on read');
});

test('rate 15 gives 2 Hz; rates 1 and 2 equal 8 and 9 (3.90625 and 7.8125 ms)', () => {
  for (const [rate, periodNs] of [[15, 500e6], [1, 3_906_250], [2, 7_812_500]] as const) {
    const { clock, irq, rtc } = setup();
    wr(rtc, 0x0a, 0x20 | rate);
    wr(rtc, 0x0b, 0x42);
    clock.advance(periodNs - 1); clock.runDue();
    assert.equal(irq.level, false, `rate ${rate} not yet`);
    clock.advance(1); clock.runDue();
    assert.equal(irq.level, true, `rate ${rate} fires`);
  }
});

test('PF is set without PIE (polled), but no interrupt', () => {
  const { clock, irq, rtc } = setup();
  clock.advance(2e6); clock.runDue();
  assert.equal(irq.rises, 0);
  assert.equal(rd(rtc, 0x0c), 0x40);
});

test('update-ended interrupt once a second with UIE; SET clears UIE', () => {
  const { clock, irq, rtc } = setup(Date.UTC(2030, 0, 1));
  wr(rtc, 0x0b, 0x12);
  step(clock, 3e9, 10e6);
  assert.equal(irq.rises, 1, 'held until C is read');
  assert.equal(rd(rtc, 0x0c) & 0x90, 0x90, 'IRQF and UF (PF also runs at the default rate)');
  step(clock, 1e9, 10e6);
  assert.equal(irq.rises, 2);
  wr(rtc, 0x0b, 0x92);
  assert.equal(rd(rtc, 0x0b), 0x82);
});

test('alarm interrupt at the programmed time; 0xC0 fields match any value', () => {
  const { clock, irq, rtc } = setup(Date.UTC(2030, 0, 1, 8, 30, 0));
  wr(rtc, 1, 0x05); wr(rtc, 3, 0x30); wr(rtc, 5, 0x08);
  wr(rtc, 0x0b, 0x22);
  step(clock, 4.9e9, 100e6);
  assert.equal(irq.level, false);
  step(clock, 0.2e9, 100e6);
  assert.equal(irq.level, true);
  assert.equal(rd(rtc, 0x0c) & 0xa0, 0xa0);
  wr(rtc, 5, 0xc0); wr(rtc, 3, 0xff); wr(rtc, 1, 0x07);
  step(clock, 60e9, 500e6);
  assert.equal(rd(rtc, 0x0c) & 0x20, 0x20, 'second 07 of some minute matched');
});

test('NMI mask bit, CMOS RAM in both banks, and the memory-size bytes', () => {
  const { rtc } = setup();
  rtc.ioWrite(0x70, 1, 0x8f);
  assert.equal(rtc.nmiMasked(), true);
  rtc.ioWrite(0x71, 1, 0x5a);
  rtc.ioWrite(0x70, 1, 0x0f);
  assert.equal(rtc.nmiMasked(), false);
  assert.equal(rtc.ioRead(0x71, 1), 0x5a);
  rtc.ioWrite(0x72, 1, 0x0f);
  rtc.ioWrite(0x73, 1, 0xa5);
  assert.equal(rtc.cmosByte(0x8f), 0xa5);
  assert.equal(rd(rtc, 0x0f), 0x5a, 'upper bank is separate');
  rtc.setMemorySize(512 * 2 ** 20, 2 ** 30);
  const bytes = [0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d].map((i) => rtc.cmosByte(i));
  // 640 KiB base; 511 MiB extended caps at 0xffff KiB; (512-16) MiB / 64 KiB = 0x1f00; 1 GiB / 64 KiB = 0x4000
  assert.deepEqual(bytes, [0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x1f, 0x00, 0x40, 0x00]);
  assert.throws(() => rtc.setCmosByte(0x0b, 1), RangeError);
});

test('save → restore continues time, flags and periodic interrupts identically', () => {
  const a = setup();
  wr(a.rtc, 0x0a, 0x2a); // 64 Hz
  wr(a.rtc, 0x0b, 0x52);
  step(a.clock, 1.234e9, 1e6);
  a.rtc.ioWrite(0x70, 1, 0x0c);
  const state = a.rtc.save();
  const b = setup(0);
  b.clock.setNow(a.clock.nowNs());
  b.rtc.restore(state);
  assert.equal(b.irq.level, a.irq.level);
  const trace = (x: { clock: VmClock; irq: FakeIrq; rtc: Mc146818Rtc }): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 300; i++) {
      x.clock.advance(7e6); x.clock.runDue();
      if (x.irq.level) out.push(i, x.rtc.ioRead(0x71, 1));
    }
    out.push(...time(x.rtc));
    return out;
  };
  assert.deepEqual(trace(b), trace(a));
  assert.throws(() => b.rtc.restore({ ...state, id: 'pc.pit' }), /record is for 'pc.pit'/);
  assert.throws(() => b.rtc.restore({ ...state, data: { ...state.data, cmos: new Uint8Array(3) } }), /cmos/);
  assert.throws(() => b.rtc.restore({ ...state, data: { ...state.data, baseNs: -1e300 } }), /baseNs/);
  assert.deepEqual(time(b.rtc), time(a.rtc), 'a refused record leaves the device unchanged');
});

test('hostile: random values at 0x70-0x73, any size, never throw', () => {
  const { clock, rtc } = setup();
  hammerPorts(rtc, 0x70, 0x73, 8000, 11, () => { clock.advance(1_000_003); clock.runDue(); });
  step(clock, 3e9, 1e6);
  assert.equal(rd(rtc, 0x0d), 0x80, 'register D stays read-only');
});
