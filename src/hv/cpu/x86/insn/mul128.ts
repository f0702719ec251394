/**
 * 64 x 64 -> 128-bit multiplication on int32 halves without BigInt (which allocates and made
 * Linux's RSA signature checks crawl): four 32 x 32 partial products, each split into exact low
 * and high words, summed column by column; the signed form corrects the high half by the
 * operands' signs (mod 2^64).
 */

/** High 32 bits of the unsigned 64-bit product of two 32-bit values, from 16-bit partial products. */
export function mulHighUnsigned(a: number, b: number): number {
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const lh = aL * bH, hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

/** Product words, least significant first (int32 each). Read right after mul64. */
export const product = new Int32Array(4);

export function mul64(aL: number, aH: number, bL: number, bH: number, signed: boolean): void {
  const p0h = mulHighUnsigned(aL, bL) >>> 0;
  const p1l = Math.imul(aL, bH) >>> 0, p1h = mulHighUnsigned(aL, bH) >>> 0;
  const p2l = Math.imul(aH, bL) >>> 0, p2h = mulHighUnsigned(aH, bL) >>> 0;
  const p3l = Math.imul(aH, bH) >>> 0, p3h = mulHighUnsigned(aH, bH) >>> 0;
  const s1 = p0h + p1l + p2l;
  const c1 = Math.floor(s1 / 4294967296);
  const s2 = p1h + p2h + p3l + c1;
  const c2 = Math.floor(s2 / 4294967296);
  let w2 = s2 >>> 0, w3 = (p3h + c2) >>> 0;
  if (signed) {
    // (a - 2^64·[a<0]) (b - 2^64·[b<0]) = a·b - 2^64 (b·[a<0] + a·[b<0]) (mod 2^128)
    if (aH < 0) { const lo = w2 - (bL >>> 0); w2 = lo >>> 0; w3 = (w3 - (bH >>> 0) - (lo < 0 ? 1 : 0)) >>> 0; }
    if (bH < 0) { const lo = w2 - (aL >>> 0); w2 = lo >>> 0; w3 = (w3 - (aH >>> 0) - (lo < 0 ? 1 : 0)) >>> 0; }
  }
  product[0] = Math.imul(aL, bL);
  product[1] = s1 | 0;
  product[2] = w2 | 0;
  product[3] = w3 | 0;
}
