/**
 * A register dump for the operator when a guest dies (triple fault, --no-reboot): the same facts
 * QEMU prints with -d cpu_reset, in a compact form.
 */
import type { X86Cpu } from '../../hv/cpu/x86/cpu.js';
import { SEG_NAMES } from '../../hv/cpu/x86/constants.js';

const GPR = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

function hex64(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

function hexNum(v: number, width = 16): string {
  return v < 0 ? '-' + (-v).toString(16) : v.toString(16).padStart(width, '0');
}

export function describeCpuState(c: X86Cpu): string {
  const lines: string[] = [];
  for (let i = 0; i < 16; i += 4) {
    lines.push(GPR.slice(i, i + 4).map((n, k) => `${n.padStart(3)}=${hex64(c.regHi(i + k), c.reg32(i + k))}`).join(' '));
  }
  lines.push(`rip=${hexNum(c.rip)} rflags=${hexNum(c.getFlags(), 8)} cpl=${c.cpl} mode=${c.mode64 ? '64-bit' : c.protectedMode ? `protected ${c.codeSize * 8}-bit` : 'real'}`);
  for (let s = 0; s < 8; s++) {
    lines.push(`${SEG_NAMES[s]!.padEnd(4)} sel=${c.segSel[s]!.toString(16).padStart(4, '0')} base=${hexNum(c.segBase[s]!)} limit=${hexNum(c.segLimit[s]!, 8)} attr=${c.segAttr[s]!.toString(16).padStart(4, '0')}`);
  }
  lines.push(`gdt=${hexNum(c.gdtBase)}/${c.gdtLimit.toString(16)} idt=${hexNum(c.idtBase)}/${c.idtLimit.toString(16)}`);
  lines.push(`cr0=${hexNum(c.cr0 >>> 0, 8)} cr2=${hexNum(c.cr2)} cr3=${hexNum(c.cr3)} cr4=${hexNum(c.cr4 >>> 0, 8)} efer=${hexNum(c.efer, 4)}`);
  lines.push(`instructions retired: ${c.icount}`);
  return lines.join('\n');
}
