/**
 * Reproducible random operands: xoshiro128** on 32-bit words (no BigInt in the hot loop), with
 * helpers biased towards the values that break arithmetic: zero, one, all-ones, sign boundaries,
 * carries out of each width.
 */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) {
    // splitmix32 spreads a small seed over the whole state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next() | 1;
  }
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t; this.d = rotl(this.d, 11);
    return r;
  }
  below(n: number): number { return Math.floor((this.u32() / 0x1_0000_0000) * n); }
  chance(p: number): boolean { return this.u32() / 0x1_0000_0000 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.below(xs.length)]!; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) { const v = this.u32(); for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff; }
    return out;
  }
  /** A 64-bit value: an edge of some width, a small number, a masked random or a full random. */
  edgy(): bigint {
    switch (this.below(6)) {
      case 0: return this.pick(EDGES);
      case 1: return BigInt(this.below(66));
      case 2: return BigInt.asUintN(64, -BigInt(this.below(66)));
      case 3: return this.u64() & this.pick(WIDTH_MASKS);
      case 4: return this.pick(EDGES) ^ (1n << BigInt(this.below(64)));
      default: return this.u64();
    }
  }
}

function rotl(x: number, k: number): number { return ((x << k) | (x >>> (32 - k))) >>> 0; }

const WIDTH_MASKS = [0xffn, 0xffffn, 0xffffffffn, 0xffffffffffffffffn];
const EDGES: bigint[] = [];
for (const w of [8n, 16n, 32n, 64n]) {
  const top = 1n << (w - 1n), all = (1n << w) - 1n;
  EDGES.push(0n, 1n, top - 1n, top, top + 1n, all, all - 1n, (1n << w) & 0xffffffffffffffffn);
}
