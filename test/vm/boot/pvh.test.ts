/**
 * PVH planning (hvm_start_info fields, module list, memory map, command line, initrd placement,
 * errors) and the processor state at entry, checked by 32-bit code running on the engine.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { EXIT_HALT } from '../../../src/hv/processor.js';
import { planPvh, HVM_START_MAGIC, type PvhPlan } from '../../../src/vm/boot/pvh.js';
import { applyPvh } from '../../../src/vm/boot/apply-pvh.js';
import { FormatError } from '../../../src/common/errors.js';
import { assemble } from '../../helpers/nasm.js';
import { buildElf, pvhNote } from './elf-builder.js';

const MiB = 1 << 20;
const E820 = [{ base: 0, length: 0x9fc00, type: 1 }, { base: 0x9fc00, length: 0x400, type: 2 }, { base: 0x100000, length: 63 * MiB, type: 1 }];

function kernel(entryBytes: 4 | 8 = 8, code: Uint8Array = new Uint8Array(64).fill(0xf4)): Uint8Array {
  return buildElf({
    bits: 64, entry: 0x100000,
    segments: [{ paddr: 0x100000, data: code }, { paddr: 0x300000, data: new Uint8Array(100).fill(7), memsz: 0x5000 }],
    notes: [{ name: 'Xen', type: 6, desc: Buffer.from('linux\0') }, pvhNote(0x100000, entryBytes)],
  });
}

function written(plan: PvhPlan, address: number): Uint8Array {
  const w = plan.writes.find((x) => x.address === address);
  assert.ok(w, `a write at 0x${address.toString(16)}`);
  return w.data;
}

test('start info, module list, memory map and command line follow start_info.h (version 1)', () => {
  const initrd = new Uint8Array(3 * MiB + 123).fill(0x5a);
  for (const bytes of [4, 8] as const) {
    const plan = planPvh('vmlinux', kernel(bytes), { cmdline: 'console=ttyS0 quiet', initrd, e820: E820, rsdp: 0xe0000, lowRamEnd: 64 * MiB });
    assert.equal(plan.entry, 0x100000);
    assert.equal(plan.startInfo, 0x6000);
    assert.equal(plan.kernelStart, 0x100000);
    assert.equal(plan.kernelEnd, 0x305000);
    const si = written(plan, plan.startInfo);
    const v = new DataView(si.buffer, si.byteOffset, si.byteLength);
    const u64 = (o: number): number => Number(v.getBigUint64(o, true));
    assert.equal(v.getUint32(0, true), HVM_START_MAGIC);
    assert.equal(v.getUint32(4, true), 1, 'version');
    assert.equal(v.getUint32(8, true), 0, 'flags');
    assert.equal(v.getUint32(12, true), 1, 'nr_modules');
    assert.equal(u64(24), 0x20000, 'cmdline_paddr');
    assert.equal(u64(32), 0xe0000, 'rsdp_paddr');
    assert.equal(v.getUint32(48, true), 3, 'memmap_entries');
    assert.equal(v.getUint32(52, true), 0, 'reserved');
    // Module 0 is the initrd, at the top of low RAM, page-aligned, above the kernel.
    const mod = u64(16) - plan.startInfo;
    assert.equal(u64(16), plan.startInfo + 56, 'modlist right after the start info');
    const at = u64(mod);
    assert.equal(u64(mod + 8), initrd.length);
    assert.equal(u64(mod + 16), 0, 'no module command line');
    assert.equal(at % 4096, 0);
    assert.ok(at >= plan.kernelEnd && at + initrd.length <= 64 * MiB && 64 * MiB - (at + initrd.length) < 4096);
    assert.deepEqual(plan.initrd, { address: at, size: initrd.length });
    assert.equal(written(plan, at), initrd);
    const mm = u64(40) - plan.startInfo;
    E820.forEach((r, k) => {
      assert.deepEqual([u64(mm + k * 24), u64(mm + k * 24 + 8), v.getUint32(mm + k * 24 + 16, true), v.getUint32(mm + k * 24 + 20, true)], [r.base, r.length, r.type, 0]);
    });
    assert.equal(Buffer.from(written(plan, 0x20000)).toString('latin1'), 'console=ttyS0 quiet\0');
    // Segments go to their physical addresses; the BSS beyond the file bytes is zeroed.
    assert.equal(written(plan, 0x100000).length, 64);
    assert.deepEqual(plan.zero, [{ address: 0x300000 + 100, length: 0x5000 - 100 }]);
  }
  const bare = planPvh('vmlinux', kernel(), { cmdline: '', e820: E820, lowRamEnd: 64 * MiB, startInfoAddress: 0x8000, cmdlineAddress: 0x30000 });
  const v = new DataView(written(bare, 0x8000).buffer);
  assert.equal(v.getUint32(12, true), 0, 'no modules without an initrd');
  assert.equal(v.getBigUint64(16, true), 0n);
  assert.equal(v.getBigUint64(32, true), 0n, 'no RSDP given');
  assert.equal(bare.initrd, undefined);
});

test('planning errors name the problem and the fix', () => {
  const opts = { cmdline: 'x', e820: E820, lowRamEnd: 64 * MiB };
  const noNote = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(16) }] });
  assert.throws(() => planPvh('vmlinux', noNote, opts), /no PVH entry note .* CONFIG_PVH/);
  const outside = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(16) }], notes: [pvhNote(0x200000)] });
  assert.throws(() => planPvh('vmlinux', outside, opts), /entry point 0x200000 is not inside a loaded segment/);
  assert.throws(() => planPvh('vmlinux', kernel(), { ...opts, lowRamEnd: 2 * MiB }), /needs memory up to 0x305000 .* give the VM more memory/);
  assert.throws(() => planPvh('vmlinux', kernel(), { ...opts, cmdline: 'y'.repeat(2048) }), /command line is 2048 bytes; this kernel accepts at most 2047/);
  assert.throws(() => planPvh('vmlinux', kernel(), { ...opts, initrd: new Uint8Array(62 * MiB) }), (e: unknown) => e instanceof FormatError && /--initrd: initrd of .* does not fit/.test(e.message));
  assert.throws(() => planPvh('vmlinux', kernel(), { ...opts, e820: new Array(129).fill(E820[0]) }), /more than 128 entries/);
  const low = buildElf({ bits: 64, segments: [{ paddr: 0x5000, data: new Uint8Array(0x2000) }], notes: [pvhNote(0x5000)] });
  assert.throws(() => planPvh('vmlinux', low, opts), /segment 0 \(0x5000-0x7000\) overlaps the PVH start info at 0x6000/);
  assert.throws(() => planPvh('vmlinux', kernel(), { ...opts, cmdlineAddress: 0x6100 }), /start info page at 0x6000 and the command line at 0x6100 overlap/);
  const high = buildElf({ bits: 64, segments: [{ paddr: 0xffff0000, data: new Uint8Array(0x20000) }], notes: [pvhNote(0xffff0000)] });
  assert.throws(() => planPvh('vmlinux', high, opts), /ends above 0x100000000/);
  const badNote = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(16) }], notes: [{ name: 'Xen', type: 18, desc: new Uint8Array(2) }] });
  assert.throws(() => planPvh('vmlinux', badNote, opts), /PVH entry note has 2 bytes/);
});

test('applyPvh: 32-bit protected mode, paging off, EBX = start info, as code at the entry sees it', () => {
  const code = assemble(`
bits 32
org 0x100000
  mov esp, 0x90000
  mov eax, [ebx]
  mov [0x5000], eax        ; start info magic through EBX
  mov eax, cr0
  mov [0x5004], eax
  pushfd
  pop eax
  mov [0x5008], eax
  mov eax, cr4
  mov [0x500c], eax
  mov eax, [ebx + 24]
  mov eax, [eax]           ; first bytes of the command line
  mov [0x5010], eax
  mov eax, [0x300000 + 100]
  mov [0x5014], eax        ; BSS was zeroed
  str ax
  mov [0x5018], ax
  hlt
`);
  const mem = new GuestMemory();
  mem.addRegion(0, 64 * MiB);
  mem.writeBytes(0x300000, new Uint8Array(0x5000).fill(0xcc)); // stale bytes where the BSS goes
  const vp = new X86Processor(mem, { ioRead: () => 0xffffffff, ioWrite: () => { /* none */ } });
  const plan = planPvh('test', kernel(8, code), { cmdline: 'root=/dev/vda', e820: E820, lowRamEnd: 64 * MiB });
  applyPvh(mem, vp.cpu, plan);
  assert.equal(vp.cpu.codeSize, 4, '32-bit code segment');
  assert.equal(vp.cpu.paging, false);
  let exit = -1;
  for (let k = 0; k < 10 && exit !== EXIT_HALT; k++) exit = vp.run(1000);
  assert.equal(exit, EXIT_HALT);
  const out = new Uint8Array(0x1c);
  mem.readBytes(0x5000, out);
  const v = new DataView(out.buffer);
  assert.equal(v.getUint32(0, true), HVM_START_MAGIC);
  assert.equal(v.getUint32(4, true) & 0x8000003f, 0x11, 'CR0: PE (and the fixed ET), PG and the rest clear');
  assert.equal(v.getUint32(8, true) & 0x20300, 0, 'EFLAGS: IF, TF and VM clear');
  assert.equal(v.getUint32(12, true), 0, 'CR4 clear');
  assert.equal(Buffer.from(out.subarray(16, 20)).toString('latin1'), 'root');
  assert.equal(v.getUint32(20, true), 0, 'BSS zeroed');
  assert.equal(vp.cpu.segLimit[7], 0x67, 'TR limit');
  assert.equal(vp.cpu.segAttr[7]! & 0x8f, 0x8b, 'TR: present 32-bit busy TSS');
  assert.throws(() => applyPvh(new GuestMemory(), vp.cpu, plan), /do not fit in guest RAM/);
});
