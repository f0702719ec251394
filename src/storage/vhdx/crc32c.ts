/**
 * CRC-32C (Castagnoli), the checksum MS-VHDX uses for headers, region tables and log entries.
 * Table-driven over the reflected polynomial 0x82F63B78.
 */
const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32C of `data` as if the 4-byte little-endian checksum field at `at` were zero. */
export function crc32cWithZeroField(data: Uint8Array, at: number): number {
  const saved = data.slice(at, at + 4);
  data.fill(0, at, at + 4);
  const c = crc32c(data);
  data.set(saved, at);
  return c;
}
