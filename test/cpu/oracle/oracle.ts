/**
 * The host CPU as the oracle for the engine: builds the native runner (nasm + gcc, at test time),
 * runs a template's cases natively and through runSnippet, and reports the first mismatch with the
 * full input, so a failure can be reproduced by hand.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSnippet, SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE } from '../../../src/hv/cpu/x86/testing/snippet.js';
import { assembleLines } from '../../helpers/nasm.js';

export const WINDOW = 4096;
export const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800, DF = 0x400;
export const FLAGS = { CF, PF, AF, ZF, SF, OF, DF, ALL: CF | PF | AF | ZF | SF | OF };

let runnerPath: string | undefined;
export function nativeRunner(): string {
  if (runnerPath !== undefined && existsSync(runnerPath)) return runnerPath;
  const dir = mkdtempSync(join(tmpdir(), 'viridian-oracle-'));
  const src = join(process.cwd(), 'test', 'cpu', 'oracle', 'native');
  execFileSync('nasm', ['-f', 'elf64', '-o', join(dir, 'runner.o'), join(src, 'runner.asm')]);
  execFileSync('gcc', ['-O1', '-o', join(dir, 'runner'), join(src, 'runner.c'), join(dir, 'runner.o')]);
  runnerPath = join(dir, 'runner');
  return runnerPath;
}

export interface Case { regs: BigUint64Array; flags: number; data: Uint8Array; fx: Uint8Array }
export interface Outcome { vector: number; error: number; regs: BigUint64Array; flags: number; data: Uint8Array; fx: Uint8Array }

export function runNative(code: Uint8Array, cases: Case[]): Outcome[] {
  const recSize = 17 * 8 + 512 + WINDOW;
  const input = Buffer.alloc(4 + code.length + cases.length * recSize);
  input.writeUInt32LE(code.length, 0);
  Buffer.from(code).copy(input, 4);
  let off = 4 + code.length;
  for (const c of cases) {
    for (let r = 0; r < 16; r++) input.writeBigUInt64LE(c.regs[r]!, off + r * 8);
    input.writeBigUInt64LE(BigInt(c.flags), off + 128);
    Buffer.from(c.fx).copy(input, off + 136);
    Buffer.from(c.data).copy(input, off + 136 + 512);
    off += recSize;
  }
  // A watchdog: a case that never returns natively must fail the test, not stall the run.
  const r = spawnSync(nativeRunner(), [], { input, maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.error !== undefined) throw new Error(`native runner did not finish: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`native runner failed (status ${r.status}, signal ${r.signal}): ${r.stderr.toString()}`);
  const out = r.stdout;
  const outSize = 8 + 17 * 8 + 512 + WINDOW;
  if (out.length !== cases.length * outSize) throw new Error(`native runner returned ${out.length} bytes for ${cases.length} cases`);
  return cases.map((_, k) => {
    const b = k * outSize;
    const regs = new BigUint64Array(16);
    for (let q = 0; q < 16; q++) regs[q] = out.readBigUInt64LE(b + 8 + q * 8);
    const fx = new Uint8Array(out.subarray(b + 8 + 136, b + 8 + 136 + 512));
    return { vector: out.readInt32LE(b), error: out.readInt32LE(b + 4), regs, flags: Number(out.readBigUInt64LE(b + 8 + 128)), fx, data: new Uint8Array(out.subarray(b + 8 + 136 + 512, b + 8 + 136 + 512 + WINDOW)) };
  });
}

export function runEngine(code: Uint8Array, c: Case): Outcome {
  const regs = c.regs.slice();
  regs[4] = BigInt(SNIPPET_DATA_BASE + 0x8000);
  const data = new Uint8Array(SNIPPET_DATA_SIZE);
  data.set(c.data);
  const r = runSnippet(code, { gpr: regs, rflags: c.flags, fxsave: c.fx, data });
  return { vector: r.exception ?? -1, error: r.errorCode ?? 0, regs: r.state.gpr, flags: r.state.rflags, fx: r.state.fxsave, data: r.state.data.subarray(0, WINDOW) };
}

/** xorshift64*: reproducible operand streams. */
export class Rng {
  private s: bigint;
  constructor(seed: number) { this.s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n; }
  next(): bigint {
    let x = this.s;
    x ^= x >> 12n; x ^= (x << 25n) & 0xffffffffffffffffn; x ^= x >> 27n;
    this.s = x;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  }
  below(n: number): number { return Number(this.next() % BigInt(n)); }
  /** Random 64-bit value biased towards the edges that break arithmetic. */
  edgy(): bigint {
    const EDGES = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
      0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen];
    const k = this.below(4);
    if (k === 0) return EDGES[this.below(EDGES.length)]!;
    if (k === 1) return this.next() & [0xffn, 0xffffn, 0xffffffffn][this.below(3)]!;
    return this.next();
  }
}

export interface Template {
  asm: string;
  /** Arithmetic flags the SDM leaves undefined for this instruction (masked in the comparison). */
  undefinedFlags?: number;
  /** Adjusts generated inputs (pointer registers into the data window, small counts...). */
  setup?: (c: Case, rng: Rng) => void;
  /** Registers whose value is undefined after the instruction (masked). */
  undefinedRegs?: number[];
  /** The template needs a host CPU flag from /proc/cpuinfo. */
  needs?: string;
  /** Compare the x87/MMX registers and control/status words too. */
  compareX87?: boolean;
  /** Data-window byte ranges [offset, length] whose contents are model-specific (not compared). */
  ignoreMemory?: [number, number][];
}

