/**
 * PCI Express memory-mapped configuration table (PCI Firmware spec 3.x, 4.1.2): one ECAM region for
 * segment 0. The base address is that of bus 0 even when the first bus is not 0.
 */
import type { AcpiConfig } from './acpi-config.js';
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

export function buildMcfg(pci: AcpiConfig['pci']): Uint8Array {
  const w = new TableWriter()
    .zeros(8) // reserved
    .u64(pci.ecamBase, 'ECAM base')
    .u16(0) // PCI segment group
    .u8(pci.busStart)
    .u8(pci.busEnd)
    .zeros(4);
  return systemDescriptionTable('MCFG', 1, w.finish());
}
