/**
 * Runs templates on the host CPU (through the native runner) and on the engine (through
 * runSnippet) with identical inputs, and reports the first disagreement per template.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { assembleSnippets } from './assemble.js';
import { diffOutcomes, describeInput, type EngineOutcome } from './compare.js';
import { runNative } from './native.js';
import { Rng } from './rng.js';
import { baseCase, hostSupports, type Template } from './template.js';
import { applyRuns, defaultWindow, undoRuns, type CaseInput, type MachineState, type NativeOutcome } from './wire.js';

export type RunSnippet = (code: Uint8Array, input: MachineState, bits?: 32 | 64) => EngineOutcome;

/**
 * The engine's test entry point, loaded at run time so these files compile (and the native side
 * can be proven) before the engine exists. Resolved from the compiled test's location.
 */
export async function loadEngine(): Promise<RunSnippet> {
  const url = new URL('../../../src/hv/cpu/x86/testing/snippet.js', import.meta.url);
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`the engine's runSnippet is missing (${url.pathname} does not load: ${e instanceof Error ? e.message : String(e)}); build src/hv/cpu/x86/testing/snippet.ts first`);
  }
  const f = mod['runSnippet'];
  if (typeof f !== 'function') throw new Error(`${url.pathname} does not export runSnippet`);
  return f as RunSnippet;
}

/** For tools that run from the repository root against a build directory. */
export function engineUrlFor(buildDir: string): string {
  return pathToFileURL(join(buildDir, 'src', 'hv', 'cpu', 'x86', 'testing', 'snippet.js')).href;
}

export interface Prepared { t: Template; code: Uint8Array }

/** Keeps the templates the host can run and assembles them in one nasm run per code size. */
export function prepare(templates: readonly Template[]): Prepared[] {
  const ok = templates.filter(hostSupports);
  const code = new Map<Template, Uint8Array>();
  for (const bits of [64, 32] as const) {
    const these = ok.filter((t) => (t.bits ?? 64) === bits);
    const codes = assembleSnippets(these.map((t) => t.asm), bits);
    these.forEach((t, k) => code.set(t, codes[k]!));
  }
  return ok.map((t) => ({ t, code: code.get(t)! }));
}

/** A template's seed depends on its name, so adding templates does not change others' cases. */
export function templateSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function makeCases(p: Prepared, count: number, seed: number): CaseInput[] {
  const r = new Rng(templateSeed(p.t.name, seed));
  const cases: CaseInput[] = [];
  for (let k = 0; k < count; k++) {
    const c = baseCase(p.code, r);
    if (p.t.bits === 32) c.bits = 32;
    p.t.init?.(c, r);
    cases.push(c);
  }
  return cases;
}

export interface Mismatch { template: Template; caseIndex: number; seed: number; report: string }

const scratchIn = defaultWindow().slice();
const scratchCmp = defaultWindow().slice();

/** Runs `count` cases of a template both ways; the first disagreement, or null. */
export function checkTemplate(p: Prepared, count: number, seed: number, engine: RunSnippet): Mismatch | null {
  return checkTemplates([p], count, seed, engine)[0] ?? null;
}

/** Cases per native runner process: large enough to amortise the spawn, small enough for memory. */
const CASES_PER_SPAWN = 16384;

/**
 * Runs several templates, batching their native runs into few runner processes; returns the first
 * mismatch of each template that has one, in template order.
 */
export function checkTemplates(ps: readonly Prepared[], count: number | ((p: Prepared) => number), seed: number, engine: RunSnippet): Mismatch[] {
  const countOf = typeof count === 'number' ? (): number => count : count;
  const out: Mismatch[] = [];
  let i = 0;
  while (i < ps.length) {
    const group: Prepared[] = [];
    let total = 0;
    do { group.push(ps[i]!); total += countOf(ps[i]!); i++; } while (i < ps.length && total + countOf(ps[i]!) <= CASES_PER_SPAWN);
    const cases = group.map((p) => makeCases(p, countOf(p), seed));
    const host = runNative(cases.flat());
    let at = 0;
    group.forEach((p, g) => {
      const n = cases[g]!.length;
      const m = compareCases(p, cases[g]!, host.slice(at, at + n), seed, engine);
      at += n;
      if (m !== null) out.push(m);
    });
  }
  return out;
}

function compareCases(p: Prepared, cases: CaseInput[], host: NativeOutcome[], seed: number, engine: RunSnippet): Mismatch | null {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[k]!;
    applyRuns(scratchIn, c.runs);
    let e: EngineOutcome;
    try {
      e = engine(p.code, { gpr: c.gpr, rflags: c.rflags, fxsave: c.fxsave, data: scratchIn }, p.t.bits ?? 64);
    } catch (err) {
      undoRuns(scratchIn, c.runs);
      return mismatch(p, c, k, seed, [`engine threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`]);
    }
    undoRuns(scratchIn, c.runs);
    const d = diffOutcomes(p.t, c, host[k]!, e, scratchCmp);
    if (d.length > 0) return mismatch(p, c, k, seed, d);
  }
  return null;
}

function mismatch(p: Prepared, c: CaseInput, k: number, seed: number, diffs: string[]): Mismatch {
  const report = [
    `template ${JSON.stringify(p.t.name)} (${p.t.area})`,
    `  asm: ${p.t.asm.replace(/\n/g, ' ; ')}`,
    `  bytes: ${Buffer.from(p.code).toString('hex')}`,
    `  case ${k} of seed ${seed} (reproduce: tools/cpu-fuzz --filter '${p.t.name}' --seed ${seed} --count ${k + 1})`,
    '  input:',
    describeInput(c),
    '  differences (host vs engine):',
    ...diffs.map((x) => '    ' + x),
  ].join('\n');
  return { template: p.t, caseIndex: k, seed, report };
}

/**
 * Cases per template in the node:test files: VIRIDIAN_DIFF_CASES, default 100. (With ~2300
 * templates, 1000 each is 2.3 million engine runs: far beyond the CI budget at the engine's
 * current few thousand snippets per second. tools/cpu-fuzz runs the millions.)
 */
export const DEFAULT_CASES = 100;
export function casesPerTemplate(): number {
  const v = process.env['VIRIDIAN_DIFF_CASES'];
  if (v === undefined || v === '') return DEFAULT_CASES;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`VIRIDIAN_DIFF_CASES must be a positive integer, not ${JSON.stringify(v)}`);
  return n;
}
