import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { AcpiPm, type AcpiPmOptions } from '../../../src/vm/devices/acpi-pm.js';
import { FakeIrq, FakePlatform, hammerPorts } from './fakes.js';

const B = 0x600;

function setup(opts: Partial<AcpiPmOptions> = {}): { clock: VmClock; sci: FakeIrq; p: FakePlatform; pm: AcpiPm } {
  const clock = new VmClock('manual');
  const sci = new FakeIrq();
  const p = new FakePlatform();
  return { clock, sci, p, pm: new AcpiPm(clock, sci, p, { s5SleepType: 5, ...opts }) };
}

test('PM timer counts at 3.579545 MHz and wraps at 24 bits (or 32 with TMR_VAL_EXT)', () => {
  const { clock, pm } = setup();
  assert.equal(pm.ioRead(B + 8, 4), 0);
  clock.advance(1e9);
  assert.equal(pm.ioRead(B + 8, 4), 3_579_545);
  clock.advance(4e9); // 5 s = 17,897,725 ticks, past 2^24
  assert.equal(pm.ioRead(B + 8, 4), 17_897_725 - 0x1000000);
  assert.equal(pm.ioRead(B + 8, 1), (17_897_725 - 0x1000000) & 0xff, 'byte reads see the same counter');
  const w = setup({ timer32: true });
  w.clock.advance(5e9);
  assert.equal(w.pm.ioRead(B + 8, 4), 17_897_725);
});

test('TMR_STS is set when bit 23 changes; with TMR_EN it raises the SCI at that moment; writing 1 clears it', () => {
  const { clock, sci, pm } = setup();
  pm.ioWrite(B + 2, 2, 0x0001);
  const carryNs = Math.ceil((2 ** 23 * 1e9) / 3_579_545); // 2.3435 s
  clock.advance(carryNs - 1); clock.runDue();
  assert.equal(sci.level, false);
  assert.equal(pm.ioRead(B, 2) & 1, 0);
  clock.advance(1); clock.runDue();
  assert.equal(sci.level, true);
  assert.equal(pm.ioRead(B, 2) & 1, 1);
  pm.ioWrite(B, 2, 0x0001);
  assert.equal(sci.level, false);
  assert.equal(pm.ioRead(B, 2) & 1, 0);
  clock.advance(carryNs); clock.runDue();
  assert.equal(sci.level, true, 'bit 23 falling also sets TMR_STS');
});

test('power button: PWRBTN_STS always, SCI only when PWRBTN_EN and SCI_EN', () => {
  const { sci, pm } = setup();
  pm.pressPowerButton();
  assert.equal(pm.ioRead(B, 2) & 0x0100, 0x0100);
  assert.equal(sci.level, false);
  pm.ioWrite(B + 2, 2, 0x0100);
  assert.equal(sci.level, true);
  pm.ioWrite(B + 4, 2, 0x0000); // SCI_EN off
  assert.equal(sci.level, false);
  pm.ioWrite(B + 4, 2, 0x0001);
  assert.equal(sci.level, true);
  pm.ioWrite(B + 1, 1, 0x01); // clear PWRBTN_STS through a byte write of the high half
  assert.equal(sci.level, false);
  assert.equal(pm.ioRead(B + 2, 2), 0x0100);
  const legacy = setup({ sciEnabledAtReset: false });
  assert.equal(legacy.pm.ioRead(B + 4, 2) & 1, 0);
});

test('SLP_EN with the DSDT S5 type requests power-off; other types do not; SLP_EN reads 0', () => {
  const { p, pm } = setup();
  pm.ioWrite(B + 4, 2, (1 << 10) | 0x2000 | 1);
  assert.equal(p.powerOffs, 0);
  assert.equal(pm.ioRead(B + 4, 2), (1 << 10) | 1);
  pm.ioWrite(B + 4, 2, (5 << 10) | 1);
  assert.equal(p.powerOffs, 0, 'type without SLP_EN');
  pm.ioWrite(B + 4, 2, (5 << 10) | 0x2000 | 1);
  assert.equal(p.powerOffs, 1);
  const q = setup({ s5SleepType: 0 });
  q.pm.ioWrite(B + 4, 2, 0x2000);
  assert.equal(q.p.powerOffs, 1, 'QEMU-style \\_S5 = 0');
});

test('reset register: the configured value resets, others do nothing', () => {
  const { p, pm } = setup();
  pm.ioWrite(B + 0x0c, 1, 0x02);
  assert.equal(p.resets.length, 0);
  pm.ioWrite(B + 0x0c, 1, 0x06);
  assert.equal(p.resets.length, 1);
  const q = setup({ resetValue: 0x0f, base: 0xb000 });
  q.pm.ioWrite(0xb00c, 1, 0x0f);
  assert.equal(q.p.resets.length, 1);
});

test('GPE0: status set by the host, write-1-to-clear, SCI when enabled', () => {
  const { sci, pm } = setup();
  pm.raiseGpe(3);
  pm.raiseGpe(17);
  assert.equal(pm.ioRead(B + 0x20, 4), (1 << 3) | (1 << 17));
  assert.equal(sci.level, false);
  pm.ioWrite(B + 0x24, 4, 1 << 17);
  assert.equal(sci.level, true);
  pm.ioWrite(B + 0x20, 4, 1 << 17);
  assert.equal(sci.level, false);
  assert.equal(pm.ioRead(B + 0x20, 4), 1 << 3);
  assert.throws(() => pm.raiseGpe(32), RangeError);
});

test('save → restore keeps status, enables and the TMR_STS schedule', () => {
  const a = setup();
  a.pm.ioWrite(B + 2, 2, 0x0101);
  a.pm.pressPowerButton();
  a.clock.advance(1.5e9); a.clock.runDue();
  const state = a.pm.save();
  const b = setup();
  b.clock.setNow(a.clock.nowNs());
  b.pm.restore(state);
  assert.equal(b.sci.level, true);
  for (const x of [a, b]) x.pm.ioWrite(B, 2, 0x0100);
  const trace = (x: ReturnType<typeof setup>): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 20; i++) { x.clock.advance(250e6); x.clock.runDue(); out.push(x.sci.level ? 1 : 0, x.pm.ioRead(B, 2), x.pm.ioRead(B + 8, 4)); }
    return out;
  };
  assert.deepEqual(trace(b), trace(a));
  assert.throws(() => b.pm.restore({ ...state, data: { ...state.data, sts: 'x' } }), /sts/);
});

test('hostile: random values at every port of the block, any size, never throw', () => {
  const { clock, pm } = setup();
  hammerPorts(pm, B - 4, B + AcpiPm.LENGTH + 3, 10000, 41, () => { clock.advance(10_000_000); clock.runDue(); });
});
