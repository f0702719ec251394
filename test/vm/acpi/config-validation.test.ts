/** Impossible machine descriptions are refused with a UserError that names the field and the rule. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/common/errors.js';
import { buildAcpiTables } from '../../../src/vm/acpi/build-acpi-tables.js';
import type { AcpiConfig } from '../../../src/vm/acpi/acpi-config.js';
import { BASE, pcConfig, table } from './fixtures.js';

function rejects(change: (c: AcpiConfig) => void, message: RegExp): void {
  const c = pcConfig();
  c.pci = { ...c.pci };
  c.pm = { ...c.pm };
  c.ioApic = { ...c.ioApic };
  change(c);
  assert.throws(() => buildAcpiTables(c, BASE), (e: unknown) => e instanceof UserError && message.test(e.message), message.source);
}

test('processor, APIC and HPET fields', () => {
  rejects((c) => { c.cpuCount = 0; }, /^ACPI config: cpuCount = 0 must be an integer in 1\.\.255$/);
  rejects((c) => { c.cpuCount = 256; }, /cpuCount = 256/);
  rejects((c) => { c.cpuCount = 2.5; }, /cpuCount = 2\.5/);
  rejects((c) => { c.localApicAddress = 0xfee00100; }, /localApicAddress = 0xfee00100 must be aligned to 0x1000/);
  rejects((c) => { c.ioApic.id = 16; }, /ioApic\.id = 16/);
  rejects((c) => { c.ioApic.pins = 8; }, /ioApic\.pins = 8/);
  rejects((c) => { c.hpet = { address: 0xfed00100, eventTimerBlockId: 0 }; }, /hpet\.address = 0xfed00100 must be aligned to 0x400/);
  rejects((c) => { c.hpet = { address: 0xfed00000, eventTimerBlockId: -1 }; }, /hpet\.eventTimerBlockId/);
});

test('PCI windows, bus range and INTx wiring', () => {
  rejects((c) => { c.pci.busEnd = 256; }, /pci\.busEnd = 256/);
  rejects((c) => { c.pci.busStart = 5; c.pci.busEnd = 4; }, /pci\.busEnd = 4 must be an integer in 5\.\.255/);
  rejects((c) => { c.pci.ecamBase = 0xb0080000; }, /pci\.ecamBase = 0xb0080000 must be aligned to 0x100000/);
  rejects((c) => { c.pci.mmio32 = { base: 0xf0000000, length: 0x20000000 }; }, /pci\.mmio32\.length/);
  rejects((c) => { c.pci.mmio32 = { base: 0xa0000000, length: 0x20000000 }; }, /pci\.ecamBase \[0xb0000000, 0xc0000000\) overlaps pci\.mmio32/);
  rejects((c) => { c.pci.mmio32 = { base: 0xc0000000, length: 0x3ec01000 }; }, /ioApic\.address \[0xfec00000, 0xfec01000\) overlaps pci\.mmio32/);
  rejects((c) => { c.pci.mmio64 = { base: 0x8000_0000, length: 0x1000 }; }, /pci\.mmio64\.base = 0x80000000 must be an integer in 0x100000000/);
  rejects((c) => { c.pci.intxSwizzle = (d, p) => 10 + ((d + p) & 3); }, /pci\.intxSwizzle maps device 0 INTA to GSI 10, not an IOAPIC pin above the ISA IRQs \(16\.\.23\)/);
  rejects((c) => { c.pci.intxSwizzle = () => 24; }, /GSI 24/);
});

test('PM block, SCI and ISA devices', () => {
  rejects((c) => { c.pm.s5SleepType = 8; }, /pm\.s5SleepType = 8/);
  rejects((c) => { c.pm.resetValue = 0x100; }, /pm\.resetValue/);
  rejects((c) => { c.pm.base = 0xffe0; }, /pm\.base = 0xffe0 must be an integer in 0x1\.\.0xffd0/);
  rejects((c) => { c.pm.base = 0xce0; }, /pm\.base \[0xce0, 0xd10\) overlaps the PCI configuration ports/);
  rejects((c) => { c.sciIrq = 2; }, /sciIrq = 2 is taken by the 8259 cascade/);
  rejects((c) => { c.sciIrq = 8; }, /sciIrq = 8 is taken by the RTC/);
  rejects((c) => { c.sciIrq = 4; }, /sciIrq = 4 is taken by serialPorts\[0\]; the SCI is level-triggered/);
  rejects((c) => { c.serialPorts = [{ base: 0x3f8, irq: 12 }]; }, /serialPorts\[0\]\.irq = 12 is taken by the PS\/2 mouse/);
  rejects((c) => { c.sciIrq = 16; }, /sciIrq = 16/);
  rejects((c) => { c.serialPorts = [{ base: 0x3f8, irq: 4 }, { base: 0x3f8, irq: 3 }]; }, /serialPorts\[0\] .* overlaps serialPorts\[1\]/);
  rejects((c) => { c.serialPorts = [{ base: 0x3fc, irq: 4 }]; }, /serialPorts\[0\]\.base = 0x3fc must be aligned to 0x8/);
  rejects((c) => { c.serialPorts = [1, 2, 3, 4, 5].map((i) => ({ base: 0x100 * i, irq: 4 })); }, /serialPorts lists 5 UARTs/);
  rejects((c) => { c.rtcCenturyIndex = 0x80; }, /rtcCenturyIndex/);
});

test('a machine with one CPU, no HPET, no mouse, no serial ports and no 64-bit window still gets valid tables', () => {
  const img = buildAcpiTables(pcConfig({ cpuCount: 1, hpet: undefined, ps2Mouse: false, serialPorts: [], pci: { ...pcConfig().pci, mmio64: undefined } }), BASE);
  const dsdt = Buffer.from(table(img, 'DSDT'));
  for (const absent of ['MOU_', 'COM1', 'HPET', 'C001']) assert.equal(dsdt.indexOf(absent), -1, absent);
  assert.equal(dsdt.indexOf(Buffer.from([0x8a, 0x2b, 0x00])), -1, 'no QWord memory window');
});
