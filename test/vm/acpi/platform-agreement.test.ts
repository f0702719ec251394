/**
 * The tables against the device models they describe: the FADT's reset register, PM1a control
 * block and PM timer are driven on a real AcpiPm built with the same options, using the S5 sleep
 * type that ACPICA reads out of the DSDT; the HPET table's block ID is read back from the HPET.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildAcpiTables } from '../../../src/vm/acpi/build-acpi-tables.js';
import type { AcpiConfig } from '../../../src/vm/acpi/acpi-config.js';
import { AcpiPm } from '../../../src/vm/devices/acpi-pm.js';
import { Hpet } from '../../../src/vm/devices/hpet.js';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { FakeIrq, FakePlatform } from '../devices/fakes.js';
import { acpiexec, withTempDir } from './acpica.js';
import { BASE, pcConfig, table, view } from './fixtures.js';

const SLP_EN = 1 << 13;

/** What an OS takes from the FADT to power off, reset and read the timer. */
function fadtRegisters(fadt: Uint8Array): { pm1aCnt: number; pmTmr: number; resetPort: number; resetValue: number; timer32: boolean } {
  const f = view(fadt);
  assert.equal(f.getUint8(116), 1, 'RESET_REG is in I/O space');
  return {
    pm1aCnt: Number(f.getBigUint64(172 + 4, true)),
    pmTmr: Number(f.getBigUint64(208 + 4, true)),
    resetPort: Number(f.getBigUint64(116 + 4, true)),
    resetValue: f.getUint8(128),
    timer32: (f.getUint32(112, true) & 0x100) !== 0,
  };
}

/** SLP_TYPa of \_S5 as ACPICA evaluates it from the DSDT. */
function s5SleepTypeFromDsdt(dsdt: Uint8Array): number {
  const out = withTempDir((dir) => acpiexec(dir, [{ name: 'dsdt.dat', data: dsdt }], ['evaluate \\_S5']).output);
  const m = /Evaluation of \\_S5 returned[^\n]*\n\s*\[Package\] Contains 4 Elements:\s*\n\s*\[Integer\] = ([0-9A-F]+)/.exec(out);
  assert.ok(m, `acpiexec did not evaluate \\_S5:\n${out}`);
  return parseInt(m[1]!, 16);
}

function machine(pm: AcpiConfig['pm']): { clock: VmClock; platform: FakePlatform; device: AcpiPm; regs: ReturnType<typeof fadtRegisters>; s5: number } {
  const img = buildAcpiTables(pcConfig({ pm }), BASE);
  const clock = new VmClock('manual');
  const platform = new FakePlatform();
  const device = new AcpiPm(clock, new FakeIrq(), platform, { base: pm.base, s5SleepType: pm.s5SleepType, timer32: pm.timer32, resetValue: pm.resetValue });
  return { clock, platform, device, regs: fadtRegisters(table(img, 'FACP')), s5: s5SleepTypeFromDsdt(table(img, 'DSDT')) };
}

for (const pm of [
  { base: 0x600, timer32: false, resetValue: 0x06, s5SleepType: 7 },
  { base: 0x600, timer32: false, resetValue: 0x06, s5SleepType: 0 },
  { base: 0xb000, timer32: true, resetValue: 0x0f, s5SleepType: 5 },
]) {
  test(`an OS following the tables powers off, resets and reads the timer (PM at 0x${pm.base.toString(16)}, S5 type ${pm.s5SleepType})`, () => {
    const m = machine(pm);
    assert.equal(m.s5, pm.s5SleepType);
    // Another sleep type with SLP_EN must not power off: the value from \_S5 is what matters.
    m.device.ioWrite(m.regs.pm1aCnt, 2, (((m.s5 + 1) & 7) << 10) | SLP_EN | 1);
    assert.equal(m.platform.powerOffs, 0);
    m.device.ioWrite(m.regs.pm1aCnt, 2, (m.s5 << 10) | SLP_EN | 1);
    assert.equal(m.platform.powerOffs, 1, 'SLP_TYP from \\_S5 with SLP_EN at the FADT PM1a_CNT powers off');
    m.device.ioWrite(m.regs.resetPort, 1, m.regs.resetValue);
    assert.equal(m.platform.resets.length, 1, 'RESET_VALUE at RESET_REG resets');
    m.clock.advance(6e9); // 21.5 M ticks: past 2^24
    const ticks = m.device.ioRead(m.regs.pmTmr, 4);
    assert.equal(m.regs.timer32, pm.timer32);
    if (m.regs.timer32) assert.ok(ticks >= 2 ** 24, `32-bit timer reads ${ticks}`);
    else assert.ok(ticks < 2 ** 24, `24-bit timer reads ${ticks}`);
  });
}

test('the HPET table carries the HPET\'s own capabilities ID', () => {
  const hpet = new Hpet(new VmClock('manual'), () => new FakeIrq());
  const cap = new Uint8Array(4);
  hpet.mmioRead(0, cap);
  const img = buildAcpiTables(pcConfig(), BASE);
  assert.equal(view(table(img, 'HPET')).getUint32(36, true), view(cap).getUint32(0, true));
});
