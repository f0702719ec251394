/**
 * Assembles with nasm (a real peer) at test time. Tests that need it fail with a clear message
 * when nasm is missing (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function assemble(source: string, extraArgs: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-nasm-'));
  try {
    writeFileSync(join(dir, 'a.asm'), source);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), ...extraArgs, join(dir, 'a.asm')], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles a file; its own folder is on the include path. */
export function assembleFile(path: string, extraArgs: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-nasm-'));
  try {
    execFileSync('nasm', ['-f', 'bin', '-I', dirname(path) + '/', ...extraArgs, '-o', join(dir, 'a.bin'), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles each line separately in one nasm run; returns the byte encoding of every line. */
export function assembleLines(bits: 16 | 32 | 64, lines: string[]): Uint8Array[] {
  const src = [`bits ${bits}`];
  lines.forEach((l, k) => { src.push(`l${k}: ${l}`); });
  src.push(`l${lines.length}:`);
  // A table of label offsets appended after the code lets us split the output without a listing.
  src.push('align 4, db 0');
  src.push('offsets:');
  for (let k = 0; k <= lines.length; k++) src.push(`dd l${k} - l0`);
  const bin = assemble(src.join('\n') + '\n');
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const n = lines.length + 1;
  const tableStart = bin.length - n * 4;
  const offs: number[] = [];
  for (let k = 0; k < n; k++) offs.push(dv.getUint32(tableStart + k * 4, true));
  return lines.map((_, k) => bin.slice(offs[k]!, offs[k + 1]!));
}
