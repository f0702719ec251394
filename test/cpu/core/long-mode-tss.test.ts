/**
 * A 64-bit TSS in the upper (kernel) half, as Linux places it (cpu_entry_area at 0xfffffe...):
 * LTR must keep the base exact and an exception from CPL 3 must switch to its RSP0. The base was
 * once kept as an unsigned sum above 2^53 and rounded, so RSP0 read as 0 and /init triple-faulted.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { CS, TR, CR0_PE, CR0_PG, CR4_PAE, EFER_LME, EFER_LMA } from '../../../src/hv/cpu/x86/constants.js';
import { assemble } from '../../helpers/nasm.js';

const KERNEL_HALF = 0xffff_8000_0000_0000n;

function setup(tssBase: bigint): { p: X86Processor; mem: GuestMemory } {
  const mem = new GuestMemory();
  mem.addRegion(0, 16 * 1024 * 1024);
  const q = (pa: number, v: bigint): void => { mem.write32(pa, Number(v & 0xffffffffn)); mem.write32(pa + 4, Number(v >> 32n)); };
  q(0x1000, 0x2000n | 7n);            // PML4[0]
  q(0x1000 + 256 * 8, 0x2000n | 7n);  // PML4[256]: the kernel half aliases the low 1 GiB
  q(0x2000, 0x3000n | 7n);            // PDPT[0]
  for (let i = 0; i < 8; i++) q(0x3000 + i * 8, BigInt(i * 0x200000) | 0x87n);
  const gdt = 0x10000;
  q(gdt + 0x08, 0x00209a0000000000n);  // kernel code 64
  q(gdt + 0x10, 0x0000920000000000n);  // kernel data
  q(gdt + 0x18, 0x0020fa0000000000n);  // user code 64, DPL 3
  q(gdt + 0x20, 0x0000f20000000000n);  // user data, DPL 3
  const b = tssBase;
  const lo = 0x67n | ((b & 0xffffffn) << 16n) | (0x89n << 40n) | (((b >> 24n) & 0xffn) << 56n);
  q(gdt + 0x28, lo);
  q(gdt + 0x30, (b >> 32n) & 0xffffffffn);
  q(0x20000 + 4, KERNEL_HALF | 0x30000n); // TSS.RSP0 (the TSS's page is 0x20000 through either alias)
  // IDT gate 6 (#UD) -> 0x40000, kernel code, interrupt gate
  q(0x11000 + 6 * 16, 0x00008e0000080000n | 0x0000n);
  q(0x11000 + 6 * 16, (0x0000n) | (0x08n << 16n) | (0x8en << 40n) | ((0x40000n >> 16n) << 48n));
  q(0x11000 + 6 * 16 + 8, 0n);
  // Kernel: LTR, then IRETQ to user code at 0x50000 whose UD2 faults back into the kernel.
  mem.writeBytes(0x60000, assemble(`bits 64\n mov ax, 0x28\n ltr ax\n push 0x23\n push 0x58000\n push 2\n push 0x1b\n push 0x50000\n iretq\n`));
  mem.writeBytes(0x50000, assemble(`bits 64\n ud2\n`));
  mem.writeBytes(0x40000, assemble(`bits 64\n hlt\n`));
  const p = new X86Processor(mem, { ioRead: () => 0, ioWrite: () => {} });
  const c = p.cpu;
  c.gdtBase = gdt; c.gdtLimit = 0x3f; c.idtBase = 0x11000; c.idtLimit = 0xfff;
  c.cr3 = 0x1000; c.cr4 = CR4_PAE; c.efer = EFER_LME | EFER_LMA; c.cr0 = CR0_PE | CR0_PG | 0x10; c.paging = true;
  c.segSel[CS] = 0x08; c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff; c.segAttr[CS] = 0xa09b;
  for (const s of [0, 2, 3, 4, 5]) { c.segSel[s] = 0x10; c.segBase[s] = 0; c.segLimit[s] = 0xffffffff; c.segAttr[s] = 0xc093; }
  c.setReg64(4, 0x70000, 0);
  c.rip = 0x60000;
  c.updateMode();
  return { p, mem };
}

test('an exception from CPL 3 switches to RSP0 of a TSS based in the kernel half', () => {
  const base = KERNEL_HALF | 0x20000n;
  const { p } = setup(base);
  p.run(100);
  const c = p.cpu;
  assert.equal(c.segBase[TR], Number(BigInt.asIntN(64, base)), 'TR base is the exact canonical address');
  assert.equal(c.rip, 0x40001, 'the #UD handler ran (and halted)');
  assert.equal(c.cpl, 0);
  assert.equal(c.regValue(4), Number(BigInt.asIntN(64, KERNEL_HALF | 0x30000n)) - 5 * 8, 'five-quadword frame on RSP0');
});

test('LTR of a TSS descriptor with a non-canonical base raises #GP', () => {
  const { p } = setup(0x0000_8000_0000_0000n);
  p.cpu.trapExceptions = true;
  p.run(100);
  assert.equal(p.cpu.trappedVector, 13);
  assert.equal(p.cpu.trappedErrorCode, 0x28);
});
