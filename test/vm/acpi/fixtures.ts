/** A PC configuration built from the devices' own constants, and access to the tables of an image. */
import type { AcpiConfig } from '../../../src/vm/acpi/acpi-config.js';
import type { AcpiImage, AcpiTableInfo } from '../../../src/vm/acpi/build-acpi-tables.js';
import { APIC_DEFAULT_BASE } from '../../../src/vm/apic/apic-constants.js';
import { IOAPIC_DEFAULT_BASE, IOAPIC_PINS } from '../../../src/vm/apic/ioapic.js';
import { Hpet, HPET_BASE } from '../../../src/vm/devices/hpet.js';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { CMOS_CENTURY } from '../../../src/vm/devices/mc146818-rtc.js';
import { ECAM_DEFAULT_BASE } from '../../../src/vm/pci/pci-ecam.js';
import { standardSwizzle } from '../../../src/vm/pci/pci-intx.js';

export const BASE = 0xe0000;
/** The low half of the real HPET model's capabilities register, as the machine would take it. */
export function hpetBlockId(): number {
  const hpet = new Hpet(new VmClock('manual'), () => ({ set: () => {}, pulse: () => {} }));
  return Number(hpet.capabilities() & 0xffffffffn);
}

export function pcConfig(overrides: Partial<AcpiConfig> = {}): AcpiConfig {
  return {
    cpuCount: 4,
    localApicAddress: APIC_DEFAULT_BASE,
    ioApic: { id: 0, address: IOAPIC_DEFAULT_BASE, pins: IOAPIC_PINS },
    hpet: { address: HPET_BASE, eventTimerBlockId: hpetBlockId() },
    pci: {
      ecamBase: ECAM_DEFAULT_BASE, busStart: 0, busEnd: 255,
      mmio32: { base: 0xc0000000, length: 0xfec00000 - 0xc0000000 },
      mmio64: { base: 0x10_0000_0000, length: 0x10_0000_0000 },
      intxSwizzle: standardSwizzle,
    },
    pm: { base: 0x600, timer32: false, resetValue: 0x06, s5SleepType: 7 },
    sciIrq: 9,
    serialPorts: [{ base: 0x3f8, irq: 4 }, { base: 0x2f8, irq: 3 }],
    ps2Mouse: true,
    rtcCenturyIndex: CMOS_CENTURY,
    ...overrides,
  };
}

export function tableInfo(img: AcpiImage, signature: string): AcpiTableInfo {
  const t = img.tables.find((x) => x.signature === signature);
  if (t === undefined) throw new Error(`no ${signature} in the image`);
  return t;
}

/** The bytes of a table at its guest address, read out of the image. */
export function tableAt(img: AcpiImage, address: number, length: number): Uint8Array {
  const off = address - BASE;
  if (off < 0 || off + length > img.image.length) throw new Error(`[${address.toString(16)}, +${length}) is outside the image`);
  return img.image.subarray(off, off + length);
}

export function table(img: AcpiImage, signature: string): Uint8Array {
  const t = tableInfo(img, signature);
  return tableAt(img, t.address, t.length);
}

export function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

export function sum8(b: Uint8Array): number { return b.reduce((s, x) => (s + x) & 0xff, 0); }

export function ascii(b: Uint8Array, at: number, n: number): string { return Buffer.from(b.subarray(at, at + n)).toString('latin1'); }
