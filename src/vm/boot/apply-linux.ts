/**
 * Enters a Linux kernel loaded by planLinux through the 64-bit boot protocol (Documentation/arch/
 * x86/boot.rst, "64-bit boot protocol"): long mode with paging on, an identity map covering the
 * kernel, boot_params, the command line and the initrd, __BOOT_CS (0x10) and __BOOT_DS (0x18)
 * flat segments from a GDT we provide, RSI = boot_params, interrupts off.
 *
 * The identity map spans the first 4 GiB with 2 MiB pages; the page tables and GDT sit in low
 * memory the kernel treats as free RAM once it has built its own.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { X86Cpu } from '../../hv/cpu/x86/cpu.js';
import { CS, SS, DS, ES, FS, GS, ATTR_S, ATTR_P, ATTR_DB, ATTR_G, ATTR_L, CR0_PE, CR0_ET, CR0_PG, CR4_PAE, EFER_LME, EFER_LMA, RSI } from '../../hv/cpu/x86/constants.js';
import { UserError } from '../../common/errors.js';
import type { LinuxPlan } from './linux.js';

/** Low-memory scratch the loader uses (below the boot_params at 0x7000 would collide; these do not). */
export const BOOT_GDT = 0x6000;
export const BOOT_PML4 = 0x9000;
const PDPT = 0xa000;
const PD0 = 0xb000; // four page directories: 0xB000..0xEFFF

export function applyLinux(mem: GuestMemory, cpu: X86Cpu, plan: LinuxPlan): void {
  for (const w of plan.writes) {
    if (!mem.isRam(w.address, Math.max(1, w.data.length))) throw new UserError(`kernel data at 0x${w.address.toString(16)} (${w.data.length} bytes) does not fit in guest RAM; give the VM more memory`);
    mem.writeBytes(w.address, w.data);
  }
  writeIdentityMap(mem);
  writeGdt(mem);
  const seg = (s: number, sel: number, type: number, long: boolean): void => {
    cpu.segSel[s] = sel; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = type | ATTR_S | ATTR_P | ATTR_G | (long ? ATTR_L : ATTR_DB);
  };
  seg(CS, 0x10, 0xb, true);
  for (const s of [SS, DS, ES, FS, GS]) seg(s, 0x18, 0x3, false);
  cpu.gdtBase = BOOT_GDT; cpu.gdtLimit = 4 * 8 - 1;
  cpu.idtBase = 0; cpu.idtLimit = 0;
  cpu.cr3 = BOOT_PML4;
  cpu.cr4 = CR4_PAE;
  cpu.efer = EFER_LME | EFER_LMA;
  cpu.cr0 = CR0_PE | CR0_ET | CR0_PG;
  cpu.paging = true;
  cpu.eflags = 2;
  cpu.setReg32(RSI, plan.bootParams);
  cpu.rip = plan.entry;
  cpu.updateMode();
}

function writeIdentityMap(mem: GuestMemory): void {
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  v.setUint32(0, PDPT | 3, true);
  mem.writeBytes(BOOT_PML4, page);
  page.fill(0);
  for (let i = 0; i < 4; i++) v.setUint32(i * 8, (PD0 + i * 4096) | 3, true);
  mem.writeBytes(PDPT, page);
  for (let d = 0; d < 4; d++) {
    for (let i = 0; i < 512; i++) {
      const pa = (d * 512 + i) * 0x200000;
      v.setUint32(i * 8, (pa | 0x83) >>> 0, true); // present, writable, 2 MiB page
      v.setUint32(i * 8 + 4, 0, true);
    }
    mem.writeBytes(PD0 + d * 4096, page);
  }
}

function writeGdt(mem: GuestMemory): void {
  const gdt = new Uint8Array(32);
  const v = new DataView(gdt.buffer);
  // 0x10: 64-bit code (L), 0x18: data; both flat, DPL 0, accessed.
  v.setBigUint64(0x10, 0x00af9b000000ffffn, true);
  v.setBigUint64(0x18, 0x00cf93000000ffffn, true);
  mem.writeBytes(BOOT_GDT, gdt);
}
