/**
 * Assembles many snippets in one nasm run. Each snippet gets a label; a table of label offsets
 * after the code splits the flat binary again, so no listing parsing is needed. Inside a snippet
 * `DATA` is the data window's address expressed relative to the snippet's own label, which makes
 * `[rel DATA+off]` encode the right displacement for code that runs at the fixed code base.
 * Local labels (`.skip`) belong to their snippet. 32-bit snippets have no RIP-relative form:
 * there `DATA` is the window's absolute address.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_BASE, DATA_BASE } from './wire.js';

export function assembleSnippets(snippets: readonly string[], bits: 32 | 64 = 64): Uint8Array[] {
  if (snippets.length === 0) return [];
  const src: string[] = [`bits ${bits}`];
  snippets.forEach((s, k) => {
    const data = bits === 64 ? `(s${k} - 0x${(CODE_BASE - DATA_BASE).toString(16)})` : `0x${DATA_BASE.toString(16)}`;
    src.push(`s${k}:`, `%define DATA ${data}`, s, '%undef DATA');
  });
  src.push(`s${snippets.length}:`, 'align 4, db 0', 'snippet_offsets:');
  for (let k = 0; k <= snippets.length; k++) src.push(`dd s${k} - s0`);
  const dir = mkdtempSync(join(tmpdir(), 'viridian-cpu-diff-asm-'));
  try {
    writeFileSync(join(dir, 'batch.asm'), src.join('\n') + '\n');
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'batch.bin'), join(dir, 'batch.asm')], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
      // nasm names lines of the batch file; show the snippet text those lines belong to.
      const lines = src.join('\n').split('\n');
      const shown = stderr.split('\n').filter((l) => l.length > 0).slice(0, 5).map((l) => {
        const m = /:(\d+):/.exec(l);
        return m !== null ? `${l}\n    -> ${lines[Number(m[1]) - 1] ?? '?'}` : l;
      });
      throw new Error(`nasm rejected a snippet:\n${shown.join('\n')}`);
    }
    const bin = new Uint8Array(readFileSync(join(dir, 'batch.bin')));
    const n = snippets.length + 1;
    const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    const table = bin.length - n * 4;
    const offs: number[] = [];
    for (let k = 0; k < n; k++) offs.push(dv.getUint32(table + k * 4, true));
    return snippets.map((_, k) => bin.slice(offs[k]!, offs[k + 1]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Which snippets nasm accepts as `bits`-bit code: assembles them all and drops each one nasm names
 * in an error, until the rest assembles. Used to derive 32-bit templates from 64-bit ones.
 */
export function validSnippets(snippets: readonly string[], bits: 32 | 64): boolean[] {
  const ok = snippets.map(() => true);
  for (let round = 0; round < 8; round++) {
    const idx = snippets.map((_, k) => k).filter((k) => ok[k]);
    const src: string[] = [`bits ${bits}`, `%define DATA 0x${DATA_BASE.toString(16)}`];
    const lineOwner: number[] = [-1, -1];
    for (const k of idx) {
      for (const line of [`s${k}:`, ...snippets[k]!.split('\n')]) { src.push(line); lineOwner.push(k); }
    }
    const dir = mkdtempSync(join(tmpdir(), 'viridian-cpu-diff-asm-'));
    try {
      writeFileSync(join(dir, 'batch.asm'), src.join('\n') + '\n');
      const r = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'batch.bin'), join(dir, 'batch.asm')], { encoding: 'utf8' });
      if (r.error !== undefined) throw new Error(`cannot run nasm: ${r.error.message}`);
      if (r.status === 0) return ok;
      let dropped = 0;
      for (const m of r.stderr.matchAll(/:(\d+):\s*error/g)) {
        const owner = lineOwner[Number(m[1]) - 1];
        if (owner !== undefined && owner >= 0 && ok[owner]) { ok[owner] = false; dropped++; }
      }
      if (dropped === 0) throw new Error(`nasm failed without naming a snippet line:\n${r.stderr.slice(0, 2000)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error('validSnippets: nasm still rejects snippets after 8 rounds');
}
