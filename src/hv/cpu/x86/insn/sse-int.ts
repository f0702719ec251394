/**
 * Packed-integer instructions in their MMX (no prefix, 64-bit) and SSE2 (66 prefix, 128-bit)
 * forms: add/sub with and without saturation, multiplies, averages, min/max, logic, compares,
 * unpacks, packs, and shifts by register and by immediate. Each is one lane kernel over the A/B
 * scratch vectors, registered for both widths.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import {
  A, B, A8, B8, A16, B16, AS16, BS16, A32, B32, AU32, BU32, checkSse, checkMmx, xmmToA, aToXmm, srcXmm, mmToA, aToMm, srcMm,
} from './sse-common.js';

type Kernel = (n: number) => void;

function satS8(v: number): number { return v > 127 ? 127 : v < -128 ? -128 : v; }
function satU8(v: number): number { return v > 255 ? 255 : v < 0 ? 0 : v; }
function satS16(v: number): number { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
function satU16(v: number): number { return v > 65535 ? 65535 : v < 0 ? 0 : v; }

/** Registers `k` as MMX (0F op) and SSE2 (66 0F op) with the standard Gx, Ex operand order. */
function both(opcode: number, name: string, k: Kernel, sseOnly = false): void {
  if (!sseOnly) {
    def(1, opcode, { name: `${name} mm`, prefix: 0 }, (c: X86Cpu, i: Insn) => {
      checkMmx(c); mmToA(c, i.reg); srcMm(c, i); k(8); aToMm(c, i.reg);
    });
  }
  def(1, opcode, { name: `${name} xmm`, prefix: 0x66 }, (c: X86Cpu, i: Insn) => {
    checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true); k(16); aToXmm(c, i.reg);
  });
}

function lanes8(f: (a: number, b: number) => number): Kernel {
  return (n) => { for (let k = 0; k < n; k++) A[k] = f(A[k]!, B[k]!); };
}
function lanesS8(f: (a: number, b: number) => number): Kernel {
  return (n) => { for (let k = 0; k < n; k++) A8[k] = f(A8[k]!, B8[k]!); };
}
function lanes16(f: (a: number, b: number) => number): Kernel {
  return (n) => { for (let k = 0; k < n / 2; k++) A16[k] = f(A16[k]!, B16[k]!); };
}
function lanesS16(f: (a: number, b: number) => number): Kernel {
  return (n) => { for (let k = 0; k < n / 2; k++) AS16[k] = f(AS16[k]!, BS16[k]!); };
}
function lanes32(f: (a: number, b: number) => number): Kernel {
  return (n) => { for (let k = 0; k < n / 4; k++) A32[k] = f(A32[k]!, B32[k]!); };
}
function lanes64(add: boolean): Kernel {
  return (n) => {
    for (let k = 0; k < n / 4; k += 2) {
      const l = add ? (AU32[k]! + BU32[k]!) : (AU32[k]! - BU32[k]!);
      const carry = add ? (l > 0xffffffff ? 1 : 0) : (l < 0 ? -1 : 0);
      A32[k] = l | 0;
      A32[k + 1] = add ? (A32[k + 1]! + B32[k + 1]! + carry) | 0 : (A32[k + 1]! - B32[k + 1]! + carry) | 0;
    }
  };
}

