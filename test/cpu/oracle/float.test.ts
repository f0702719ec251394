/**
 * SSE/SSE2 floating point against the host CPU, across rounding modes, DAZ/FTZ, special values
 * and unmasked exceptions.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate } from './oracle.js';
import { floatTemplates } from './float-templates.js';

const CASES = Number(process.env['VIRIDIAN_ORACLE_CASES'] ?? 400);

test('SSE floating-point arithmetic and compares match the host CPU', () => {
  const failures: string[] = [];
  const all = floatTemplates();
  all.forEach((t, k) => {
    const err = checkTemplate(t, CASES, 9000 + k);
    if (err) failures.push(err);
  });
  assert.equal(failures.length, 0, `${failures.length} of ${all.length} templates differ from the host:\n\n${failures.slice(0, 25).join('\n\n')}`);
});
