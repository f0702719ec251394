/**
 * Direct kernel boot: recognises what --kernel is, places it (and the initrd and command line) in
 * guest RAM with the loader its format needs, and puts the boot processor at its entry point.
 * Application processors stay in wait-for-SIPI; the guest starts them through its local APIC.
 */
import { FormatError } from '../../common/errors.js';
import { planLinux } from '../boot/linux.js';
import { applyLinux } from '../boot/apply-linux.js';
import { findMultibootHeader, planMultiboot } from '../boot/multiboot.js';
import { applyMultiboot } from '../boot/apply-multiboot.js';
import type { Machine } from './machine.js';

export interface KernelBoot {
  /** Path, for error messages. */
  kernelFile: string;
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
}

export type KernelFormat = 'bzimage' | 'multiboot';

export function detectKernelFormat(file: string, image: Uint8Array): KernelFormat {
  if (image.length >= 0x206 && image[0x202] === 0x48 && image[0x203] === 0x64 && image[0x204] === 0x72 && image[0x205] === 0x53) return 'bzimage';
  if (findMultibootHeader(image) !== undefined) return 'multiboot';
  const what = image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46 ? 'an ELF file without a Multiboot header or PVH note' : 'an unknown format';
  throw new FormatError(file, `is ${what}; --kernel accepts a Linux bzImage, a Multiboot v1 image or an ELF64 vmlinux with a PVH note`);
}

export function bootKernel(m: Machine, b: KernelBoot): KernelFormat {
  const format = detectKernelFormat(b.kernelFile, b.kernel);
  const e820 = m.layout.e820;
  if (format === 'bzimage') {
    const plan = planLinux(b.kernelFile, b.kernel, { cmdline: b.cmdline, initrd: b.initrd, e820, rsdp: m.rsdp, lowRamEnd: m.layout.lowRamEnd });
    applyLinux(m.mem, m.bsp.cpu, plan);
  } else {
    const modules = b.initrd !== undefined ? [{ data: b.initrd, cmdline: 'initrd' }] : [];
    const plan = planMultiboot(b.kernelFile, b.kernel, { cmdline: b.cmdline, memory: e820, modules });
    applyMultiboot(m.mem, m.bsp.cpu, plan);
  }
  m.bsp.cpu.stopBlock = true;
  return format;
}