// Arithmetic.
both(0xfc, 'paddb', lanes8((a, b) => a + b));
both(0xfd, 'paddw', lanes16((a, b) => a + b));
both(0xfe, 'paddd', lanes32((a, b) => (a + b) | 0));
both(0xd4, 'paddq', lanes64(true));
both(0xf8, 'psubb', lanes8((a, b) => a - b));
both(0xf9, 'psubw', lanes16((a, b) => a - b));
both(0xfa, 'psubd', lanes32((a, b) => (a - b) | 0));
both(0xfb, 'psubq', lanes64(false));
both(0xec, 'paddsb', lanesS8((a, b) => satS8(a + b)));
both(0xed, 'paddsw', lanesS16((a, b) => satS16(a + b)));
both(0xdc, 'paddusb', lanes8((a, b) => satU8(a + b)));
both(0xdd, 'paddusw', lanes16((a, b) => satU16(a + b)));
both(0xe8, 'psubsb', lanesS8((a, b) => satS8(a - b)));
both(0xe9, 'psubsw', lanesS16((a, b) => satS16(a - b)));
both(0xd8, 'psubusb', lanes8((a, b) => satU8(a - b)));
both(0xd9, 'psubusw', lanes16((a, b) => satU16(a - b)));
both(0xd5, 'pmullw', lanesS16((a, b) => Math.imul(a, b)));
both(0xe5, 'pmulhw', lanesS16((a, b) => (a * b) >> 16));
both(0xe4, 'pmulhuw', lanes16((a, b) => (a * b) >>> 16));
both(0xe0, 'pavgb', lanes8((a, b) => (a + b + 1) >> 1));
both(0xe3, 'pavgw', lanes16((a, b) => (a + b + 1) >> 1));
both(0xda, 'pminub', lanes8((a, b) => Math.min(a, b)));
both(0xde, 'pmaxub', lanes8((a, b) => Math.max(a, b)));
both(0xea, 'pminsw', lanesS16((a, b) => Math.min(a, b)));
both(0xee, 'pmaxsw', lanesS16((a, b) => Math.max(a, b)));
both(0xf4, 'pmuludq', (n) => {
  for (let k = 0; k < n / 4; k += 2) {
    const a = AU32[k]!, b = BU32[k]!;
    const lo = Math.imul(a, b);
    // High half of the 64-bit product from 16-bit partial products (exact).
    const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
    const mid = a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16);
    const hi = a1 * b1 + Math.floor(mid / 65536);
    A32[k] = lo; A32[k + 1] = hi | 0;
  }
});
both(0xf5, 'pmaddwd', (n) => {
  for (let k = 0; k < n / 4; k++) {
    const s = AS16[2 * k]! * BS16[2 * k]! + AS16[2 * k + 1]! * BS16[2 * k + 1]!;
    A32[k] = s | 0;
  }
});
both(0xf6, 'psadbw', (n) => {
  for (let q = 0; q < n / 8; q++) {
    let s = 0;
    for (let k = 0; k < 8; k++) s += Math.abs(A[q * 8 + k]! - B[q * 8 + k]!);
    A32[q * 2] = s; A32[q * 2 + 1] = 0;
  }
});

// Logic.
both(0xdb, 'pand', lanes32((a, b) => a & b));
both(0xdf, 'pandn', lanes32((a, b) => ~a & b));
both(0xeb, 'por', lanes32((a, b) => a | b));
both(0xef, 'pxor', lanes32((a, b) => a ^ b));

// Compares.
both(0x74, 'pcmpeqb', lanes8((a, b) => (a === b ? 0xff : 0)));
both(0x75, 'pcmpeqw', lanes16((a, b) => (a === b ? 0xffff : 0)));
both(0x76, 'pcmpeqd', lanes32((a, b) => (a === b ? -1 : 0)));
both(0x64, 'pcmpgtb', lanesS8((a, b) => (a > b ? -1 : 0)));
both(0x65, 'pcmpgtw', lanesS16((a, b) => (a > b ? -1 : 0)));
both(0x66, 'pcmpgtd', lanes32((a, b) => (a > b ? -1 : 0)));

// Unpacks: interleave the low (or high) halves of A and B.
const T = new Uint8Array(16);
function unpack(elem: number, high: boolean): Kernel {
  return (n) => {
    const half = n / 2;
    const base = high ? half : 0;
    let o = 0;
    for (let k = 0; k < half; k += elem) {
      for (let e = 0; e < elem; e++) T[o++] = A[base + k + e]!;
      for (let e = 0; e < elem; e++) T[o++] = B[base + k + e]!;
    }
    A.set(T.subarray(0, n));
  };
}
both(0x60, 'punpcklbw', unpack(1, false));
both(0x61, 'punpcklwd', unpack(2, false));
both(0x62, 'punpckldq', unpack(4, false));
both(0x68, 'punpckhbw', unpack(1, true));
both(0x69, 'punpckhwd', unpack(2, true));
both(0x6a, 'punpckhdq', unpack(4, true));
both(0x6c, 'punpcklqdq', unpack(8, false), true);
both(0x6d, 'punpckhqdq', unpack(8, true), true);

// Packs with saturation: A's lanes then B's lanes, narrowed.
const T16 = new Int16Array(8);
function packS16to8(unsigned: boolean): Kernel {
  return (n) => {
    const half = n / 2;
    for (let k = 0; k < n; k++) {
      const v = k < half ? AS16[k]! : BS16[k - half]!;
      T[k] = unsigned ? satU8(v) : satS8(v) & 0xff;
    }
    for (let k = 0; k < n; k++) A[k] = T[k]!;
  };
}
both(0x63, 'packsswb', packS16to8(false));
both(0x67, 'packuswb', packS16to8(true));
both(0x6b, 'packssdw', (n) => {
  const m = n / 4;
  for (let k = 0; k < 2 * m; k++) T16[k] = satS16(k < m ? A32[k]! : B32[k - m]!);
  for (let k = 0; k < 2 * m; k++) AS16[k] = T16[k]!;
});

