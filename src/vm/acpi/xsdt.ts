/** Extended System Description Table (ACPI 6.x, 5.2.8): the RSDT's list with 64-bit pointers. */
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

export function buildXsdt(tableAddresses: readonly number[]): Uint8Array {
  const w = new TableWriter();
  for (const a of tableAddresses) w.u64(a, 'XSDT entry');
  return systemDescriptionTable('XSDT', 1, w.finish());
}
