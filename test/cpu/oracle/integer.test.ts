/**
 * Integer instructions against the host CPU: every template runs VIRIDIAN_ORACLE_CASES cases
 * (default 400) natively and on the engine; registers, memory, exceptions and the defined flags
 * must agree. One failure per template is reported, with its reproducible input.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, hostHas } from './oracle.js';
import { integerTemplates } from './integer-templates.js';

const CASES = Number(process.env['VIRIDIAN_ORACLE_CASES'] ?? 400);

test('integer instructions match the host CPU', () => {
  const failures: string[] = [];
  let run = 0;
  integerTemplates().forEach((t, k) => {
    if (t.needs !== undefined && !hostHas(t.needs)) return;
    const err = checkTemplate(t, CASES, 1000 + k);
    run++;
    if (err) failures.push(err);
  });
  assert.ok(run > 300, `only ${run} templates ran`);
  assert.equal(failures.length, 0, `${failures.length} of ${run} templates differ from the host:\n\n${failures.slice(0, 25).join('\n\n')}`);
});
