/**
 * XZ block checks (Stream Flags, check ID): the integrity value stored after each block, computed
 * over the block's uncompressed data. The ID also fixes the stored size, even for IDs this decoder
 * cannot compute, so the structure stays parseable; those are refused rather than skipped.
 */
import { createHash } from 'node:crypto';
import { crc32, crc64 } from './crc.js';

export const CHECK_NONE = 0x00, CHECK_CRC32 = 0x01, CHECK_CRC64 = 0x04, CHECK_SHA256 = 0x0a;

const NAMES: Record<number, string> = { 0: 'none', 1: 'CRC32', 4: 'CRC64', 10: 'SHA-256' };

/** Bytes a check of this ID occupies (the format defines sizes for all 16 IDs). */
export function checkSize(id: number): number {
  return id === 0 ? 0 : 4 << Math.floor((id - 1) / 3);
}

export function checkName(id: number): string {
  return NAMES[id] ?? `reserved check ID 0x${id.toString(16)}`;
}

export function isSupportedCheck(id: number): boolean {
  return NAMES[id] !== undefined;
}

/** The stored form of the check of `data` (CRCs little-endian, SHA-256 as its digest bytes). */
export function computeCheck(id: number, data: Uint8Array): Uint8Array {
  switch (id) {
    case CHECK_NONE: return new Uint8Array(0);
    case CHECK_CRC32: {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, crc32(data), true);
      return out;
    }
    case CHECK_CRC64: return crc64(data);
    case CHECK_SHA256: return new Uint8Array(createHash('sha256').update(data).digest());
    default: throw new Error(`computeCheck: unsupported check ID ${id}`);
  }
}
