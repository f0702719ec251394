/**
 * SSE/SSE2/MMX instructions against the host CPU (XMM registers, MXCSR, the x87/MMX image where
 * the template asks, memory, exceptions).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, hostHas } from './oracle.js';
import { sseTemplates } from './sse-templates.js';

const CASES = Number(process.env['VIRIDIAN_ORACLE_CASES'] ?? 400);

test('SSE, SSE2 and MMX instructions match the host CPU', () => {
  const failures: string[] = [];
  let run = 0;
  sseTemplates().forEach((t, k) => {
    if (t.needs !== undefined && !hostHas(t.needs)) return;
    const err = checkTemplate(t, CASES, 5000 + k);
    run++;
    if (err) failures.push(err);
  });
  assert.equal(failures.length, 0, `${failures.length} of ${run} templates differ from the host:\n\n${failures.slice(0, 25).join('\n\n')}`);
});
