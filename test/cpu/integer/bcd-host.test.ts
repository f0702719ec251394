/**
 * The BCD adjustments (32-bit code only) compared exhaustively with the host CPU: every AL, four AH
 * values and every CF/AF input, run natively as a 32-bit Linux program and in the engine in
 * compatibility mode. Flags the SDM leaves undefined are masked per instruction.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { assemble, run, runHost32, SNIPPET_DATA_BASE, CF, PF, AF, ZF, SF, OF, ARITH } from './harness.js';

const RECORDS = 4 * 1024;
const BYTES = RECORDS * 4;

/** Loop writing, per (AH, flags-in, AL), the resulting AX and low flag word at [EDI]. */
function sweep(op: string): string {
  return `
  mov ecx, 0x12ff0900
  mov esi, 4
%%outer:
  xor ebx, ebx
%%inner:
  mov edx, ebx
  shr edx, 8
  mov eax, edx
  and edx, 1
  and eax, 2
  shl eax, 3
  or edx, eax
  mov al, bl
  mov ah, cl
  push edx
  popfd
  ${op}
  mov [edi], ax
  pushfd
  pop edx
  mov [edi+2], dx
  add edi, 4
  inc ebx
  cmp ebx, 0x400
  jb %%inner
  ror ecx, 8
  dec esi
  jnz %%outer
`;
}

/** nasm's %% labels need a macro context: wrap the sweep in a one-shot macro. */
function macroSweep(op: string): string {
  return `%macro sweep_once 0\n${sweep(op)}\n%endmacro\nsweep_once\n`;
}

const OPS: [string, number][] = [
  ['daa', OF], ['das', OF],
  ['aaa', OF | SF | ZF | PF], ['aas', OF | SF | ZF | PF],
  ['aam', OF | AF | CF], ['aam 7', OF | AF | CF], ['aam 255', OF | AF | CF],
  ['aad', OF | AF | CF], ['aad 3', OF | AF | CF], ['aad 0', OF | AF | CF],
];

test('DAA DAS AAA AAS AAM AAD match the host CPU for every AL, CF and AF', () => {
  const failures: string[] = [];
  OPS.forEach(([op, undef]) => {
    const body = `mov edi, 0x${SNIPPET_DATA_BASE.toString(16)}\nmov esp, 0x${(SNIPPET_DATA_BASE + 0xf000).toString(16)}\n${macroSweep(op)}`;
    const host = runHost32(body);
    const code = assemble(32, body);
    const r = run(code, {}, 32);
    assert.equal(r.exception, null, `${op}: engine raised vector ${r.exception}`);
    const mask = ARITH & ~undef;
    const h = new DataView(host.buffer, host.byteOffset, BYTES);
    const e = new DataView(r.state.data.buffer, r.state.data.byteOffset, BYTES);
    for (let n = 0; n < RECORDS; n++) {
      const hax = h.getUint16(n * 4, true), eax = e.getUint16(n * 4, true);
      const hf = h.getUint16(n * 4 + 2, true) & mask, ef = e.getUint16(n * 4 + 2, true) & mask;
      if (hax !== eax || hf !== ef) {
        const ah = [0x00, 0x09, 0xff, 0x12][n >> 10]!, fin = (n >> 8) & 3, al = n & 0xff;
        failures.push(`${op}: AX=${(ah << 8 | al).toString(16)} CF=${fin & 1} AF=${fin >> 1}: host AX=${hax.toString(16)} flags=${hf.toString(16)}, engine AX=${eax.toString(16)} flags=${ef.toString(16)}`);
        break;
      }
    }
  });
  assert.deepEqual(failures, []);
});

test('AAM 0 raises #DE and leaves AX alone', () => {
  const r = run(assemble(32, 'mov ax, 0x1234\naam 0'), {}, 32);
  assert.equal(r.exception, 0);
  assert.equal(r.state.gpr[0]! & 0xffffn, 0x1234n);
});

test('BCD instructions are #UD in 64-bit mode', () => {
  for (const bytes of [[0x27], [0x2f], [0x37], [0x3f], [0xd4, 0x0a], [0xd5, 0x0a], [0xd6]]) {
    const r = run(new Uint8Array(bytes), {}, 64);
    assert.equal(r.exception, 6, `opcode ${bytes[0]!.toString(16)} in 64-bit mode`);
  }
});
