/**
 * Operand plumbing shared by the MMX and SSE instruction files. Operations work on two 16-byte
 * scratch vectors A (destination) and B (source) with typed views; handlers copy operands in,
 * run a lane kernel, and copy A back. MMX registers alias the low 64 bits of the x87 registers.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, NM } from '../constants.js';

export const A = new Uint8Array(16);
export const B = new Uint8Array(16);
export const A8 = new Int8Array(A.buffer), B8 = new Int8Array(B.buffer);
export const A16 = new Uint16Array(A.buffer), B16 = new Uint16Array(B.buffer);
export const AS16 = new Int16Array(A.buffer), BS16 = new Int16Array(B.buffer);
export const A32 = new Int32Array(A.buffer), B32 = new Int32Array(B.buffer);
export const AU32 = new Uint32Array(A.buffer), BU32 = new Uint32Array(B.buffer);
export const AF32 = new Float32Array(A.buffer), BF32 = new Float32Array(B.buffer);
export const AF64 = new Float64Array(A.buffer), BF64 = new Float64Array(B.buffer);
const AV = new DataView(A.buffer), BV = new DataView(B.buffer);
function view(out: Uint8Array): DataView { return out === A ? AV : BV; }

/** #UD without CR4.OSFXSR or with CR0.EM; #NM with CR0.TS. */
export function checkSse(c: X86Cpu): void {
  if ((c.cr0 & CR0_EM) !== 0 || (c.cr4 & CR4_OSFXSR) === 0) c.ud();
  if ((c.cr0 & CR0_TS) !== 0) c.fault(NM);
}

/** MMX: #UD with CR0.EM, #NM with CR0.TS; entering MMX state sets TOP = 0 and tags all valid. */
export function checkMmx(c: X86Cpu): void {
  if ((c.cr0 & CR0_EM) !== 0) c.ud();
  if ((c.cr0 & CR0_TS) !== 0) c.fault(NM);
  const f = c.fpu;
  f.top = 0;
  f.ftw = 0;
}

/** Reads 16 bytes of memory into `out` (with #GP on misalignment when `aligned`). */
export function readMem128(c: X86Cpu, i: Insn, out: Uint8Array, aligned: boolean): void {
  const la = c.addr(i, 16);
  if (aligned && la % 16 !== 0) c.gp(0);
  const v = view(out);
  v.setInt32(0, c.rd32(la), true); v.setInt32(4, c.rd32(la + 4), true);
  v.setInt32(8, c.rd32(la + 8), true); v.setInt32(12, c.rd32(la + 12), true);
}

export function writeMem128(c: X86Cpu, i: Insn, src: Uint8Array, aligned: boolean): void {
  const la = c.addrW(i, 16);
  if (aligned && la % 16 !== 0) c.gp(0);
  c.probeWrite(la, 16);
  const v = view(src);
  c.wr32(la, v.getInt32(0, true)); c.wr32(la + 4, v.getInt32(4, true));
  c.wr32(la + 8, v.getInt32(8, true)); c.wr32(la + 12, v.getInt32(12, true));
}

export function readMem64(c: X86Cpu, i: Insn, out: Uint8Array, at = 0): void {
  const la = c.addr(i, 8);
  const lo = c.rd64(la);
  const v = view(out);
  v.setInt32(at, lo, true); v.setInt32(at + 4, c.hi, true);
}

// ---- XMM registers ----

export function xmmToA(c: X86Cpu, r: number): void { A.set(c.fpu.xmm.subarray(r * 16, r * 16 + 16)); }
export function xmmToB(c: X86Cpu, r: number): void { B.set(c.fpu.xmm.subarray(r * 16, r * 16 + 16)); }
export function aToXmm(c: X86Cpu, r: number): void { c.fpu.xmm.set(A, r * 16); }

/** Loads the ModRM source (xmm register or 128-bit memory) into B. */
export function srcXmm(c: X86Cpu, i: Insn, aligned = true): void {
  if (i.mod === 3) xmmToB(c, i.rm);
  else readMem128(c, i, B, aligned);
}

// ---- MMX registers (aliases of the x87 physical registers' significands) ----

export function mmToA(c: X86Cpu, r: number): void { A.set(c.fpu.st.subarray((r & 7) * 10, (r & 7) * 10 + 8)); A.fill(0, 8); }
export function mmToB(c: X86Cpu, r: number): void { B.set(c.fpu.st.subarray((r & 7) * 10, (r & 7) * 10 + 8)); B.fill(0, 8); }
export function aToMm(c: X86Cpu, r: number): void {
  const o = (r & 7) * 10;
  c.fpu.st.set(A.subarray(0, 8), o);
  c.fpu.st[o + 8] = 0xff; c.fpu.st[o + 9] = 0xff; // MMX writes set the exponent field to all ones
}
export function srcMm(c: X86Cpu, i: Insn): void {
  if (i.mod === 3) mmToB(c, i.rm);
  else { readMem64(c, i, B); B.fill(0, 8); }
}
