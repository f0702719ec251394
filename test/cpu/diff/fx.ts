/**
 * FXSAVE64 images (SDM Vol. 1, 10.5.1): building inputs with chosen x87/SSE contents, and random
 * floating-point operands with the special values (zeros, denormals, infinities, NaNs, values
 * halfway between representable numbers) that separate one implementation from another.
 */
import type { Rng } from './rng.js';

export const FX = { FCW: 0, FSW: 2, FTW: 4, MXCSR: 24, MXCSR_MASK: 28, ST0: 32, XMM0: 160 } as const;

/** The power-on image: FCW 0x37f, empty x87 stack, MXCSR 0x1f80, zero registers. */
export function defaultFx(): Uint8Array {
  const fx = new Uint8Array(512);
  const dv = view(fx);
  dv.setUint16(FX.FCW, 0x037f, true);
  dv.setUint32(FX.MXCSR, 0x1f80, true);
  return fx;
}

export function view(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

export function setMxcsr(fx: Uint8Array, v: number): void { view(fx).setUint32(FX.MXCSR, v >>> 0, true); }
export function getMxcsr(fx: Uint8Array): number { return view(fx).getUint32(FX.MXCSR, true); }

export function setXmm(fx: Uint8Array, reg: number, bytes: Uint8Array): void { fx.set(bytes.subarray(0, 16), FX.XMM0 + reg * 16); }

/** An 80-bit extended value as sign, biased exponent and 64-bit significand (explicit integer bit). */
export function encodeF80(sign: number, exp: number, mant: bigint): Uint8Array {
  const b = new Uint8Array(10);
  const dv = view(b);
  dv.setBigUint64(0, mant & 0xffffffffffffffffn, true);
  dv.setUint16(8, ((sign & 1) << 15) | (exp & 0x7fff), true);
  return b;
}

/** Loads ST(0)..ST(n-1) with `values` (10 bytes each), sets TOP and the abridged tags to match. */
export function setX87Stack(fx: Uint8Array, top: number, values: Uint8Array[]): void {
  const dv = view(fx);
  let tags = 0;
  values.forEach((v, i) => {
    fx.set(v.subarray(0, 10), FX.ST0 + i * 16);
    tags |= 1 << ((top + i) & 7);
  });
  fx[FX.FTW] = tags;
  dv.setUint16(FX.FSW, (dv.getUint16(FX.FSW, true) & ~0x3800) | ((top & 7) << 11), true);
}

/** A random extended-precision value, biased towards the special classes. */
export function randomF80(r: Rng): Uint8Array {
  const sign = r.below(2);
  const mant = (r.u64() | 0x8000000000000000n);
  switch (r.below(12)) {
    case 0: return encodeF80(sign, 0, 0n);                                   // zero
    case 1: return encodeF80(sign, 0, r.u64() & 0x7fffffffffffffffn);        // denormal
    case 2: return encodeF80(sign, 0x7fff, 0x8000000000000000n);             // infinity
    case 3: return encodeF80(sign, 0x7fff, 0xc000000000000000n | (r.u64() & 0x3fffffffffffffffn)); // QNaN
    case 4: return encodeF80(sign, 0x7fff, 0x8000000000000000n | ((r.u64() & 0x3fffffffffffffffn) | 1n)); // SNaN
    case 5: return encodeF80(sign, 0x3fff + r.below(64), BigInt(r.below(1 << 20) | 1) << 43n | 0x8000000000000000n); // small integers and halves
    case 6: return encodeF80(sign, r.pick([1, 2, 0x7ffe, 0x7ffd, 0x3fff - 16383 + 1]), mant); // tiny and huge
    case 7: return f64ToF80(randomF64Bits(r));
    case 8: return encodeF80(sign, 0x3fff + r.below(8) - 4, r.pick([0x8000000000000400n, 0x8000000000000800n, 0xffffffffffffffffn, 0x8000000000000001n])); // rounding edges
    default: return encodeF80(sign, 0x3fff + r.below(80) - 40, mant);
  }
}

function f64ToF80(bits: bigint): Uint8Array {
  const sign = Number(bits >> 63n);
  const e = Number((bits >> 52n) & 0x7ffn);
  const m = bits & 0xfffffffffffffn;
  if (e === 0x7ff) return encodeF80(sign, 0x7fff, 0x8000000000000000n | (m << 11n));
  if (e === 0) {
    if (m === 0n) return encodeF80(sign, 0, 0n);
    // Normalise the double denormal: it is an ordinary normal number in extended precision.
    let mm = m, ee = 1 - 1023 + 16383;
    while ((mm & (1n << 52n)) === 0n) { mm <<= 1n; ee--; }
    return encodeF80(sign, ee, mm << 11n);
  }
  return encodeF80(sign, e - 1023 + 16383, (0x10000000000000n | m) << 11n);
}

const F64_SPECIAL = [0n, 0x8000000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n,
  0x7ff4000000000001n, 0x0000000000000001n, 0x000fffffffffffffn, 0x0010000000000000n, 0x7fefffffffffffffn, 0x3ff0000000000000n,
  0xbff0000000000000n, 0x3fe0000000000000n, 0x4330000000000000n, 0x43e0000000000000n, 0xc3e0000000000000n, 0x41dfffffffc00000n,
  0x41e0000000000000n, 0xc1e0000000200000n, 0x3ff8000000000000n, 0x4004000000000000n];
const F32_SPECIAL = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001, 1, 0x007fffff, 0x00800000,
  0x7f7fffff, 0x3f800000, 0xbf800000, 0x3f000000, 0x4b000000, 0x4f000000, 0xcf000000, 0x3fc00000, 0x40200000, 0x46fffe00, 0x47000000];

