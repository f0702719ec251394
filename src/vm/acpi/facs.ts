/**
 * Firmware ACPI Control Structure (ACPI 6.x, 5.2.10): required whenever the FADT is not
 * hardware-reduced. It holds the waking vector and the global lock; both start at zero (no
 * firmware shares the lock, and S3 resume is not offered). 64 bytes, 64-byte aligned, no checksum.
 */
import { TableWriter } from './table-writer.js';

export const FACS_LENGTH = 64;
export const FACS_ALIGNMENT = 64;

export function buildFacs(): Uint8Array {
  return new TableWriter()
    .ascii('FACS', 4)
    .u32(FACS_LENGTH)
    .u32(0) // hardware signature: the hardware does not change while the VM exists
    .u32(0) // firmware waking vector
    .u32(0) // global lock
    .u32(0) // flags: no S4BIOS, no 64-bit wake environment
    .u64(0) // X firmware waking vector
    .u8(2) // version
    .zeros(3)
    .u32(0) // OSPM flags
    .zeros(24)
    .finish();
}
