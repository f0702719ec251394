/**
 * The software TLB's INVLPG reach with large pages: entries filled from a 2 MiB page are cached
 * per 4 KiB piece, so INVLPG of one address must drop every piece of that large page, while
 * translations elsewhere may stay (a full flush per INVLPG made Linux's boot thrash the TLB).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Cpu } from '../../../src/hv/cpu/x86/engine.js';
import { translate, flushTlbPage, flushTlb } from '../../../src/hv/cpu/x86/mmu.js';
import { CR0_PE, CR0_PG, CR4_PAE, EFER_LME, EFER_LMA, K_R } from '../../../src/hv/cpu/x86/constants.js';

const PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000;
const MIB2 = 0x200000;

function longModeCpu(): { c: X86Cpu; mem: GuestMemory; setPde: (i: number, pa: number) => void } {
  const mem = new GuestMemory();
  mem.addRegion(0, 16 * MIB2);
  const c = new X86Cpu(mem, { ioRead: () => 0, ioWrite: () => {} }, 0);
  mem.write32(PML4, PDPT | 3);
  mem.write32(PDPT, PD | 3);
  const setPde = (i: number, pa: number): void => { mem.write32(PD + i * 8, (pa | 0x83) >>> 0); mem.write32(PD + i * 8 + 4, 0); };
  for (let i = 0; i < 8; i++) setPde(i, i * MIB2);
  c.cr3 = PML4; c.cr4 = CR4_PAE; c.efer = EFER_LME | EFER_LMA; c.cr0 = CR0_PE | CR0_PG; c.paging = true;
  c.updateMode();
  flushTlb(c, false);
  return { c, mem, setPde };
}

test('INVLPG inside a 2 MiB page drops all of its cached 4 KiB pieces', () => {
  const { c, setPde } = longModeCpu();
  const a = 2 * MIB2 + 0x1000, b = 2 * MIB2 + 0x1ff000, other = 5 * MIB2 + 0x3000;
  assert.equal(translate(c, a, K_R), a);
  assert.equal(translate(c, b, K_R), b);
  assert.equal(translate(c, other, K_R), other);
  setPde(2, 7 * MIB2); // remap the large page at 4 MiB to 14 MiB
  setPde(5, 6 * MIB2); // also remapped, but not invalidated: the stale entry may legally stay
  flushTlbPage(c, a);
  const fast = (la: number): number => { const vpn = Math.floor(la / 4096); const idx = K_R * 1024 + (vpn & 1023); return c.tlbTag[idx] === vpn ? c.regions[c.tlbReg[idx]!]!.base + c.tlbOff[idx]! + la % 4096 : -1; };
  assert.equal(fast(b), -1, 'the other end of the same large page is no longer cached');
  assert.equal(translate(c, b, K_R), 7 * MIB2 + 0x1ff000);
  assert.equal(fast(other), other, 'a different large page keeps its entry (no full flush)');
});

test('INVLPG with only 4 KiB pages filled drops just that page', () => {
  const { c } = longModeCpu();
  c.largePageSpan = 0;
  flushTlb(c, false);
  assert.equal(c.largePageSpan, 0);
  translate(c, 0x3000, K_R);
  assert.equal(c.largePageSpan, 512, 'filled from a 2 MiB page');
});
