/**
 * When SSE instructions are unavailable: #UD with CR4.OSFXSR clear or CR0.EM set, #NM with CR0.TS
 * (SDM vol. 2, the "Exceptions" of each SSE page). Checked for the SSE4.2 instructions next to an
 * SSE2 one; CRC32 is a general-purpose instruction and runs regardless.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { runSnippet, SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE } from '../../../src/hv/cpu/x86/testing/snippet.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR } from '../../../src/hv/cpu/x86/constants.js';
import { assemble } from '../../helpers/nasm.js';
import { defaultFx } from '../diff/fx.js';

function runWith(asm: string, control: { cr0Set?: number; cr4Clear?: number }): number | null {
  const gpr = new BigUint64Array(16);
  gpr[3] = BigInt(SNIPPET_DATA_BASE + 0x100);
  gpr[4] = BigInt(SNIPPET_DATA_BASE + 0x8000);
  const r = runSnippet(assemble(`bits 64\n${asm}\n`), { gpr, rflags: 2, fxsave: defaultFx(), data: new Uint8Array(SNIPPET_DATA_SIZE) }, 64, control);
  return r.exception;
}

const SSE = ['paddd xmm1, xmm2', 'pcmpgtq xmm1, xmm2', 'pcmpestri xmm1, xmm2, 0x0c', 'pcmpestrm xmm1, [rbx], 0x40',
  'pcmpistri xmm3, xmm4, 0x1a', 'pcmpistrm xmm1, xmm2, 0x44'];

test('SSE4.2 instructions raise #UD without OSFXSR or with EM, and #NM with TS', () => {
  for (const asm of SSE) {
    assert.equal(runWith(asm, {}), null, `${asm} runs normally`);
    assert.equal(runWith(asm, { cr4Clear: CR4_OSFXSR }), 6, `${asm} with CR4.OSFXSR clear`);
    assert.equal(runWith(asm, { cr0Set: CR0_EM }), 6, `${asm} with CR0.EM`);
    assert.equal(runWith(asm, { cr0Set: CR0_TS }), 7, `${asm} with CR0.TS`);
    assert.equal(runWith(asm, { cr0Set: CR0_EM | CR0_TS }), 6, `${asm}: #UD for EM ranks above #NM`);
  }
});

test('CRC32 is not an SSE instruction: it runs with OSFXSR clear, EM or TS', () => {
  for (const asm of ['crc32 eax, cl', 'crc32 rax, qword [rbx]', 'crc32 ecx, word [rbx]']) {
    for (const control of [{}, { cr4Clear: CR4_OSFXSR }, { cr0Set: CR0_EM }, { cr0Set: CR0_TS }]) {
      assert.equal(runWith(asm, control), null, `${asm} with ${JSON.stringify(control)}`);
    }
  }
});
