/**
 * Direct kernel boot: recognises what --kernel is, places it (and the initrd and command line) in
 * guest RAM with the loader its format needs, and puts the boot processor at its entry point.
 * Application processors stay in wait-for-SIPI; the guest starts them through its local APIC.
 *
 * A bzImage whose payload is a vmlinux with a PVH note is, by default, decompressed on the host
 * and entered through PVH: the guest sees the same machine (memory map, ACPI, command line,
 * initrd) without spending most of its boot decompressing itself in the emulated CPU.
 */
import { planLinux } from '../boot/linux.js';
import { applyLinux } from '../boot/apply-linux.js';
import { planMultiboot } from '../boot/multiboot.js';
import { applyMultiboot } from '../boot/apply-multiboot.js';
import { detectKernelFormat } from '../boot/kernel-format.js';
import { extractBzImagePayload } from '../boot/bzimage-payload.js';
import { parseElf } from '../boot/elf.js';
import { pvhEntryPoint, planPvh } from '../boot/pvh.js';
import { applyPvh } from '../boot/apply-pvh.js';
import { FormatError } from '../../common/errors.js';
import type { Machine } from './machine.js';

export type BootProtocol = 'auto' | 'linux' | 'pvh';

export interface KernelBoot {
  /** Path, for error messages. */
  kernelFile: string;
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
  /** auto: PVH when the kernel has the note (host-side decompression for bzImages), else its own protocol. */
  protocol?: BootProtocol;
}

export type BootedAs = 'linux' | 'pvh' | 'multiboot';

/** Decompressed payloads, so a guest reset does not decompress the kernel again. */
const payloads = new WeakMap<Uint8Array, Uint8Array | null>();

function pvhImageOf(b: KernelBoot): Uint8Array | undefined {
  let elf = payloads.get(b.kernel);
  if (elf === undefined) {
    try {
      const p = extractBzImagePayload(b.kernelFile, b.kernel);
      elf = pvhEntryPoint(b.kernelFile, parseElf(b.kernelFile, p.elf)) !== undefined ? p.elf : null;
    } catch (e) {
      // Compressions we cannot decode on the host still boot the classic way.
      if (!(e instanceof FormatError)) throw e;
      elf = null;
    }
    payloads.set(b.kernel, elf);
  }
  return elf ?? undefined;
}

export function bootKernel(m: Machine, b: KernelBoot): BootedAs {
  const format = detectKernelFormat(b.kernelFile, b.kernel);
  const protocol = b.protocol ?? 'auto';
  const e820 = m.layout.e820;
  const cpu = m.bsp.cpu;
  let as: BootedAs;
  if (format.kind === 'multiboot') {
    if (protocol === 'pvh') throw new FormatError(b.kernelFile, 'is a Multiboot kernel; --boot-protocol pvh needs a Linux kernel with a PVH note');
    const modules = b.initrd !== undefined ? [{ data: b.initrd, cmdline: 'initrd' }] : [];
    applyMultiboot(m.mem, cpu, planMultiboot(b.kernelFile, b.kernel, { cmdline: b.cmdline, memory: e820, modules }));
    as = 'multiboot';
  } else {
    const elf = format.kind === 'pvh-elf' ? b.kernel : protocol === 'linux' ? undefined : pvhImageOf(b);
    if (elf !== undefined) {
      const plan = planPvh(b.kernelFile, elf, { cmdline: b.cmdline, initrd: b.initrd, e820, rsdp: m.rsdp, lowRamEnd: m.layout.lowRamEnd });
      applyPvh(m.mem, cpu, plan);
      as = 'pvh';
    } else {
      if (protocol === 'pvh') throw new FormatError(b.kernelFile, 'has no PVH entry note in its payload (or its compression cannot be decoded on the host); use --boot-protocol linux');
      if (format.kind !== 'bzimage') throw new FormatError(b.kernelFile, 'is an ELF vmlinux: it boots through PVH only');
      applyLinux(m.mem, cpu, planLinux(b.kernelFile, b.kernel, { cmdline: b.cmdline, initrd: b.initrd, e820, rsdp: m.rsdp, lowRamEnd: m.layout.lowRamEnd }));
      as = 'linux';
    }
  }
  cpu.stopBlock = true;
  return as;
}
