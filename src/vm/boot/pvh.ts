/**
 * The PVH boot ABI (Xen's x86/HVM direct boot, docs/misc/pvh.pandoc; structures from
 * xen/include/public/arch-x86/hvm/start_info.h), which QEMU and Firecracker also use to start an
 * uncompressed Linux `vmlinux`: the ELF's PT_LOAD segments go to their physical addresses, an
 * hvm_start_info (version 1) describes the command line, the modules (the initrd is module 0),
 * the RSDP and the memory map, and the processor enters the address in the Xen note
 * XEN_ELFNOTE_PHYS32_ENTRY in 32-bit protected mode with paging off and EBX = the start info.
 *
 * Layout: the start info, the module list and the memory map share one page (default 0x6000), the
 * command line sits at 0x20000 as for the Linux boot protocol, and the initrd goes at the top of
 * low RAM, page-aligned, above the kernel.
 */
import { FormatError } from '../../common/errors.js';
import { findNote, parseElf, type ElfImage } from './elf.js';
import type { MemoryRange } from './multiboot.js';

export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
export const HVM_START_MAGIC = 0x336ec578;
export const HVM_START_INFO_SIZE = 56;
export const HVM_MODLIST_ENTRY_SIZE = 32;
export const HVM_MEMMAP_ENTRY_SIZE = 24;
/** Linux's x86 COMMAND_LINE_SIZE is 2048 including the terminating NUL. */
export const PVH_DEFAULT_MAX_CMDLINE = 2047;

const MODLIST_OFFSET = HVM_START_INFO_SIZE;
const MEMMAP_OFFSET = MODLIST_OFFSET + HVM_MODLIST_ENTRY_SIZE;
const MAX_MEMMAP_ENTRIES = 128;
const FOUR_GIB = 2 ** 32;

/** The PVH entry point from the Xen note (4- or 8-byte value), or undefined without the note. */
export function pvhEntryPoint(file: string, elf: ElfImage): number | undefined {
  const note = findNote(elf, 'Xen', XEN_ELFNOTE_PHYS32_ENTRY);
  if (note === undefined) return undefined;
  const d = note.desc;
  if (d.length !== 4 && d.length !== 8) throw new FormatError(file, `PVH entry note has ${d.length} bytes (expected 4 or 8)`);
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (d.length === 8 && dv.getUint32(4, true) !== 0) throw new FormatError(file, 'PVH entry point is above 4 GiB');
  return dv.getUint32(0, true);
}

export interface PvhLoadOptions {
  cmdline: string;
  initrd?: Uint8Array;
  /** RAM and holes as the guest should see them (becomes the start info's memory map). */
  e820: MemoryRange[];
  /** Physical address of the ACPI RSDP (0 tells the kernel to search for it). */
  rsdp?: number;
  /** Total RAM below 4 GiB: the kernel must end below it and the initrd is placed at its top. */
  lowRamEnd: number;
  /** Page holding the start info, module list and memory map (default 0x6000). */
  startInfoAddress?: number;
  /** Where the command line goes (default 0x20000). */
  cmdlineAddress?: number;
  /** Longest command line accepted, in bytes without the NUL (default 2047). */
  maxCmdline?: number;
}

