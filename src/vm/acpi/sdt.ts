/**
 * The 36-byte System Description Table header (ACPI 6.x, 5.2.6) shared by every table but the RSDP
 * and FACS, and the byte checksum that makes a table sum to zero.
 */
import { checksumByte } from './aml/bytes.js';
import { TableWriter } from './table-writer.js';

export const SDT_HEADER_LENGTH = 36;
/** Identifies Viridian's tables; Linux keys quirks on OEM IDs, and this one matches none. */
export const OEM_ID = 'VIRIDN';
export const OEM_TABLE_ID = 'VIRIDIAN';
export const OEM_REVISION = 1;
export const CREATOR_ID = 'VRDN';
export const CREATOR_REVISION = 1;

/** Header + body with Length and Checksum filled in. */
export function systemDescriptionTable(signature: string, revision: number, body: Uint8Array): Uint8Array {
  if (!/^[A-Z0-9]{4}$/.test(signature)) throw new RangeError(`ACPI table signature "${signature}" must be four capitals or digits`);
  const w = new TableWriter()
    .ascii(signature, 4)
    .u32(SDT_HEADER_LENGTH + body.length, 'table length')
    .u8(revision, 'revision')
    .u8(0) // checksum, filled below
    .ascii(OEM_ID, 6)
    .ascii(OEM_TABLE_ID, 8)
    .u32(OEM_REVISION)
    .ascii(CREATOR_ID, 4)
    .u32(CREATOR_REVISION)
    .bytes(body);
  const table = w.finish();
  table[9] = checksumByte(table);
  return table;
}
