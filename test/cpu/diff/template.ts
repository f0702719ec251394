/**
 * What a differential template is, and the base case every template starts from: random GPRs,
 * RBX pointing into the middle of the data window (memory forms use [rbx+disp]), RSP inside the
 * window so pushes land where they are compared, random arithmetic flags, power-on x87/SSE state
 * with random XMM contents, and random bytes around RBX and RSP.
 */
import { readFileSync } from 'node:fs';
import { FEATURES } from '../../../src/hv/cpu/x86/cpuid.js';
import type { Rng } from './rng.js';
import { DATA_BASE, type CaseInput, type DataRun } from './wire.js';
import { defaultFx, randomVector, setXmm } from './fx.js';

export const R = { RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7, R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15 } as const;
export const F = { CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, DF: 0x400, OF: 0x800 } as const;
export const ARITH = F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF;
/** FSW condition codes C0 C1 C2 C3. */
export const FSW_C = { C0: 0x100, C1: 0x200, C2: 0x400, C3: 0x4000 } as const;
export const FSW_ALL_C = 0x4700;

/** Window offsets the base case uses: RBX's target and the initial stack top. */
export const RBX_OFFSET = 0x8000;
export const RSP_OFFSET = 0xc000;

export type Area = 'integer' | 'x87' | 'sse' | 'compat';

export interface Template {
  /** Unique, readable: the instruction text plus a variant tag when the same text appears twice. */
  name: string;
  area: Area;
  /** nasm source (several lines allowed); `DATA` is the data window's address for [rel DATA+off]. */
  asm: string;
  /** 32: 32-bit code run in compatibility mode (only EAX..EDI's low halves are compared). Default 64. */
  bits?: 32 | 64;
  /** /proc/cpuinfo flags the host needs for this template. */
  needs?: string[];
  /** RFLAGS bits the SDM leaves undefined after this instruction (not compared). */
  undefinedFlags?: number;
  /** FSW bits left undefined (usually some of C0-C3) (not compared). */
  undefinedFsw?: number;
  /** GPRs whose result is undefined (e.g. BSF's destination for a zero source on some CPUs). */
  undefinedRegs?: number[];
  /**
   * Transcendental results: ST registers compared within this many units in the last place of
   * the 64-bit significand instead of bit for bit (with C1 masked, since it reports rounding).
   */
  ulps?: number;
  /** Window byte ranges [offset, length] whose contents are model-specific (e.g. FNSTENV's FIP/FDP). */
  ignoreData?: [number, number][];
  /** XMM results are hardware approximations (RCPPS/RSQRTPS): float lanes compared within 3 * 2^-12 relative. */
  approxF32?: boolean;
  /** Adjusts the base case: operands, pointers, counts, FPU contents. */
  init?: (c: CaseInput, r: Rng) => void;
}

export function baseCase(code: Uint8Array, r: Rng): CaseInput {
  const gpr = new BigUint64Array(16);
  for (let k = 0; k < 16; k++) gpr[k] = r.edgy();
  gpr[R.RBX] = BigInt(DATA_BASE + RBX_OFFSET);
  gpr[R.RSP] = BigInt(DATA_BASE + RSP_OFFSET);
  const rflags = 2 | (r.u32() & ARITH);
  const fxsave = defaultFx();
  for (let x = 0; x < 16; x++) setXmm(fxsave, x, randomVector(r));
  const runs: DataRun[] = [
    { offset: RBX_OFFSET - 0x100, bytes: r.bytes(0x200) },
    { offset: RSP_OFFSET - 0x40, bytes: r.bytes(0x80) },
  ];
  return { code, gpr, rflags, fxsave, runs };
}

/** Replaces the window bytes at [offset, offset+bytes.length) for this case. */
export function putData(c: CaseInput, offset: number, bytes: Uint8Array): void {
  c.runs.push({ offset, bytes });
}

export function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

let hostFlags: Set<string> | undefined;
export function hostCpuFlags(): Set<string> {
  if (hostFlags === undefined) {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    hostFlags = new Set((m?.[1] ?? '').trim().split(/\s+/));
  }
  return hostFlags;
}

/** /proc/cpuinfo flag names of the extensions the engine implements, from what its CPUID advertises. */
function engineFlags(): Set<string> {
  const f = FEATURES;
  // The base set (leaf 1 EDX: FPU, CX8, CMOV, MMX, FXSR, SSE, SSE2) first: a template that needs
  // it must run, not be counted as unsupported.
  const on: [string, boolean][] = [['fpu', f.x87], ['cx8', true], ['cmov', true], ['mmx', true], ['fxsr', true], ['sse', f.sse], ['sse2', f.sse2],
    ['pni', f.sse3], ['ssse3', f.ssse3], ['sse4_1', f.sse41], ['sse4_2', f.sse42], ['popcnt', f.popcnt],
    ['movbe', f.movbe], ['cx16', f.cx16], ['abm', f.lzcnt], ['lahf_lm', f.lahfLm], ['bmi1', true]];
  return new Set(on.filter(([, v]) => v).map(([k]) => k));
}

/**
 * Runs a template only where both sides have the extension: the host (to be the oracle) and the
 * engine (which advertises exactly what it implements; testing the rest would only test #UD).
 * bmi1 stands for TZCNT, which the engine implements without advertising BMI1.
 */
export function hostSupports(t: Template): boolean {
  const f = hostCpuFlags();
  const e = engineFlags();
  return (t.needs ?? []).every((n) => f.has(n) && e.has(n));
}

const PREFIXES = new Set(['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32', 'o64', 'a16', 'a32']);
/**
 * The instruction a template is about, for counting cases per instruction: the first mnemonic
 * of its text without prefixes (raw `db` encodings count under their template's name).
 */
export function mnemonicOf(t: Template): string {
  for (const line of t.asm.split('\n')) {
    const words = line.replace(/;.*$/, '').trim().split(/[\s,]+/).filter((w) => w !== '' && !PREFIXES.has(w.toLowerCase()) && !w.endsWith(':'));
    if (words.length === 0) continue;
    const m = words[0]!.toLowerCase();
    return m === 'db' ? t.name : m;
  }
  return t.name;
}
