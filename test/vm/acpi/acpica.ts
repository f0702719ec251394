/**
 * Runs the ACPICA tools (Debian's acpica-tools: iasl, acpiexec) at test time. They are the peer:
 * the same ACPICA code that Linux runs. A missing tool fails the test loudly; tools/install-deps
 * installs the package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ToolRun { status: number | null; output: string }

function run(tool: 'iasl' | 'acpiexec', args: string[], cwd: string): ToolRun {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) {
    throw new Error(`${tool} could not run (${r.error.message}); it comes from the Debian package acpica-tools: run tools/install-deps`);
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A temporary directory for one test's files, removed afterwards. */
export function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-acpi-'));
  try { return body(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** `iasl -d file`: the disassembly text and the tool's own messages. */
export function disassemble(dir: string, fileName: string, table: Uint8Array): { dsl: string; log: ToolRun } {
  writeFileSync(join(dir, fileName), table);
  const log = run('iasl', ['-d', fileName], dir);
  let dsl = '';
  try { dsl = readFileSync(join(dir, fileName.replace(/\.[^.]*$/, '.dsl')), 'utf8'); } catch { /* reported by the caller through log */ }
  return { dsl, log };
}

/** Compiles ASL source with iasl and returns the AML table it produced. */
export function compileAsl(dir: string, source: string): { aml: Uint8Array; log: ToolRun } {
  writeFileSync(join(dir, 'peer.asl'), source);
  const log = run('iasl', ['-p', 'peer', 'peer.asl'], dir);
  let aml = new Uint8Array(0);
  try { aml = new Uint8Array(readFileSync(join(dir, 'peer.aml'))); } catch { /* reported by the caller through log */ }
  return { aml, log };
}

/** Loads table files into acpiexec and runs debugger commands in batch mode. */
export function acpiexec(dir: string, files: readonly { name: string; data: Uint8Array }[], commands: readonly string[]): ToolRun {
  for (const f of files) writeFileSync(join(dir, f.name), f.data);
  return run('acpiexec', ['-b', commands.join('; '), ...files.map((f) => f.name)], dir);
}

/**
 * acpiexec's built-in interface tests poke hardware its own test tables have: ARB_DIS in a PM2
 * control block and GPE 101 in a GPE1 block. This machine has neither, so those five calls fail
 * with these exact complaints; any other "Unexpected" line is a real finding.
 */
const SELF_TEST_NOISE = [
  /^Unexpected AE_BAD_ADDRESS from Acpi(Write|Read)BitRegister \(aetests-\d+\)$/,
  /^Unexpected AE_BAD_PARAMETER from Acpi(InstallGpeHandler|EnableGpe|DisableGpe) \(aetests-\d+\)$/,
];

/** Lines in which ACPICA reports an error, a warning, a failure or an unexpected status. */
export function acpicaComplaints(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) =>
    (/\b(Error|Warning|Exception|Remark)\b|^Unexpected AE_|\*\*\*\*/.test(l) || /failed/i.test(l)) && !SELF_TEST_NOISE.some((re) => re.test(l)));
}
