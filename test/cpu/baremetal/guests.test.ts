/**
 * The bare-metal guests in guests/baremetal, assembled with nasm and run on the engine through the
 * minimal harness: each reports 0 through the debug-exit port when every check inside it passed,
 * or the number of the failed check.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runBareMetal } from '../../../src/hv/cpu/x86/testing/bare-metal.js';
import { assembleFile } from '../../helpers/nasm.js';

const dir = join(process.cwd(), 'guests', 'baremetal');

for (const f of readdirSync(dir).filter((n) => n.endsWith('.asm')).sort()) {
  test(`bare-metal guest ${f}`, () => {
    const r = runBareMetal(assembleFile(join(dir, f)));
    const failed = r.status !== undefined && r.status !== 1 ? `check ${(r.status - 1) / 2} failed` : '';
    assert.equal(r.end, 'debug-exit', `${f} ended by ${r.end} (console ${JSON.stringify(r.console)}); ${r.state}`);
    assert.equal(r.status, 1, `${f}: ${failed} (console ${JSON.stringify(r.console)}); ${r.state}`);
  });
}
