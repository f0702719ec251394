/**
 * Builds the native runner from native/ with nasm and gcc into a temporary directory (once per
 * process) and runs batches of cases through it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCase, decodeOutcomes, type CaseInput, type NativeOutcome } from './wire.js';

let built: { dir: string; exe: string } | undefined;

function sourceDir(): string {
  return join(process.cwd(), 'test', 'cpu', 'diff', 'native');
}

/** Path of the compiled runner; the temp directory is removed when the process exits. */
export function nativeRunnerPath(): string {
  if (built !== undefined && existsSync(built.exe)) return built.exe;
  const dir = mkdtempSync(join(tmpdir(), 'viridian-cpu-diff-'));
  const src = sourceDir();
  try {
    execFileSync('nasm', ['-f', 'elf64', '-o', join(dir, 'runner.o'), join(src, 'runner.asm')], { stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('gcc', ['-O2', '-o', join(dir, 'runner'), join(src, 'runner.c'), join(dir, 'runner.o')], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot build the native runner from ${src} (needs nasm and gcc): ${msg}`);
  }
  built = { dir, exe: join(dir, 'runner') };
  const b = built;
  process.once('exit', () => { rmSync(b.dir, { recursive: true, force: true }); });
  return built.exe;
}

/** Runs every case on the host CPU in one runner process. */
export function runNative(cases: readonly CaseInput[]): NativeOutcome[] {
  if (cases.length === 0) return [];
  const input = Buffer.concat(cases.map((c) => encodeCase(c)));
  const r = spawnSync(nativeRunnerPath(), [], { input, maxBuffer: 1 << 30 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`native runner exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return decodeOutcomes(r.stdout, cases.length);
}
