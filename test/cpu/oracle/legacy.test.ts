/**
 * 32-bit (compatibility-mode) code against the host CPU: BCD, PUSHA/POPA, BOUND, INTO, 16-bit
 * addressing, 16/32-bit stack and string forms.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate } from './oracle.js';
import { legacyTemplates } from './legacy-templates.js';

const CASES = Number(process.env['VIRIDIAN_ORACLE_CASES'] ?? 400);

test('32-bit code matches the host CPU in compatibility mode', () => {
  const failures: string[] = [];
  const all = legacyTemplates();
  all.forEach((t, k) => {
    const err = checkTemplate(t, CASES, 20000 + k);
    if (err) failures.push(err);
  });
  assert.equal(failures.length, 0, `${failures.length} of ${all.length} templates differ from the host:\n\n${failures.slice(0, 25).join('\n\n')}`);
});
