/**
 * The two cyclic redundancy checks XZ uses: CRC32 (IEEE 802.3, reflected polynomial 0xEDB88320) for
 * headers, the index and the CRC32 block check, and CRC64 (ECMA-182, reflected polynomial
 * 0xC96C5795D7870F42) for the CRC64 block check. CRC32 runs over whole kernels (tens of MB), so it
 * processes eight bytes per step with eight derived tables ("slicing by 8"); CRC64 is only a
 * block-check option and keeps one table, as 32-bit halves so no BigInt is involved.
 */

const CRC32_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    t[b] = c;
  }
  // Table k advances a byte that is k positions further from the end of the 8-byte group.
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b]!;
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, previous = 0): number {
  const t = CRC32_TABLES;
  let c = ~previous;
  let i = 0;
  const n = data.length;
  for (const whole = n - (n & 7); i < whole; i += 8) {
    const w = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = t[1792 + (w & 0xff)]! ^ t[1536 + ((w >>> 8) & 0xff)]! ^ t[1280 + ((w >>> 16) & 0xff)]! ^ t[1024 + (w >>> 24)]! ^
      t[768 + data[i + 4]!]! ^ t[512 + data[i + 5]!]! ^ t[256 + data[i + 6]!]! ^ t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC64_LO = new Int32Array(256), CRC64_HI = new Int32Array(256);
for (let b = 0; b < 256; b++) {
  let lo = b, hi = 0;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi >>>= 1;
    if (odd !== 0) { lo ^= 0xd7870f42; hi ^= 0xc96c5795; }
  }
  CRC64_LO[b] = lo; CRC64_HI[b] = hi;
}

/** CRC64 of `data` as its 8 little-endian bytes (the order XZ stores it in). */
export function crc64(data: Uint8Array): Uint8Array {
  let lo = -1, hi = -1;
  for (let i = 0; i < data.length; i++) {
    const x = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_LO[x]!;
    hi = (hi >>> 8) ^ CRC64_HI[x]!;
  }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, ~lo >>> 0, true);
  dv.setUint32(4, ~hi >>> 0, true);
  return out;
}
