/**
 * The machine's ACPI tables, built from the same constants the board gives its devices (so the
 * tables cannot drift from the hardware) and copied into the reserved area at 0xE0000, where the
 * RSDP is also found by the legacy scan of 0xE0000–0xFFFFF.
 */
import { buildAcpiTables } from '../acpi/build-acpi-tables.js';
import type { AcpiConfig } from '../acpi/acpi-config.js';
import { APIC_DEFAULT_BASE } from '../apic/apic-constants.js';
import { IOAPIC_DEFAULT_BASE, IOAPIC_PINS } from '../apic/ioapic.js';
import { HPET_BASE } from '../devices/hpet.js';
import { Uart16550 } from '../devices/uart-16550.js';
import { CMOS_CENTURY } from '../devices/mc146818-rtc.js';
import { standardSwizzle } from '../pci/pci-intx.js';
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { PcBoard } from './pc-board.js';
import { ACPI_PM_BASE, ACPI_RESET_VALUE, S5_SLEEP_TYPE, SCI_IRQ } from './pc-board.js';
import { ACPI_TABLES_BASE, ACPI_TABLES_SIZE, ECAM_BASE, PCI_MEM32_BASE, PCI_MEM32_END, PCI_MEM64_SIZE, type MemoryPlan } from './memory-layout.js';

export function acpiConfig(cpus: number, board: PcBoard, layout: MemoryPlan): AcpiConfig {
  return {
    cpuCount: cpus,
    localApicAddress: APIC_DEFAULT_BASE,
    ioApic: { id: board.ioapicId, address: IOAPIC_DEFAULT_BASE, pins: IOAPIC_PINS },
    hpet: { address: HPET_BASE, eventTimerBlockId: Number(board.hpet.capabilities() & 0xffffffffn) },
    pci: {
      ecamBase: ECAM_BASE, busStart: 0, busEnd: 255,
      mmio32: { base: PCI_MEM32_BASE, length: PCI_MEM32_END - PCI_MEM32_BASE },
      mmio64: { base: layout.pciMem64Base, length: PCI_MEM64_SIZE },
      intxSwizzle: standardSwizzle,
    },
    pm: { base: ACPI_PM_BASE, timer32: false, resetValue: ACPI_RESET_VALUE, s5SleepType: S5_SLEEP_TYPE },
    sciIrq: SCI_IRQ,
    serialPorts: [Uart16550.COM1, Uart16550.COM2],
    ps2Mouse: true,
    rtcCenturyIndex: CMOS_CENTURY,
  };
}

/** Writes the tables into guest RAM; returns the RSDP's address. */
export function installAcpiTables(mem: GuestMemory, config: AcpiConfig): number {
  const t = buildAcpiTables(config, ACPI_TABLES_BASE);
  if (t.image.length > ACPI_TABLES_SIZE) throw new Error(`ACPI tables (${t.image.length} bytes) exceed their ${ACPI_TABLES_SIZE}-byte area`);
  mem.writeBytes(ACPI_TABLES_BASE, t.image);
  return t.rsdpAddress;
}
