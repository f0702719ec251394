/**
 * Everything machine-specific the ACPI tables describe, and its validation. The machine builds
 * this from the same values it gives the devices (AcpiPm options, HPET capabilities, the PCI INTx
 * swizzle), so the tables cannot drift from the hardware they describe.
 */
import { UserError } from '../../common/errors.js';
import type { IntxSwizzle } from '../pci/pci-intx.js';

/** A guest-physical range [base, base + length). Numbers are exact up to 2^53, beyond any x86 address. */
export interface AddressWindow { base: number; length: number }

export interface AcpiConfig {
  /** Processors get APIC IDs and ACPI processor UIDs 0..cpuCount-1, all enabled (at most 255: xAPIC IDs). */
  cpuCount: number;
  localApicAddress: number;
  /**
   * The one IOAPIC: `id` must be what its ID register holds. Its pins are GSIs 0..pins-1, ISA IRQ n
   * being GSI n (apart from the overrides in the MADT), so it needs at least 16 pins.
   */
  ioApic: { id: number; address: number; pins: number };
  /** Omitted when the machine has no HPET. `eventTimerBlockId` = low 32 bits of its capabilities register. */
  hpet?: { address: number; eventTimerBlockId: number };
  pci: {
    /** ECAM address of bus 0 (as MCFG defines it), even when busStart > 0. */
    ecamBase: number;
    busStart: number;
    busEnd: number;
    /** Memory window below 4 GiB for BARs. */
    mmio32: AddressWindow;
    /** Memory window above RAM and 4 GiB for 64-bit BARs, when the machine has one. */
    mmio64?: AddressWindow;
    /** The board's INTx wiring (src/vm/pci/pci-intx.ts); the DSDT's _PRT lists its result for every slot and pin. */
    intxSwizzle: IntxSwizzle;
  };
  /** The ACPI PM block (src/vm/devices/acpi-pm.ts): the same base, timer width, reset value and S5 type the device got. */
  pm: { base: number; timer32: boolean; resetValue: number; s5SleepType: number };
  /** ISA IRQ of the SCI (level, active high); IRQ n is GSI n. */
  sciIrq: number;
  /** 16550 UARTs as COM1, COM2, ...: I/O base (8 ports) and ISA IRQ. */
  serialPorts: readonly { base: number; irq: number }[];
  /** Whether the i8042 has its AUX (PS/2 mouse) port. */
  ps2Mouse: boolean;
  /** CMOS index of the RTC century byte (FADT CENTURY), 0 when there is none. */
  rtcCenturyIndex: number;
}

const GiB4 = 0x1_0000_0000;
const MAX_PHYS = 2 ** 52;
/** The ACPI PM block's length in ports (acpi-pm.ts AcpiPm.LENGTH). */
export const PM_BLOCK_LENGTH = 0x30;
export const LAPIC_WINDOW = 0x1000, IOAPIC_WINDOW = 0x1000, HPET_WINDOW = 0x400;

function fail(field: string, problem: string): never {
  throw new UserError(`ACPI config: ${field} ${problem}`);
}

/** Counts print in decimal, addresses and register values (`radix` 16) in hex. */
function int(field: string, v: number, min: number, max: number, radix: 10 | 16 = 10): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    const show = (n: number): string => (radix === 16 && Number.isSafeInteger(n) && n >= 0 ? hex(n) : String(n));
    fail(field, `= ${show(v)} must be an integer in ${show(min)}..${show(max)}`);
  }
}

function aligned(field: string, v: number, alignment: number): void {
  if (v % alignment !== 0) fail(field, `= ${hex(v)} must be aligned to ${hex(alignment)}`);
}

export function hex(v: number): string { return Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v); }

interface Region { what: string; base: number; length: number }

function checkOverlaps(regions: readonly Region[]): void {
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i]!, b = regions[j]!;
      if (a.base < b.base + b.length && b.base < a.base + a.length) {
        fail(a.what, `[${hex(a.base)}, ${hex(a.base + a.length)}) overlaps ${b.what} [${hex(b.base)}, ${hex(b.base + b.length)})`);
      }
    }
  }
}

export function validateAcpiConfig(c: AcpiConfig): void {
  validateInterruptControllers(c);
  validatePci(c.pci, c.ioApic.pins);
  validateIsa(c);
  validateLayout(c);
}

function validateInterruptControllers(c: AcpiConfig): void {
  int('cpuCount', c.cpuCount, 1, 255);
  int('localApicAddress', c.localApicAddress, 0, GiB4 - LAPIC_WINDOW, 16);
  aligned('localApicAddress', c.localApicAddress, 0x1000);
  int('ioApic.id', c.ioApic.id, 0, 15); // the IOAPIC's ID register has four bits
  int('ioApic.address', c.ioApic.address, 0, GiB4 - IOAPIC_WINDOW, 16);
  aligned('ioApic.address', c.ioApic.address, 0x400);
  int('ioApic.pins', c.ioApic.pins, 16, 240);
  if (c.hpet !== undefined) {
    int('hpet.address', c.hpet.address, 0, GiB4 - HPET_WINDOW, 16);
    aligned('hpet.address', c.hpet.address, 0x400);
    int('hpet.eventTimerBlockId', c.hpet.eventTimerBlockId, 0, 0xffffffff, 16);
  }
}

