/**
 * Processor save/restore: a run interrupted at any point and continued from a restored copy on a
 * fresh processor ends in the same state as an uninterrupted run.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { enterMode } from '../../../src/hv/cpu/x86/testing/machine-states.js';
import { decodeState, encodeState } from '../../../src/common/saved-state.js';
import { assemble } from '../../helpers/nasm.js';

const NO_IO = { ioRead: () => 0xffffffff, ioWrite: () => { /* none */ } };

// A loop of ALU, moves and memory traffic in 64-bit mode that ends in HLT.
const PROGRAM = `
bits 64
org 0x20000
  mov rcx, 500
  mov rbx, 0x30000
  xor rax, rax
top:
  add rax, rcx
  xor rax, 0x5a5a
  mov [rbx], rax
  add rbx, 8
  cmp rbx, 0x31000
  jb .nowrap
  mov rbx, 0x30000
.nowrap:
  sub rcx, 1
  jnz top
  hlt
`;

function machine(): { mem: GuestMemory; vp: X86Processor } {
  const mem = new GuestMemory();
  mem.addRegion(0, 1 << 20);
  mem.writeBytes(0x20000, assemble(PROGRAM));
  const vp = new X86Processor(mem, NO_IO);
  enterMode(vp.cpu, 'long64', 0x20000);
  return { mem, vp };
}

function runToHalt(vp: X86Processor): void {
  for (let k = 0; k < 1000 && !vp.cpu.halted; k++) vp.run(100_000);
}

test('save at any point, restore on a new processor, same final state', () => {
  const ref = machine();
  runToHalt(ref.vp);
  assert.ok(ref.vp.cpu.halted, 'reference run halts');
  const refState = ref.vp.save();
  const refRam = new Uint8Array(ref.mem.regions[0]!.u8);

  for (const stopAt of [1, 7, 100, 999, 2500]) {
    const a = machine();
    a.vp.run(stopAt);
    const blob = encodeState([a.vp.save()]);
    const b = { mem: new GuestMemory(), vp: undefined as unknown as X86Processor };
    b.mem.addRegion(0, 1 << 20).u8.set(a.mem.regions[0]!.u8);
    b.vp = new X86Processor(b.mem, NO_IO);
    b.vp.restore(decodeState(blob)[0]!);
    runToHalt(b.vp);
    const got = b.vp.save();
    assert.deepEqual(got.data['gpr'], refState.data['gpr'], `registers after stopping at ${stopAt}`);
    assert.equal(got.data['rip'], refState.data['rip']);
    assert.equal(got.data['rflags'], refState.data['rflags']);
    assert.deepEqual(new Uint8Array(b.mem.regions[0]!.u8), refRam, `memory after stopping at ${stopAt}`);
  }
});

test('restore refuses a damaged record and leaves the processor untouched', () => {
  const a = machine();
  a.vp.run(50);
  const before = a.vp.save();
  const bad = { ...before, data: { ...before.data, gpr: new Uint8Array(5) } };
  assert.throws(() => a.vp.restore(bad), /field 'gpr' must hold 128 bytes/);
  assert.throws(() => a.vp.restore({ ...before, id: 'pc.pit' }), /record is for 'pc.pit'/);
  assert.deepEqual(a.vp.save(), before);
});
