/**
 * Multiple APIC Description Table, revision 5 (ACPI 6.3, 5.2.12): one enabled local APIC per
 * processor (UID = APIC ID = index), the IOAPIC, the ISA interrupt overrides and the local APIC
 * NMI wiring. PCAT_COMPAT is set because the dual 8259s exist and the OS must mask them.
 */
import type { AcpiConfig } from './acpi-config.js';
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

export const MADT_REVISION = 5;
export const MADT_PCAT_COMPAT = 1;
export const MADT_LOCAL_APIC = 0, MADT_IO_APIC = 1, MADT_INTERRUPT_OVERRIDE = 2, MADT_LOCAL_APIC_NMI = 4;
export const LOCAL_APIC_ENABLED = 1;
/** MPS INTI flags: polarity bits 1:0 (1 = active high), trigger bits 3:2 (1 = edge, 3 = level). */
export const INTI_ACTIVE_HIGH = 0x1, INTI_EDGE = 0x4, INTI_LEVEL = 0xc;
/** In a local APIC NMI structure, processor UID 0xFF means every processor. */
const ALL_PROCESSORS = 0xff;
/** The PIT's output reaches IOAPIC pin 2 (pin 0 is the 8259's INTR in virtual-wire mode). */
const PIT_IRQ = 0, PIT_GSI = 2;

function interruptOverride(w: TableWriter, irq: number, gsi: number, flags: number): void {
  w.u8(MADT_INTERRUPT_OVERRIDE).u8(10).u8(0 /* ISA */).u8(irq).u32(gsi).u16(flags);
}

export function buildMadt(config: AcpiConfig): Uint8Array {
  const w = new TableWriter().u32(config.localApicAddress).u32(MADT_PCAT_COMPAT);
  for (let i = 0; i < config.cpuCount; i++) {
    w.u8(MADT_LOCAL_APIC).u8(8).u8(i /* ACPI processor UID */).u8(i /* APIC ID */).u32(LOCAL_APIC_ENABLED);
  }
  w.u8(MADT_IO_APIC).u8(12).u8(config.ioApic.id).u8(0).u32(config.ioApic.address).u32(0 /* GSI base */);
  interruptOverride(w, PIT_IRQ, PIT_GSI, INTI_ACTIVE_HIGH | INTI_EDGE);
  interruptOverride(w, config.sciIrq, config.sciIrq, INTI_ACTIVE_HIGH | INTI_LEVEL);
  w.u8(MADT_LOCAL_APIC_NMI).u8(6).u8(ALL_PROCESSORS).u16(INTI_ACTIVE_HIGH | INTI_EDGE).u8(1 /* LINT1 */);
  return systemDescriptionTable('APIC', MADT_REVISION, w.finish());
}
