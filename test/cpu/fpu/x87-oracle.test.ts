/**
 * x87 instructions against the host CPU: FCW/FSW, the eight registers (FXSAVE image), memory
 * results and EFLAGS, over the operand mix of x87-templates.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate } from '../oracle/oracle.js';
import { x87Templates } from './x87-templates.js';

const CASES = Number(process.env['VIRIDIAN_ORACLE_CASES'] ?? 100);

test('x87 instructions match the host CPU', () => {
  const failures: string[] = [];
  const all = x87Templates();
  all.forEach((t, k) => {
    const err = checkTemplate(t, CASES, 12000 + k);
    if (err) failures.push(err);
  });
  assert.equal(failures.length, 0, `${failures.length} of ${all.length} templates differ from the host:\n\n${failures.slice(0, 40).join('\n\n')}`);
});
