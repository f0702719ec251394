/**
 * Root System Description Table (ACPI 6.x, 5.2.7): 32-bit pointers to every table but the FACS and
 * DSDT (which the FADT points to), for OSes that predate ACPI 2.0; newer ones read the XSDT.
 */
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

export function buildRsdt(tableAddresses: readonly number[]): Uint8Array {
  const w = new TableWriter();
  for (const a of tableAddresses) w.u32(a, 'RSDT entry');
  return systemDescriptionTable('RSDT', 1, w.finish());
}
