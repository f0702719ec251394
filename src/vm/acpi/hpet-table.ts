/**
 * IA-PC HPET Description Table (HPET spec 1.0a, 3.2.4): the event timer block's ID (a copy of its
 * capabilities register's low half) and its MMIO address. Linux takes the HPET from here; the
 * DSDT's PNP0103 device reserves its window.
 */
import { systemDescriptionTable } from './sdt.js';
import { TableWriter } from './table-writer.js';

export function buildHpetTable(hpet: { address: number; eventTimerBlockId: number }): Uint8Array {
  const w = new TableWriter()
    .u32(hpet.eventTimerBlockId, 'event timer block ID')
    .gas('memory', 64, hpet.address)
    .u8(0) // HPET number: the first (only) one
    .u16(0) // minimum clock tick in periodic mode: no lower limit is claimed
    .u8(0); // page protection and OEM attributes: no guarantee claimed
  return systemDescriptionTable('HPET', 1, w.finish());
}