/** An FXSAVE64 image in the power-on state (FCW 0x37f, all x87 registers empty, MXCSR 0x1f80). */
export function defaultFx(): Uint8Array {
  const fx = new Uint8Array(512);
  const dv = new DataView(fx.buffer);
  dv.setUint16(0, 0x037f, true);
  dv.setUint32(24, 0x1f80, true);
  dv.setUint32(28, 0xffff, true);
  return fx;
}

export function pointInto(c: Case, reg: number, offset: number): void {
  c.regs[reg] = BigInt(SNIPPET_DATA_BASE + offset);
}

function hex(v: bigint): string { return '0x' + v.toString(16); }

export function describeCase(c: Case): string {
  return REG_NAMES.map((n, k) => `${n}=${hex(c.regs[k]!)}`).join(' ') + ` flags=0x${c.flags.toString(16)}`;
}

/** Runs `count` cases of a template; returns an error description for the first mismatch, or ''. */
export function checkTemplate(t: Template, count: number, seed: number): string {
  const [code] = assembleLines(64, [t.asm]);
  const rng = new Rng(seed);
  const cases: Case[] = [];
  for (let k = 0; k < count; k++) {
    const regs = new BigUint64Array(16);
    for (let r = 0; r < 16; r++) regs[r] = rng.edgy();
    const flags = 2 | (Number(rng.next() & 0x8d5n));
    const data = new Uint8Array(WINDOW);
    for (let b = 0; b < WINDOW; b += 8) { const v = rng.next(); for (let q = 0; q < 8; q++) data[b + q] = Number((v >> BigInt(q * 8)) & 0xffn); }
    const fx = defaultFx();
    for (let b = 160; b < 416; b += 8) { const v = rng.edgy(); for (let q = 0; q < 8; q++) fx[b + q] = Number((v >> BigInt(q * 8)) & 0xffn); }
    const c: Case = { regs, flags, data, fx };
    t.setup?.(c, rng);
    cases.push(c);
  }
  const native = runNative(code!, cases);
  const fmask = FLAGS.ALL & ~(t.undefinedFlags ?? 0);
  for (let k = 0; k < count; k++) {
    const n = native[k]!;
    const e = runEngine(code!, cases[k]!);
    const where = `${t.asm} [${Buffer.from(code!).toString('hex')}] case ${k} seed ${seed}\n  input: ${describeCase(cases[k]!)}`;
    if (n.vector !== e.vector) return `${where}\n  exception: host ${n.vector} engine ${e.vector}`;
    if (n.vector >= 0) {
      if (n.vector === 14 || n.vector === 13) continue; // error-code details differ between user-mode kernels and us only in U/S semantics
      continue;
    }
    const diffs: string[] = [];
    for (let r = 0; r < 16; r++) {
      if (r === 4 || t.undefinedRegs?.includes(r)) continue;
      if (n.regs[r] !== e.regs[r]) diffs.push(`${REG_NAMES[r]}: host ${hex(n.regs[r]!)} engine ${hex(e.regs[r]!)}`);
    }
    if ((n.flags & fmask) !== (e.flags & fmask)) diffs.push(`flags: host 0x${(n.flags & fmask).toString(16)} engine 0x${(e.flags & fmask).toString(16)} (mask 0x${fmask.toString(16)})`);
    if ((n.flags & DF) !== (e.flags & DF)) diffs.push('DF differs');
    const ignored = (b: number): boolean => (t.ignoreMemory ?? []).some(([o, l]) => b >= o && b < o + l);
    for (let b = 0; b < WINDOW; b++) if (n.data[b] !== e.data[b] && !ignored(b)) { diffs.push(`memory at +0x${b.toString(16)}: host ${n.data[b]} engine ${e.data[b]}`); break; }
    for (let x = 0; x < 16; x++) {
      const hs = Buffer.from(n.fx.subarray(160 + x * 16, 176 + x * 16)).toString('hex');
      const es = Buffer.from(e.fx.subarray(160 + x * 16, 176 + x * 16)).toString('hex');
      if (hs !== es) diffs.push(`xmm${x}: host ${hs} engine ${es}`);
    }
    const hm = new DataView(n.fx.buffer, n.fx.byteOffset).getUint32(24, true), em = new DataView(e.fx.buffer, e.fx.byteOffset).getUint32(24, true);
    if (hm !== em) diffs.push(`mxcsr: host 0x${hm.toString(16)} engine 0x${em.toString(16)}`);
    if (t.compareX87) {
      const hs = Buffer.from(n.fx.subarray(0, 4)).toString('hex') + ' ' + Buffer.from(n.fx.subarray(32, 160)).toString('hex');
      const es = Buffer.from(e.fx.subarray(0, 4)).toString('hex') + ' ' + Buffer.from(e.fx.subarray(32, 160)).toString('hex');
      if (hs !== es) diffs.push(`x87 state: host ${hs}\n           engine ${es}`);
    }
    if (diffs.length > 0) return `${where}\n  ${diffs.join('\n  ')}`;
  }
  return '';
}

let cpuFlags: Set<string> | undefined;
export function hostHas(flag: string): boolean {
  if (cpuFlags === undefined) {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    cpuFlags = new Set((m?.[1] ?? '').split(/\s+/));
  }
  return cpuFlags.has(flag);
}