// Shifts by a register/memory count (low 64 bits of the source).
function countOf(): number {
  return BU32[1] !== 0 ? 64 : BU32[0]! > 64 ? 64 : BU32[0]!;
}
/** Count for the immediate forms, set by the handler before running the kernel. */
let immShift = 0;
function shiftKernel(elemBits: number, kind: 'l' | 'r' | 'a', countFromB: boolean): Kernel {
  return (n) => {
    const cnt = countFromB ? countOf() : immShift;
    if (elemBits === 16) {
      for (let k = 0; k < n / 2; k++) {
        if (kind === 'a') AS16[k] = AS16[k]! >> Math.min(cnt, 15);
        else A16[k] = cnt > 15 ? 0 : kind === 'l' ? A16[k]! << cnt : A16[k]! >>> cnt;
      }
    } else if (elemBits === 32) {
      for (let k = 0; k < n / 4; k++) {
        if (kind === 'a') A32[k] = A32[k]! >> Math.min(cnt, 31);
        else A32[k] = cnt > 31 ? 0 : kind === 'l' ? A32[k]! << cnt : A32[k]! >>> cnt;
      }
    } else {
      for (let k = 0; k < n / 4; k += 2) {
        const lo = AU32[k]!, hi = AU32[k + 1]!;
        if (cnt > 63) { A32[k] = 0; A32[k + 1] = 0; }
        else if (cnt === 0) { /* unchanged */ }
        else if (kind === 'l') {
          if (cnt < 32) { A32[k + 1] = (hi << cnt) | (lo >>> (32 - cnt)); A32[k] = lo << cnt; }
          else { A32[k + 1] = lo << (cnt - 32); A32[k] = 0; }
        } else {
          if (cnt < 32) { A32[k] = (lo >>> cnt) | (hi << (32 - cnt)); A32[k + 1] = hi >>> cnt; }
          else { A32[k] = hi >>> (cnt - 32); A32[k + 1] = 0; }
        }
      }
    }
  };
}
both(0xd1, 'psrlw', shiftKernel(16, 'r', true));
both(0xd2, 'psrld', shiftKernel(32, 'r', true));
both(0xd3, 'psrlq', shiftKernel(64, 'r', true));
both(0xe1, 'psraw', shiftKernel(16, 'a', true));
both(0xe2, 'psrad', shiftKernel(32, 'a', true));
both(0xf1, 'psllw', shiftKernel(16, 'l', true));
both(0xf2, 'pslld', shiftKernel(32, 'l', true));
both(0xf3, 'psllq', shiftKernel(64, 'l', true));

// Shifts by immediate: 0F 71/72/73 groups, destination in ModRM.rm.
function shiftImm(elemBits: number, kind: 'l' | 'r' | 'a', mmx: boolean) {
  const k = shiftKernel(elemBits, kind, false);
  return (c: X86Cpu, i: Insn): void => {
    immShift = i.imm & 0xff;
    if (mmx) { checkMmx(c); mmToA(c, i.rm); k(8); aToMm(c, i.rm); }
    else { checkSse(c); xmmToA(c, i.rm); k(16); aToXmm(c, i.rm); }
  };
}
for (const mmx of [true, false]) {
  const p = mmx ? 0 : 0x66;
  def(1, 0x71, { name: 'psrlw imm', prefix: p, reg: 2, form: 'reg' }, shiftImm(16, 'r', mmx));
  def(1, 0x71, { name: 'psraw imm', prefix: p, reg: 4, form: 'reg' }, shiftImm(16, 'a', mmx));
  def(1, 0x71, { name: 'psllw imm', prefix: p, reg: 6, form: 'reg' }, shiftImm(16, 'l', mmx));
  def(1, 0x72, { name: 'psrld imm', prefix: p, reg: 2, form: 'reg' }, shiftImm(32, 'r', mmx));
  def(1, 0x72, { name: 'psrad imm', prefix: p, reg: 4, form: 'reg' }, shiftImm(32, 'a', mmx));
  def(1, 0x72, { name: 'pslld imm', prefix: p, reg: 6, form: 'reg' }, shiftImm(32, 'l', mmx));
  def(1, 0x73, { name: 'psrlq imm', prefix: p, reg: 2, form: 'reg' }, shiftImm(64, 'r', mmx));
  def(1, 0x73, { name: 'psllq imm', prefix: p, reg: 6, form: 'reg' }, shiftImm(64, 'l', mmx));
}
function byteShift(left: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    checkSse(c);
    xmmToA(c, i.rm);
    const n = Math.min(i.imm & 0xff, 16);
    T.fill(0);
    for (let k = 0; k < 16; k++) {
      const src = left ? k - n : k + n;
      if (src >= 0 && src < 16) T[k] = A[src]!;
    }
    A.set(T);
    aToXmm(c, i.rm);
  };
}
def(1, 0x73, { name: 'psrldq', prefix: 0x66, reg: 3, form: 'reg' }, byteShift(false));
def(1, 0x73, { name: 'pslldq', prefix: 0x66, reg: 7, form: 'reg' }, byteShift(true));

