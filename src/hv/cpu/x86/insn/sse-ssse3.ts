/**
 * SSSE3 (0F 38 00-0B, 1C-1E and 0F 3A 0F) in MMX (no prefix) and XMM (66) forms: PSHUFB,
 * PHADD/PHSUB (W, D, SW), PMADDUBSW, PMULHRSW, PSIGN*, PABS*, PALIGNR. Lane kernels over the A/B
 * scratch vectors with a fixed result buffer, so nothing is allocated per instruction.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  A, B, A8, B8, AS16, BS16, A32, B32, checkSse, checkMmx, xmmToA, aToXmm, srcXmm, mmToA, aToMm, srcMm,
} from './sse-common.js';

const R = new Uint8Array(32), RS16 = new Int16Array(R.buffer), R32 = new Int32Array(R.buffer);

type Kernel = (n: number, imm: number) => void;

function satS16(v: number): number { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }

function register(map: number, opcode: number, name: string, k: Kernel): void {
  def(map, opcode, { name: `${name} mm`, prefix: 0 }, (c: X86Cpu, i: Insn) => {
    checkMmx(c); mmToA(c, i.reg); srcMm(c, i); k(8, i.imm & 0xff); aToMm(c, i.reg);
  });
  def(map, opcode, { name: `${name} xmm`, prefix: 0x66 }, (c: X86Cpu, i: Insn) => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true); k(16, i.imm & 0xff); aToXmm(c, i.reg);
  });
}

register(2, 0x00, 'pshufb', (n) => {
  for (let k = 0; k < n; k++) { const s = B[k]!; R[k] = (s & 0x80) !== 0 ? 0 : A[s & (n - 1)]!; }
  A.set(R.subarray(0, n));
});

/** Horizontal word/dword ops: destination pairs fill the low half, source pairs the high half. */
function hword(op: (x: number, y: number) => number): Kernel {
  return (n) => {
    const half = n >> 2;
    for (let j = 0; j < half; j++) {
      RS16[j] = op(AS16[2 * j]!, AS16[2 * j + 1]!);
      RS16[half + j] = op(BS16[2 * j]!, BS16[2 * j + 1]!);
    }
    A.set(R.subarray(0, n));
  };
}
function hdword(sub: boolean): Kernel {
  return (n) => {
    const half = n >> 3;
    for (let j = 0; j < half; j++) {
      R32[j] = sub ? (A32[2 * j]! - A32[2 * j + 1]!) | 0 : (A32[2 * j]! + A32[2 * j + 1]!) | 0;
      R32[half + j] = sub ? (B32[2 * j]! - B32[2 * j + 1]!) | 0 : (B32[2 * j]! + B32[2 * j + 1]!) | 0;
    }
    A.set(R.subarray(0, n));
  };
}
register(2, 0x01, 'phaddw', hword((x, y) => x + y));
register(2, 0x02, 'phaddd', hdword(false));
register(2, 0x03, 'phaddsw', hword((x, y) => satS16(x + y)));
register(2, 0x05, 'phsubw', hword((x, y) => x - y));
register(2, 0x06, 'phsubd', hdword(true));
register(2, 0x07, 'phsubsw', hword((x, y) => satS16(x - y)));

register(2, 0x04, 'pmaddubsw', (n) => {
  for (let j = 0; j < n >> 1; j++) RS16[j] = satS16(A[2 * j]! * B8[2 * j]! + A[2 * j + 1]! * B8[2 * j + 1]!);
  A.set(R.subarray(0, n));
});
register(2, 0x0b, 'pmulhrsw', (n) => {
  for (let j = 0; j < n >> 1; j++) AS16[j] = (((AS16[j]! * BS16[j]!) >> 14) + 1) >> 1;
});

register(2, 0x08, 'psignb', (n) => { for (let k = 0; k < n; k++) { const s = B8[k]!; A8[k] = s < 0 ? -A8[k]! : s === 0 ? 0 : A8[k]!; } });
register(2, 0x09, 'psignw', (n) => { for (let k = 0; k < n >> 1; k++) { const s = BS16[k]!; AS16[k] = s < 0 ? -AS16[k]! : s === 0 ? 0 : AS16[k]!; } });
register(2, 0x0a, 'psignd', (n) => { for (let k = 0; k < n >> 2; k++) { const s = B32[k]!; A32[k] = s < 0 ? -A32[k]! | 0 : s === 0 ? 0 : A32[k]!; } });
register(2, 0x1c, 'pabsb', (n) => { for (let k = 0; k < n; k++) A8[k] = Math.abs(B8[k]!); });
register(2, 0x1d, 'pabsw', (n) => { for (let k = 0; k < n >> 1; k++) AS16[k] = Math.abs(BS16[k]!); });
register(2, 0x1e, 'pabsd', (n) => { for (let k = 0; k < n >> 2; k++) A32[k] = Math.abs(B32[k]!) | 0; });

// PALIGNR: (dest:src) >> imm·8, low n bytes.
register(3, 0x0f, 'palignr', (n, imm) => {
  R.set(B.subarray(0, n), 0); R.set(A.subarray(0, n), n);
  for (let k = 0; k < n; k++) { const s = k + imm; A[k] = s < 2 * n ? R[s]! : 0; }
});

