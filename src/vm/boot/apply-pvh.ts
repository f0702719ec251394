/**
 * Places a PVH load plan in guest memory and puts the boot processor in the state the PVH ABI
 * defines at entry: 32-bit protected mode with flat 4 GiB code and data segments, paging off,
 * CR0 = PE (ET is fixed), CR4 = 0, TR a 32-bit busy TSS at base 0 with limit 0x67, EFLAGS with IF,
 * TF and VM clear, EBX = the hvm_start_info address. Selectors are unspecified by the ABI.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { X86Cpu } from '../../hv/cpu/x86/cpu.js';
import type { PvhPlan } from './pvh.js';
import { CS, SS, DS, ES, FS, GS, TR, RBX, ATTR_S, ATTR_P, ATTR_DB, ATTR_G, CR0_PE, CR0_ET } from '../../hv/cpu/x86/constants.js';
import { flushTlb } from '../../hv/cpu/x86/mmu.js';
import { UserError } from '../../common/errors.js';

const ZERO_CHUNK = 1 << 20;

export function applyPvh(mem: GuestMemory, cpu: X86Cpu, plan: PvhPlan): void {
  for (const w of plan.writes) {
    if (!mem.isRam(w.address, Math.max(1, w.data.length))) throw new UserError(`PVH boot: ${w.data.length} bytes at 0x${w.address.toString(16)} do not fit in guest RAM; give the VM more memory`);
    mem.writeBytes(w.address, w.data);
  }
  let zeros: Uint8Array | undefined;
  for (const z of plan.zero) {
    if (!mem.isRam(z.address, Math.max(1, z.length))) throw new UserError(`PVH boot: kernel memory at 0x${z.address.toString(16)} (${z.length} bytes) does not fit in guest RAM`);
    zeros ??= new Uint8Array(Math.min(ZERO_CHUNK, z.length));
    for (let done = 0; done < z.length; done += zeros.length) {
      const n = Math.min(zeros.length, z.length - done);
      mem.writeBytes(z.address + done, n === zeros.length ? zeros : zeros.subarray(0, n));
    }
  }
  const flat = (s: number, sel: number, type: number): void => {
    cpu.segSel[s] = sel; cpu.segBase[s] = 0; cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = type | ATTR_S | ATTR_P | ATTR_DB | ATTR_G;
  };
  flat(CS, 0x08, 0xb);
  for (const s of [SS, DS, ES, FS, GS]) flat(s, 0x10, 0x3);
  cpu.segSel[TR] = 0x18; cpu.segBase[TR] = 0; cpu.segLimit[TR] = 0x67;
  cpu.segAttr[TR] = 0xb | ATTR_P;
  cpu.cr0 = CR0_PE | CR0_ET;
  cpu.cr4 = 0;
  cpu.efer = 0;
  cpu.paging = false;
  cpu.setFlags(2);
  cpu.setReg32(RBX, plan.startInfo);
  cpu.rip = plan.entry >>> 0;
  cpu.updateMode();
  // Paging is off now: translations cached under an earlier mode (a reboot) must not survive.
  flushTlb(cpu, false);
}