export function randomF64Bits(r: Rng): bigint {
  switch (r.below(5)) {
    case 0: return r.pick(F64_SPECIAL);
    case 1: return doubleBits((r.below(2) ? -1 : 1) * (r.below(1 << 16) + r.pick([0, 0.5, 0.25, 0.75, 1 / 3])));
    case 2: return (r.u64() & 0x800fffffffffffffn) | (BigInt(1023 + r.below(80) - 40) << 52n);
    case 3: return r.u64() & 0x800fffffffffffffn; // denormals
    default: return r.u64();
  }
}

export function randomF32Bits(r: Rng): number {
  switch (r.below(5)) {
    case 0: return r.pick(F32_SPECIAL);
    case 1: return floatBits((r.below(2) ? -1 : 1) * (r.below(1 << 16) + r.pick([0, 0.5, 0.25, 0.75])));
    case 2: return ((r.u32() & 0x807fffff) | ((127 + r.below(60) - 30) << 23)) >>> 0;
    case 3: return (r.u32() & 0x807fffff) >>> 0;
    default: return r.u32();
  }
}

const conv = new DataView(new ArrayBuffer(8));
function doubleBits(x: number): bigint { conv.setFloat64(0, x, true); return conv.getBigUint64(0, true); }
function floatBits(x: number): number { conv.setFloat32(0, x, true); return conv.getUint32(0, true); }

/** 16 bytes for an XMM/MMX register: float lanes, double lanes, or integer edge lanes. */
export function randomVector(r: Rng, kind: 'f32' | 'f64' | 'int' | 'any' = 'any'): Uint8Array {
  const out = new Uint8Array(16);
  const dv = view(out);
  const k = kind === 'any' ? r.pick(['f32', 'f64', 'int'] as const) : kind;
  if (k === 'f32') for (let i = 0; i < 4; i++) dv.setUint32(i * 4, randomF32Bits(r), true);
  else if (k === 'f64') for (let i = 0; i < 2; i++) dv.setBigUint64(i * 8, randomF64Bits(r), true);
  else for (let i = 0; i < 2; i++) dv.setBigUint64(i * 8, r.edgy(), true);
  if (k === 'int' && r.chance(0.3)) for (let i = 0; i < 16; i++) out[i] = r.pick([0, 0x7f, 0x80, 0xff, 1, out[i]!]);
  return out;
}

/** MXCSR with every rounding mode, DAZ/FTZ, sticky flags, and now and then unmasked exceptions. */
export function randomMxcsr(r: Rng, unmaskChance = 0.05): number {
  let v = (r.below(4) << 13) | 0x1f80;
  if (r.chance(0.25)) v |= 0x8000; // FTZ
  if (r.chance(0.25)) v |= 0x0040; // DAZ
  if (r.chance(0.3)) v |= r.below(64);
  if (r.chance(unmaskChance)) v &= ~(r.below(64) << 7);
  return v >>> 0;
}

/** FCW with every precision and rounding control; exceptions masked unless `unmaskChance` hits. */
export function randomFcw(r: Rng, unmaskChance = 0): number {
  let v = 0x0040 | 0x3f | (r.pick([0, 2, 3]) << 8) | (r.below(4) << 10);
  if (r.chance(unmaskChance)) v &= ~r.below(64);
  return v;
}
