/**
 * The shared body of the per-area test files: one node:test test that runs every template the host
 * supports and reports each mismatching template once, with its first failing case.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { casesPerTemplate, checkTemplates, loadEngine, prepare, type Prepared } from './harness.js';
import { mnemonicOf, type Template } from './template.js';

/** The fixed seed of the CI run; tools/cpu-fuzz varies it. */
export const CI_SEED = 20260401;

/**
 * `knownDivergent` names templates where the engine is known to differ from the host (each with
 * the reason). They run in a separate test marked todo: reported on every run, not hidden, and
 * not failing it — the list is the open work, and an entry must go once its template matches.
 */
export function runArea(area: string, templates: Template[], knownDivergent: Map<string, string> = new Map()): void {
  const open = templates.filter((t) => knownDivergent.has(t.name));
  if (open.length > 0) {
    const reasons = [...new Set(open.map((t) => knownDivergent.get(t.name)!))].join('; ');
    test(`${area}: ${open.length} templates known to differ from the host still differ`, { todo: reasons }, async () => {
      const engine = await loadEngine();
      const failures = checkTemplates(prepare(open), casesPerTemplate(), CI_SEED, engine).map((m) => m.report);
      assert.equal(failures.length, 0, failures.join('\n\n'));
    });
  }
  const checked = templates.filter((t) => !knownDivergent.has(t.name));
  test(`${area} instructions agree with the host CPU`, async () => {
    const engine = await loadEngine();
    const prepared = prepare(checked);
    assert.ok(prepared.length > 0, `the host supports none of the ${templates.length} ${area} templates`);
    const n = casesPerTemplate();
    const failures = checkTemplates(prepared, casesFor(prepared, n), CI_SEED, engine).map((m) => m.report);
    const skipped = checked.length - prepared.length;
    assert.equal(failures.length, 0,
      `${failures.length} of ${prepared.length} ${area} templates differ from the host (at least ${n} cases each, ${MIN_CASES_PER_INSTRUCTION} per instruction${skipped ? `, ${skipped} not supported by this host` : ''}):\n\n${failures.join('\n\n')}`);
  });
}

/** Cases every instruction (mnemonic) of an area gets at least, spread over its templates. */
export const MIN_CASES_PER_INSTRUCTION = 1000;

/**
 * `n` cases per template, raised for instructions with few templates so that each instruction
 * meets MIN_CASES_PER_INSTRUCTION: an instruction with one template runs it 1000 times.
 */
function casesFor(prepared: readonly Prepared[], n: number): (p: Prepared) => number {
  const templatesOf = new Map<string, number>();
  for (const p of prepared) { const m = mnemonicOf(p.t); templatesOf.set(m, (templatesOf.get(m) ?? 0) + 1); }
  return (p) => Math.max(n, Math.ceil(MIN_CASES_PER_INSTRUCTION / templatesOf.get(mnemonicOf(p.t))!));
}