export interface PvhPlan {
  /** Bytes to place in guest-physical memory. */
  writes: { address: number; data: Uint8Array }[];
  /** Ranges to zero (the part of a segment beyond its file bytes). */
  zero: { address: number; length: number }[];
  /** 32-bit entry point (from XEN_ELFNOTE_PHYS32_ENTRY). */
  entry: number;
  /** Physical address of the hvm_start_info (for EBX). */
  startInfo: number;
  /** Physical range the kernel's segments occupy. */
  kernelStart: number;
  kernelEnd: number;
  initrd?: { address: number; size: number };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function planPvh(file: string, elfBytes: Uint8Array, opts: PvhLoadOptions): PvhPlan {
  const elf = parseElf(file, elfBytes, { maxPhysical: FOUR_GIB });
  const entry = pvhEntryPoint(file, elf);
  if (entry === undefined) {
    throw new FormatError(file, 'ELF has no PVH entry note (Xen note XEN_ELFNOTE_PHYS32_ENTRY); a Linux kernel needs CONFIG_PVH=y');
  }
  if (elf.loads.length === 0) throw new FormatError(file, 'ELF has no loadable segments');
  const kernelStart = elf.loads[0]!.paddr;
  const kernelEnd = Math.max(...elf.loads.map((s) => s.paddr + s.memsz));
  if (!elf.loads.some((s) => entry >= s.paddr && entry < s.paddr + s.filesz)) {
    throw new FormatError(file, `PVH entry point ${hex(entry)} is not inside a loaded segment`);
  }
  if (kernelEnd > opts.lowRamEnd) {
    throw new FormatError(file, `kernel needs memory up to ${hex(kernelEnd)} but RAM below 4 GiB ends at ${hex(opts.lowRamEnd)}: give the VM more memory`);
  }

  const cmd = Buffer.from(opts.cmdline + '\0', 'utf8');
  const maxCmd = opts.maxCmdline ?? PVH_DEFAULT_MAX_CMDLINE;
  if (cmd.length - 1 > maxCmd) throw new FormatError('--append', `command line is ${cmd.length - 1} bytes; this kernel accepts at most ${maxCmd}`);
  if (opts.e820.length > MAX_MEMMAP_ENTRIES) throw new FormatError('memory map', `more than ${MAX_MEMMAP_ENTRIES} entries`);

  const infoAddr = opts.startInfoAddress ?? 0x6000;
  const cmdAddr = opts.cmdlineAddress ?? 0x20000;
  const boot = [
    { what: 'PVH start info', start: infoAddr, end: infoAddr + 4096 },
    { what: 'command line', start: cmdAddr, end: cmdAddr + cmd.length },
  ];
  if (boot[0]!.start < boot[1]!.end && boot[1]!.start < boot[0]!.end) {
    throw new FormatError('PVH layout', `the start info page at ${hex(infoAddr)} and the command line at ${hex(cmdAddr)} overlap`);
  }
  for (const s of elf.loads) {
    for (const b of boot) {
      if (s.paddr < b.end && b.start < s.paddr + s.memsz) {
        throw new FormatError(file, `segment ${s.index} (${hex(s.paddr)}-${hex(s.paddr + s.memsz)}) overlaps the ${b.what} at ${hex(b.start)}`);
      }
    }
  }

  const writes: PvhPlan['writes'] = [];
  const zero: PvhPlan['zero'] = [];
  for (const s of elf.loads) {
    if (s.filesz > 0) writes.push({ address: s.paddr, data: elfBytes.subarray(s.offset, s.offset + s.filesz) });
    if (s.memsz > s.filesz) zero.push({ address: s.paddr + s.filesz, length: s.memsz - s.filesz });
  }
  writes.push({ address: cmdAddr, data: cmd });

  const page = new Uint8Array(MEMMAP_OFFSET + opts.e820.length * HVM_MEMMAP_ENTRY_SIZE);
  const pv = new DataView(page.buffer);
  let initrd: PvhPlan['initrd'];
  const rd = opts.initrd;
  if (rd !== undefined && rd.length > 0) {
    const top = Math.min(opts.lowRamEnd, FOUR_GIB);
    const at = Math.floor((top - rd.length) / 4096) * 4096;
    if (at < kernelEnd || boot.some((b) => at < b.end && b.start < at + rd.length)) {
      throw new FormatError('--initrd', `initrd of ${rd.length} bytes does not fit between the kernel and the end of low RAM: give the VM more memory`);
    }
    initrd = { address: at, size: rd.length };
    writes.push({ address: at, data: rd });
    pv.setBigUint64(MODLIST_OFFSET, BigInt(at), true);           // paddr
    pv.setBigUint64(MODLIST_OFFSET + 8, BigInt(rd.length), true); // size (cmdline_paddr, reserved: 0)
  }
  pv.setUint32(0, HVM_START_MAGIC, true);
  pv.setUint32(4, 1, true);                                                // version
  pv.setUint32(8, 0, true);                                                // flags: no SIF_* (not Xen)
  pv.setUint32(12, initrd ? 1 : 0, true);                                  // nr_modules
  pv.setBigUint64(16, initrd ? BigInt(infoAddr + MODLIST_OFFSET) : 0n, true);
  pv.setBigUint64(24, BigInt(cmdAddr), true);
  pv.setBigUint64(32, BigInt(opts.rsdp ?? 0), true);
  pv.setBigUint64(40, BigInt(infoAddr + MEMMAP_OFFSET), true);
  pv.setUint32(48, opts.e820.length, true);
  opts.e820.forEach((r, k) => {
    const o = MEMMAP_OFFSET + k * HVM_MEMMAP_ENTRY_SIZE;
    pv.setBigUint64(o, BigInt(r.base), true);
    pv.setBigUint64(o + 8, BigInt(r.length), true);
    pv.setUint32(o + 16, r.type, true);
  });
  writes.push({ address: infoAddr, data: page });
  return { writes, zero, entry, startInfo: infoAddr, kernelStart, kernelEnd, ...(initrd ? { initrd } : {}) };
}
