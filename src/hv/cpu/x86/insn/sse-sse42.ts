/**
 * SSE4.2, legacy (non-VEX) encodings: PCMPGTQ (66 0F 38 37), CRC32 (F2 0F 38 F0/F1) and the
 * packed string compares PCMPESTRM/PCMPESTRI/PCMPISTRM/PCMPISTRI (66 0F 3A 60-63), whose
 * compare/aggregate logic is in sse-sse42-strings.ts.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { setArithFlags } from '../flags.js';
import { CF, ZF, SF, OF } from '../constants.js';
import { A32, AU32, B32, BU32, checkSse, xmmToA, aToXmm, srcXmm } from './sse-common.js';
import {
  compareStrings, elementCount, explicitLength, implicitLength, loadElements, resultIndex, resultMask,
} from './sse-sse42-strings.js';

// ---- PCMPGTQ: signed 64-bit greater-than per quadword ----
def(2, 0x37, { name: 'pcmpgtq', prefix: 0x66 }, (c, i) => {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, true);
  for (let k = 0; k < 4; k += 2) {
    const ah = A32[k + 1]!, bh = B32[k + 1]!;
    const gt = ah !== bh ? ah > bh : AU32[k]! > BU32[k]!;
    A32[k] = gt ? -1 : 0; A32[k + 1] = gt ? -1 : 0;
  }
  aToXmm(c, i.reg);
});

// ---- CRC32: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), no pre- or post-inversion ----
const CRC32C = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let r = n;
  for (let k = 0; k < 8; k++) r = (r & 1) !== 0 ? (r >>> 1) ^ 0x82f63b78 : r >>> 1;
  CRC32C[n] = r;
}
/** Folds the low `bytes` bytes of v (little-endian order, as the instruction consumes them) into crc. */
function crcBytes(crc: number, v: number, bytes: number): number {
  for (let k = 0; k < bytes; k++) { crc = CRC32C[(crc ^ v) & 0xff]! ^ (crc >>> 8); v >>>= 8; }
  return crc;
}

/**
 * A general-purpose instruction: no CR0.EM/CR4.OSFXSR/CR0.TS checks (SDM: #UD only without
 * CPUID SSE4.2 or with LOCK, which the decoder rejects). F0 takes a byte source; F1 a word,
 * doubleword or (REX.W) quadword. The destination is r32, or r64 with REX.W, zero-extended.
 */
function crc32(c: X86Cpu, i: Insn): void {
  const size = i.opcode === 0xf0 ? 1 : i.osize;
  let lo: number, hi = 0;
  if (i.mod === 3) { lo = c.getReg(i.rm, size, i.rex); if (size === 8) hi = c.hi; }
  else {
    const la = c.addr(i, size);
    if (size === 1) lo = c.rd8(la);
    else if (size === 2) lo = c.rd16(la);
    else if (size === 4) lo = c.rd32(la);
    else { lo = c.rd64(la); hi = c.hi; }
  }
  let crc = c.reg32(i.reg);
  crc = crcBytes(crc, lo, size < 4 ? size : 4);
  if (size === 8) crc = crcBytes(crc, hi, 4);
  if ((i.rex & 8) !== 0) c.setReg64(i.reg, crc, 0);
  else c.setReg32(i.reg, crc);
}
def(2, 0xf0, { name: 'crc32 Gd,Eb', prefix: 0xf2 }, crc32);
def(2, 0xf1, { name: 'crc32 Gd,Ev', prefix: 0xf2 }, crc32);

// ---- PCMPxSTRx ----
const MASK = new Uint8Array(16);

/** Loads both operands (memory: 16 bytes, any alignment) and returns IntRes2; sets the flags. */
function stringCompare(c: X86Cpu, i: Insn, explicit: boolean): number {
  checkSse(c); xmmToA(c, i.reg); srcXmm(c, i, false);
  const imm = i.imm & 0xff, n = elementCount(imm);
  loadElements(imm);
  let len1: number, len2: number;
  if (explicit) {
    const wide = (i.rex & 8) !== 0;
    len1 = explicitLength(c.reg32(0), c.regHi(0), wide, n);
    len2 = explicitLength(c.reg32(2), c.regHi(2), wide, n);
  } else {
    len1 = implicitLength(1, n);
    len2 = implicitLength(2, n);
  }
  const res = compareStrings(imm, len1, len2);
  // CF: any result bit; ZF/SF: arg2/arg1 ends inside the register; OF: result bit 0; AF = PF = 0.
  setArithFlags(c.lf, (res !== 0 ? CF : 0) | (len2 < n ? ZF : 0) | (len1 < n ? SF : 0) | ((res & 1) !== 0 ? OF : 0));
  return res;
}
function stringIndex(explicit: boolean) {
  return (c: X86Cpu, i: Insn): void => { const res = stringCompare(c, i, explicit); c.setReg32(1, resultIndex(i.imm & 0xff, res)); };
}
function stringMask(explicit: boolean) {
  return (c: X86Cpu, i: Insn): void => { const res = stringCompare(c, i, explicit); resultMask(i.imm & 0xff, res, MASK); c.fpu.xmm.set(MASK, 0); };
}
def(3, 0x60, { name: 'pcmpestrm', prefix: 0x66 }, stringMask(true));
def(3, 0x61, { name: 'pcmpestri', prefix: 0x66 }, stringIndex(true));
def(3, 0x62, { name: 'pcmpistrm', prefix: 0x66 }, stringMask(false));
def(3, 0x63, { name: 'pcmpistri', prefix: 0x66 }, stringIndex(false));
