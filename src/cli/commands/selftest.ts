/**
 * `viridian selftest`: assembles the bare-metal test guests shipped in guests/baremetal with nasm
 * and runs each on the CPU engine, reporting pass/fail per guest. It is the quickest way to see
 * that the engine works on this machine.
 */
import { parseArgs } from 'node:util';
import { readdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../common/errors.js';
import { runBareMetal } from '../../hv/cpu/x86/testing/bare-metal.js';

const HELP = `usage: viridian selftest [--json] [GUEST...]

Assembles the bare-metal CPU test guests (guests/baremetal/*.asm, needs nasm) and runs each on the
x86-64 engine. A guest passes when it reports 0 through the debug-exit port.`;

function repoRoot(): string {
  // dist/src/cli/commands/selftest.js -> repository root
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) { process.stdout.write(HELP + '\n'); return 0; }
  const dir = join(repoRoot(), 'guests', 'baremetal');
  const all = readdirSync(dir).filter((f) => f.endsWith('.asm')).sort();
  const chosen = positionals.length === 0 ? all : positionals.map((p) => (p.endsWith('.asm') ? p : `${p}.asm`));
  for (const c of chosen) if (!all.includes(c)) throw new UserError(`selftest: no guest '${c}' in ${dir} (have: ${all.join(', ')})`);
  const work = mkdtempSync(join(tmpdir(), 'viridian-selftest-'));
  const results: { guest: string; pass: boolean; end: string; status: number | undefined; console: string; instructions: number; ms: number; detail: string }[] = [];
  try {
    for (const g of chosen) {
      const out = join(work, basename(g, '.asm') + '.bin');
      try {
        execFileSync('nasm', ['-f', 'bin', '-I', dir + '/', '-o', out, join(dir, g)], { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        const err = e as { code?: string; stderr?: Buffer };
        if (err.code === 'ENOENT') throw new UserError('selftest: nasm is not installed (apt-get install nasm)');
        throw new UserError(`selftest: nasm failed on ${g}: ${err.stderr?.toString() ?? ''}`);
      }
      const t0 = performance.now();
      const r = runBareMetal(new Uint8Array(readFileSync(out)));
      const ms = performance.now() - t0;
      const pass = r.end === 'debug-exit' && r.status === 1;
      const detail = pass ? '' : r.end === 'debug-exit' ? `failed check ${((r.status ?? 1) - 1) / 2}` : `ended by ${r.end}; ${r.state}`;
      results.push({ guest: basename(g, '.asm'), pass, end: r.end, status: r.status, console: r.console, instructions: r.instructions, ms, detail });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else {
    for (const r of results) {
      process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'}  ${r.guest.padEnd(16)} ${String(r.instructions).padStart(10)} instructions  ${r.ms.toFixed(0).padStart(6)} ms  console: ${JSON.stringify(r.console)}${r.detail ? '  ' + r.detail : ''}\n`);
    }
  }
  return results.every((r) => r.pass) ? 0 : 1;
}