function validatePci(p: AcpiConfig['pci'], ioApicPins: number): void {
  int('pci.busStart', p.busStart, 0, 255);
  int('pci.busEnd', p.busEnd, p.busStart, 255);
  int('pci.ecamBase', p.ecamBase, 0, MAX_PHYS - (256 << 20), 16);
  aligned('pci.ecamBase', p.ecamBase, 1 << 20);
  int('pci.mmio32.base', p.mmio32.base, 0, GiB4 - 1, 16);
  int('pci.mmio32.length', p.mmio32.length, 1, GiB4 - p.mmio32.base, 16);
  if (p.mmio64 !== undefined) {
    int('pci.mmio64.base', p.mmio64.base, GiB4, MAX_PHYS - 1, 16);
    int('pci.mmio64.length', p.mmio64.length, 1, MAX_PHYS - p.mmio64.base, 16);
  }
  for (let dev = 0; dev < 32; dev++) {
    for (let pin = 0; pin < 4; pin++) {
      const gsi = p.intxSwizzle(dev, pin);
      // PCI interrupts are level/active-low and shared; ISA IRQs' GSIs 0-15 are edge/active-high.
      if (!Number.isInteger(gsi) || gsi < 16 || gsi >= ioApicPins) {
        fail('pci.intxSwizzle', `maps device ${dev} INT${'ABCD'[pin]} to GSI ${gsi}, not an IOAPIC pin above the ISA IRQs (16..${ioApicPins - 1})`);
      }
    }
  }
}

function validateIsa(c: AcpiConfig): void {
  int('pm.base', c.pm.base, 1, 0x10000 - PM_BLOCK_LENGTH, 16);
  if (typeof c.pm.timer32 !== 'boolean') fail('pm.timer32', 'must be true or false');
  int('pm.resetValue', c.pm.resetValue, 0, 0xff, 16);
  int('pm.s5SleepType', c.pm.s5SleepType, 0, 7);
  if (c.serialPorts.length > 4) fail('serialPorts', `lists ${c.serialPorts.length} UARTs; a PC has COM1-COM4`);
  // ISA IRQs are edge-triggered and not shared, apart from UARTs sharing one the old way (COM1/COM3).
  const fixed = new Map<number, string>([[0, 'the PIT'], [1, 'the keyboard'], [2, 'the 8259 cascade'], [8, 'the RTC']]);
  if (c.ps2Mouse) fixed.set(12, 'the PS/2 mouse');
  c.serialPorts.forEach((s, i) => {
    int(`serialPorts[${i}].base`, s.base, 0, 0xfff8, 16);
    aligned(`serialPorts[${i}].base`, s.base, 8);
    int(`serialPorts[${i}].irq`, s.irq, 1, 15);
    if (fixed.has(s.irq)) fail(`serialPorts[${i}].irq`, `= ${s.irq} is taken by ${fixed.get(s.irq)}`);
  });
  int('sciIrq', c.sciIrq, 1, 15);
  if (fixed.has(c.sciIrq)) fail('sciIrq', `= ${c.sciIrq} is taken by ${fixed.get(c.sciIrq)}`);
  const uart = c.serialPorts.findIndex((s) => s.irq === c.sciIrq);
  if (uart >= 0) fail('sciIrq', `= ${c.sciIrq} is taken by serialPorts[${uart}]; the SCI is level-triggered and cannot share an ISA IRQ`);
  int('rtcCenturyIndex', c.rtcCenturyIndex, 0, 0x7f, 16);
}

/** MMIO windows and I/O port blocks must not overlap each other. */
function validateLayout(c: AcpiConfig): void {
  const p = c.pci;
  const mmio: Region[] = [
    { what: 'localApicAddress', base: c.localApicAddress, length: LAPIC_WINDOW },
    { what: 'ioApic.address', base: c.ioApic.address, length: IOAPIC_WINDOW },
    { what: 'pci.ecamBase', base: p.ecamBase + (p.busStart << 20), length: (p.busEnd - p.busStart + 1) << 20 },
    { what: 'pci.mmio32', base: p.mmio32.base, length: p.mmio32.length },
  ];
  if (c.hpet !== undefined) mmio.push({ what: 'hpet.address', base: c.hpet.address, length: HPET_WINDOW });
  if (p.mmio64 !== undefined) mmio.push({ what: 'pci.mmio64', base: p.mmio64.base, length: p.mmio64.length });
  checkOverlaps(mmio);
  const ports: Region[] = [
    { what: 'pm.base', base: c.pm.base, length: PM_BLOCK_LENGTH },
    { what: 'the PCI configuration ports', base: 0xcf8, length: 8 },
    ...c.serialPorts.map((s, i) => ({ what: `serialPorts[${i}]`, base: s.base, length: 8 })),
  ];
  checkOverlaps(ports);
}
