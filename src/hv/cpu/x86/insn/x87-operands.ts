/**
 * x87 memory operands: binary32/binary64/80-bit reals and 16/32/64-bit integers read into an
 * unpacked Ext (exactly; NaN payloads widened the way the x87 does), and the reverse encodings
 * used by the stores.
 */
import type { X86Cpu } from '../cpu.js';
import { Ext, fromFields, K_ZERO, K_NORMAL, K_DENORMAL, K_INF, K_QNAN, K_SNAN } from '../fpu/x87-float.js';

export function readReal32(c: X86Cpu, la: number, x: Ext): Ext {
  const v = c.rd32(la) >>> 0;
  const sign = v >>> 31, exp = (v >>> 23) & 0xff, frac = BigInt(v & 0x7fffff);
  x.sign = sign;
  if (exp === 0xff) {
    x.cls = frac === 0n ? K_INF : (frac & 0x400000n) !== 0n ? K_QNAN : K_SNAN;
    x.exp = 0x7fff; x.mant = (1n << 63n) | (frac << 40n); x.m = 0n; x.e = 0;
    return x;
  }
  if (exp === 0) { x.cls = frac === 0n ? K_ZERO : K_DENORMAL; x.m = frac; x.e = -149; }
  else { x.cls = K_NORMAL; x.m = frac | (1n << 23n); x.e = exp - 150; }
  x.exp = 0; x.mant = 0n;
  return x;
}

export function readReal64(c: X86Cpu, la: number, x: Ext): Ext {
  const lo = c.rd64(la) >>> 0, hi = c.hi >>> 0;
  const sign = hi >>> 31, exp = (hi >>> 20) & 0x7ff, frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  x.sign = sign;
  if (exp === 0x7ff) {
    x.cls = frac === 0n ? K_INF : (frac & (1n << 51n)) !== 0n ? K_QNAN : K_SNAN;
    x.exp = 0x7fff; x.mant = (1n << 63n) | (frac << 11n); x.m = 0n; x.e = 0;
    return x;
  }
  if (exp === 0) { x.cls = frac === 0n ? K_ZERO : K_DENORMAL; x.m = frac; x.e = -1074; }
  else { x.cls = K_NORMAL; x.m = frac | (1n << 52n); x.e = exp - 1075; }
  x.exp = 0; x.mant = 0n;
  return x;
}

export function readReal80(c: X86Cpu, la: number, x: Ext): Ext {
  const lo = c.rd64(la) >>> 0, hi = c.hi >>> 0;
  const se = c.rd16(la + 8) & 0xffff;
  return fromFields(x, se >> 15, se & 0x7fff, (BigInt(hi) << 32n) | BigInt(lo));
}

/** A signed integer of `size` bytes as an exact value. */
export function readInt(c: X86Cpu, la: number, size: number, x: Ext): Ext {
  let v: bigint;
  if (size === 2) v = BigInt((c.rd16(la) << 16) >> 16);
  else if (size === 4) v = BigInt(c.rd32(la) | 0);
  else { const lo = c.rd64(la) >>> 0; v = (BigInt(c.hi | 0) << 32n) | BigInt(lo); }
  return fromBigInt(x, v);
}

export function fromBigInt(x: Ext, v: bigint): Ext {
  x.sign = v < 0n ? 1 : 0;
  x.m = v < 0n ? -v : v; x.e = 0;
  x.cls = v === 0n ? K_ZERO : K_NORMAL;
  x.exp = 0; x.mant = 0n;
  return x;
}

/** Writes a signed 64-bit BigInt as `size` bytes. */
export function writeInt(c: X86Cpu, la: number, size: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  const lo = Number(u & 0xffffffffn) | 0, hi = Number(u >> 32n) | 0;
  c.wr(la, size, lo, hi);
}
