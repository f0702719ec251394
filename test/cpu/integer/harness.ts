/**
 * Helpers for the integer-instruction unit tests: assemble nasm source at test time, run it through
 * the engine's snippet machine (64-bit user mode or 32-bit compatibility mode), and build a 32-bit
 * Linux executable that runs the same code on the host CPU.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSnippet, SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE, type SnippetResult } from '../../../src/hv/cpu/x86/testing/snippet.js';

export { SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE };

export const REG = { rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7 } as const;
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-cpu-int-'));
  try { return fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** Assembles `source` (without a `bits` line) to a flat binary. */
export function assemble(bits: 16 | 32 | 64, source: string): Uint8Array {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'a.asm'), `bits ${bits}\n${source}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  });
}

export interface RunInput {
  regs?: Partial<Record<keyof typeof REG, bigint>>;
  flags?: number;
  /** Bytes placed at the start of the data window. */
  data?: Uint8Array;
}

/** Runs assembled code; RSP defaults to the top part of the data window. */
export function run(code: Uint8Array, input: RunInput = {}, bits: 32 | 64 = 64): SnippetResult {
  const gpr = new BigUint64Array(16);
  gpr[REG.rsp] = BigInt(SNIPPET_DATA_BASE + 0xf000);
  for (const [name, v] of Object.entries(input.regs ?? {})) gpr[REG[name as keyof typeof REG]] = v;
  const data = new Uint8Array(SNIPPET_DATA_SIZE);
  if (input.data !== undefined) data.set(input.data);
  const fxsave = new Uint8Array(512);
  fxsave[0] = 0x7f; fxsave[1] = 0x03; // FCW 037F
  fxsave.set([0x80, 0x1f, 0, 0], 24); // MXCSR 1F80
  return runSnippet(code, { gpr, rflags: (input.flags ?? 0) | 2, fxsave, data }, bits);
}

/** Assembles and runs `source`; throws if the snippet did not reach its end. */
export function runAsm(source: string, input: RunInput = {}, bits: 32 | 64 = 64): SnippetResult {
  const r = run(assemble(bits, source), input, bits);
  if (r.exception !== null) throw new Error(`snippet raised vector ${r.exception} (error ${r.errorCode})`);
  return r;
}

export function reg(r: SnippetResult, name: keyof typeof REG): bigint { return r.state.gpr[REG[name]]!; }

/**
 * Builds a static 32-bit Linux executable whose zeroed output window sits at the snippet machine's
 * data address (SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE bytes), runs `body` there, and writes the
 * window to stdout; returns that output. Because the addresses agree, the same body run in the
 * engine in compatibility mode must leave the same bytes.
 */
export function runHost32(body: string): Uint8Array {
  return withTempDir((dir) => {
    const src = `bits 32
global _start
section .bss
out: resb ${SNIPPET_DATA_SIZE}
section .text
_start:
${body}
  mov eax, 4
  mov ebx, 1
  mov ecx, out
  mov edx, ${SNIPPET_DATA_SIZE}
  int 0x80
  mov eax, 1
  xor ebx, ebx
  int 0x80
`;
    writeFileSync(join(dir, 'h.asm'), src);
    execFileSync('nasm', ['-f', 'elf32', '-o', join(dir, 'h.o'), join(dir, 'h.asm')]);
    execFileSync('ld', ['-m', 'elf_i386', `--section-start=.bss=0x${SNIPPET_DATA_BASE.toString(16)}`, '-o', join(dir, 'h'), join(dir, 'h.o')]);
    let out: Buffer;
    try {
      out = execFileSync(join(dir, 'h'), [], { maxBuffer: SNIPPET_DATA_SIZE + 4096 });
    } catch (e) {
      throw new Error(`the host could not run a 32-bit Linux program (is the kernel's IA-32 emulation enabled?): ${(e as Error).message}`);
    }
    if (out.length !== SNIPPET_DATA_SIZE) throw new Error(`host program wrote ${out.length} bytes, expected ${SNIPPET_DATA_SIZE}`);
    return new Uint8Array(out);
  });
}
