/**
 * The packed string compare shared by PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM Vol. 2B,
 * PCMPxSTRx, and Vol. 2A 4.1 "Imm8 control byte"). The first operand (xmm1) is "arg1": the
 * character set, the range pairs or the needle; the second (xmm2/m128) is "arg2": the string
 * searched. Elements are copied into two fixed Int32Arrays (bytes or words, signed or unsigned
 * per imm8[1:0]) so the aggregation loops compare plain numbers and allocate nothing.
 */
import { A, B, A8, B8, A16, B16, AS16, BS16 } from './sse-common.js';

/** Elements of arg1 (xmm1) and arg2 (xmm2/m128), widened to int32. */
const ARG1 = new Int32Array(16);
const ARG2 = new Int32Array(16);

export const AGG_EQUAL_ANY = 0, AGG_RANGES = 1, AGG_EQUAL_EACH = 2, AGG_EQUAL_ORDERED = 3;

/** Number of elements in a 128-bit operand for imm8: 16 bytes or 8 words (imm8 bit 0). */
export function elementCount(imm: number): number { return (imm & 1) !== 0 ? 8 : 16; }

/**
 * Copies the scratch vectors A (arg1) and B (arg2) into the element arrays per imm8[1:0]:
 * 00 unsigned bytes, 01 unsigned words, 10 signed bytes, 11 signed words.
 */
export function loadElements(imm: number): void {
  switch (imm & 3) {
    case 0: for (let k = 0; k < 16; k++) { ARG1[k] = A[k]!; ARG2[k] = B[k]!; } break;
    case 1: for (let k = 0; k < 8; k++) { ARG1[k] = A16[k]!; ARG2[k] = B16[k]!; } break;
    case 2: for (let k = 0; k < 16; k++) { ARG1[k] = A8[k]!; ARG2[k] = B8[k]!; } break;
    default: for (let k = 0; k < 8; k++) { ARG1[k] = AS16[k]!; ARG2[k] = BS16[k]!; } break;
  }
}

/** Implicit length of arg1 (which = 1) or arg2 (which = 2): the index of the first zero element, or n. */
export function implicitLength(which: 1 | 2, n: number): number {
  const e = which === 1 ? ARG1 : ARG2;
  for (let k = 0; k < n; k++) if (e[k] === 0) return k;
  return n;
}

/**
 * Explicit length from EAX/EDX (RAX/RDX with REX.W): the absolute value, saturated to n.
 * `lo` is the low 32 bits as int32, `hi` the high 32 bits (ignored unless `wide`).
 */
export function explicitLength(lo: number, hi: number, wide: boolean, n: number): number {
  let v: number;
  if (!wide) v = lo | 0;
  else v = (hi | 0) * 0x1_0000_0000 + (lo >>> 0); // magnitude is inexact only far beyond n
  if (v < 0) v = -v;
  return v > n ? n : v;
}

/**
 * IntRes1 of the SDM: bit j says whether the aggregation holds at position j of arg2, with the
 * invalid-element overrides of each aggregation. `len1`/`len2` are the valid lengths of arg1/arg2.
 */
function aggregate(mode: number, n: number, len1: number, len2: number): number {
  let res = 0;
  switch (mode) {
    case AGG_EQUAL_ANY:
      // arg1 is a set of characters; invalid elements on either side never match.
      for (let j = 0; j < len2; j++) {
        const x = ARG2[j]!;
        for (let i = 0; i < len1; i++) if (ARG1[i] === x) { res |= 1 << j; break; }
      }
      break;
    case AGG_RANGES:
      // arg1 holds [low, high] pairs; a pair counts only when both of its ends are valid.
      for (let j = 0; j < len2; j++) {
        const x = ARG2[j]!;
        for (let i = 0; i + 1 < len1; i += 2) if (ARG1[i]! <= x && x <= ARG1[i + 1]!) { res |= 1 << j; break; }
      }
      break;
    case AGG_EQUAL_EACH:
      // Element-wise equality; past both ends the strings "agree", past one end they do not.
      for (let j = 0; j < n; j++) {
        const v1 = j < len1, v2 = j < len2;
        if (v1 && v2 ? ARG1[j] === ARG2[j] : !v1 && !v2) res |= 1 << j;
      }
      break;
    default:
      // Equal ordered: arg1 is a needle starting at j in arg2. The needle's end (an invalid arg1
      // element) or the register's end (i + j > n - 1) match anything; arg2's end matches nothing
      // else.
      for (let j = 0; j < n; j++) {
        let match = true;
        const last = len1 < n - j ? len1 : n - j;
        for (let i = 0; i < last; i++) {
          const k = i + j;
          if (k >= len2 || ARG1[i] !== ARG2[k]) { match = false; break; }
        }
        if (match) res |= 1 << j;
      }
      break;
  }
  return res;
}

/**
 * IntRes2: IntRes1 after imm8[5:4] polarity — 00/10 as is, 01 all n bits inverted, 11 only the
 * positions where arg2 is valid inverted.
 */
export function compareStrings(imm: number, len1: number, len2: number): number {
  const n = elementCount(imm);
  const res = aggregate((imm >> 2) & 3, n, len1, len2);
  switch ((imm >> 4) & 3) {
    case 1: return ~res & ((1 << n) - 1);
    case 3: return res ^ ((1 << len2) - 1);
    default: return res;
  }
}

/** PCMPxSTRI's index: n when nothing is set, else the lowest (imm8[6] = 0) or highest set bit. */
export function resultIndex(imm: number, res: number): number {
  if (res === 0) return elementCount(imm);
  return (imm & 0x40) !== 0 ? 31 - Math.clz32(res) : 31 - Math.clz32(res & -res);
}

/**
 * PCMPxSTRM's mask into `out` (16 bytes, destined for XMM0): imm8[6] = 0 gives the bits
 * zero-extended; 1 expands each bit to a whole byte or word of ones.
 */
export function resultMask(imm: number, res: number, out: Uint8Array): void {
  out.fill(0);
  if ((imm & 0x40) === 0) { out[0] = res & 0xff; out[1] = (res >> 8) & 0xff; return; }
  if ((imm & 1) === 0) { for (let k = 0; k < 16; k++) if (((res >> k) & 1) !== 0) out[k] = 0xff; }
  else for (let k = 0; k < 8; k++) if (((res >> k) & 1) !== 0) { out[2 * k] = 0xff; out[2 * k + 1] = 0xff; }
}
