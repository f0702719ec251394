/** The APIC's 256-bit vector sets (IRR, ISR, TMR) as eight 32-bit words, bit n = vector n. */
export function setBit(bits: Uint32Array, vector: number): void { bits[vector >>> 5] |= 1 << (vector & 31); }
export function clearBit(bits: Uint32Array, vector: number): void { bits[vector >>> 5] &= ~(1 << (vector & 31)); }
export function testBit(bits: Uint32Array, vector: number): boolean { return (bits[vector >>> 5]! & (1 << (vector & 31))) !== 0; }

/** Highest set vector, or -1. */
export function highestBit(bits: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    const v = bits[w]!;
    if (v !== 0) return (w << 5) + 31 - Math.clz32(v);
  }
  return -1;
}
