/**
 * Root System Description Pointer, ACPI 2.0+ form (ACPI 6.x, 5.2.5.3): 36 bytes, found by the OS
 * from boot_params or by scanning 16-byte boundaries of 0xE0000-0xFFFFF. The first checksum
 * covers the ACPI 1.0 part (bytes 0-19), the extended one all 36 bytes.
 */
import { checksumByte } from './aml/bytes.js';
import { OEM_ID } from './sdt.js';
import { TableWriter } from './table-writer.js';

export const RSDP_LENGTH = 36;

export function buildRsdp(rsdtAddress: number, xsdtAddress: number): Uint8Array {
  const t = new TableWriter()
    .ascii('RSD PTR ', 8)
    .u8(0) // checksum of bytes 0-19
    .ascii(OEM_ID, 6)
    .u8(2) // revision: ACPI 2.0 and later
    .u32(rsdtAddress, 'RSDT address')
    .u32(RSDP_LENGTH)
    .u64(xsdtAddress, 'XSDT address')
    .u8(0) // extended checksum
    .zeros(3)
    .finish();
  t[8] = checksumByte(t.subarray(0, 20));
  t[32] = checksumByte(t);
  return t;
}
