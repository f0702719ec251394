/**
 * Places a Multiboot load plan in guest memory and puts the boot processor in the state the
 * specification defines at entry.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { X86Cpu } from '../../hv/cpu/x86/cpu.js';
import { MULTIBOOT_BOOTLOADER_MAGIC, type MultibootPlan } from './multiboot.js';
import { CS, SS, DS, ES, FS, GS, ATTR_S, ATTR_P, ATTR_DB, ATTR_G, CR0_PE, CR0_ET } from '../../hv/cpu/x86/constants.js';
import { UserError } from '../../common/errors.js';

export function applyMultiboot(mem: GuestMemory, cpu: X86Cpu, plan: MultibootPlan): void {
  for (const w of plan.writes) {
    if (!mem.isRam(w.address, Math.max(1, w.data.length))) throw new UserError(`kernel segment at 0x${w.address.toString(16)} (${w.data.length} bytes) does not fit in guest RAM; give the VM more memory`);
    mem.writeBytes(w.address, w.data);
  }
  for (const z of plan.zero) {
    if (!mem.isRam(z.address, Math.max(1, z.length))) throw new UserError(`kernel BSS at 0x${z.address.toString(16)} does not fit in guest RAM`);
    mem.writeBytes(z.address, new Uint8Array(z.length));
  }
  const flat = (s: number, sel: number, type: number): void => {
    cpu.segSel[s] = sel; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = type | ATTR_S | ATTR_P | ATTR_DB | ATTR_G;
  };
  flat(CS, 0x08, 0xb);
  for (const s of [SS, DS, ES, FS, GS]) flat(s, 0x10, 0x3);
  cpu.cr0 = CR0_PE | CR0_ET;
  cpu.paging = false;
  cpu.eflags = 2;
  cpu.setReg32(0, MULTIBOOT_BOOTLOADER_MAGIC | 0);
  cpu.setReg32(3, plan.infoAddress);
  cpu.rip = plan.entry >>> 0;
  cpu.updateMode();
}
