import test from 'node:test';
import assert from 'node:assert/strict';
import { machine, mmioRead32, mmioWrite32, enable } from './helpers.js';
import { IoApic } from '../../../src/vm/apic/ioapic.js';
import { ApicMmioWindow } from '../../../src/vm/apic/apic-mmio-window.js';
import { MmioBus } from '../../../src/vm/bus/mmio-bus.js';
import { PciRoot } from '../../../src/vm/pci/pci-root.js';
import { PciIntxRouter, standardSwizzle } from '../../../src/vm/pci/pci-intx.js';
import { PciFunction } from '../../../src/vm/pci/pci-function.js';
import { MsiCapability } from '../../../src/vm/pci/pci-msi.js';

test('the APIC page shows each processor its own APIC', () => {
  const m = machine(2);
  let cpu = 0;
  const mmio = new MmioBus();
  mmio.register(0xfee00000, 0x1000, new ApicMmioWindow(() => m.apics[cpu]), 'local-apic');
  const d = new Uint8Array(4);
  mmio.read(0xfee00020, d);
  assert.equal(new DataView(d.buffer).getUint32(0, true), 0);
  cpu = 1;
  mmio.read(0xfee00020, d);
  assert.equal(new DataView(d.buffer).getUint32(0, true), 1 << 24);
});

test('PCI INTx -> IOAPIC (level, active) -> local APIC, with EOI re-delivery while the device holds the line', () => {
  const m = machine(1);
  const apic = m.apics[0]!;
  enable(apic);
  const io = new IoApic(m.bus);
  const root = new PciRoot(new PciIntxRouter(standardSwizzle, (gsi) => io.pin(gsi)));
  const dev = new PciFunction({ name: 'dev', vendorId: 0x1234, deviceId: 0x11, classCode: 0xff0000, interruptPin: 1 });
  root.add(0, 5, 0, dev); // INTA# of device 5 -> GSI 16 + 5 % 4 = 17
  mmioWrite32(io, 0, 0x10 + 2 * 17); mmioWrite32(io, 0x10, 0x0000a0b0); // vector 0xb0, level, active low (polarity stored only)
  dev.setIntx(true);
  assert.equal(apic.acknowledge(), 0xb0);
  mmioWrite32(apic, 0xb0, 0);
  assert.equal(apic.acknowledge(), 0xb0, 'still asserted after EOI: delivered again');
  dev.setIntx(false);
  mmioWrite32(apic, 0xb0, 0);
  assert.equal(apic.pendingVector(), -1);
});

test('PCI MSI through the APIC bus lands in the addressed APIC', () => {
  const m = machine(2);
  for (const a of m.apics) enable(a);
  const dev = new PciFunction({ name: 'dev', vendorId: 0x1234, deviceId: 0x11, classCode: 0xff0000 });
  const msi = new MsiCapability(dev, m.bus, { vectors: 1, is64bit: false });
  dev.writeConfig(0x04, 2, 0x0004);
  dev.writeConfig(msi.offset + 4, 4, 0xfee01000);
  dev.writeConfig(msi.offset + 8, 2, 0x0042);
  dev.writeConfig(msi.offset + 2, 2, 0x0001);
  msi.notify();
  assert.deepEqual(m.apics.map((a) => a.pendingVector()), [-1, 0x42]);
  assert.equal(mmioRead32(m.apics[1]!, 0x200 + 0x20), 1 << 2, 'IRR bit 0x42');
});
