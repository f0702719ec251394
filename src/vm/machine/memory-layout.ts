/**
 * Where RAM and the platform's holes sit in guest-physical space, and the E820 map that tells the
 * guest. Below 4 GiB RAM stops at the PCI ECAM window; anything beyond goes above 4 GiB, as on
 * QEMU's q35. The legacy area 0x9FC00–0xFFFFF stays backed by RAM (so the ACPI tables and the
 * BIOS-area scan for the RSDP work) but is reported reserved.
 */
import { E820_RAM, E820_RESERVED } from '../boot/linux.js';
import type { MemoryRange } from '../boot/multiboot.js';
import { ECAM_DEFAULT_BASE } from '../pci/pci-ecam.js';
import { IOAPIC_DEFAULT_BASE } from '../apic/ioapic.js';
import { UserError } from '../../common/errors.js';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
export const FOUR_GIB = 4 * GIB;
/** Real-mode memory the guest may use as RAM (the EBDA starts at 0x9FC00 on a PC). */
export const BASE_RAM_END = 0x9fc00;
/** The ACPI tables (and the RSDP, where legacy scans look for it). */
export const ACPI_TABLES_BASE = 0xe0000;
export const ACPI_TABLES_SIZE = 0x20000;
export const HIGH_MEMORY_START = 0x100000;
export const ECAM_BASE = ECAM_DEFAULT_BASE;
export const ECAM_SIZE = 256 * MIB;
/** 32-bit PCI MMIO window: from the end of ECAM to the IOAPIC. */
export const PCI_MEM32_BASE = ECAM_BASE + ECAM_SIZE;
export const PCI_MEM32_END = IOAPIC_DEFAULT_BASE;
/** The fixed devices at the top of 4 GiB (IOAPIC, HPET, local APIC): reserved in E820. */
export const PLATFORM_MMIO_BASE = IOAPIC_DEFAULT_BASE;
/** 64-bit PCI window size above RAM. */
export const PCI_MEM64_SIZE = 64 * GIB;

export const MIN_MEMORY = 32 * MIB;
export const MAX_MEMORY = 256 * GIB;

export interface MemoryPlan {
  /** RAM regions to create: [base, size]. */
  ram: { base: number; size: number }[];
  lowRamEnd: number;
  /** First address above all RAM (start of the 64-bit PCI window, 1 GiB aligned). */
  pciMem64Base: number;
  e820: MemoryRange[];
}

export function planMemory(bytes: number): MemoryPlan {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY) throw new UserError(`memory size ${bytes} bytes is too small: the VM needs at least ${MIN_MEMORY / MIB} MiB`);
  if (bytes > MAX_MEMORY) throw new UserError(`memory size ${bytes} bytes is too large: at most ${MAX_MEMORY / GIB} GiB`);
  if (bytes % 4096 !== 0) throw new UserError(`memory size ${bytes} bytes is not a multiple of 4 KiB`);
  const lowRamEnd = Math.min(bytes, ECAM_BASE);
  const high = bytes - lowRamEnd;
  const ram = [{ base: 0, size: lowRamEnd }];
  if (high > 0) ram.push({ base: FOUR_GIB, size: high });
  const e820: MemoryRange[] = [
    { base: 0, length: BASE_RAM_END, type: E820_RAM },
    // Reserved rather than ACPI-reclaimable: the FACS lives with the tables and must stay.
    { base: BASE_RAM_END, length: ACPI_TABLES_BASE + ACPI_TABLES_SIZE - BASE_RAM_END, type: E820_RESERVED },
    { base: HIGH_MEMORY_START, length: lowRamEnd - HIGH_MEMORY_START, type: E820_RAM },
    { base: ECAM_BASE, length: ECAM_SIZE, type: E820_RESERVED },
    { base: PLATFORM_MMIO_BASE, length: FOUR_GIB - PLATFORM_MMIO_BASE, type: E820_RESERVED },
  ];
  if (high > 0) e820.push({ base: FOUR_GIB, length: high, type: E820_RAM });
  const top = high > 0 ? FOUR_GIB + high : FOUR_GIB;
  return { ram, lowRamEnd, pciMem64Base: Math.ceil(top / GIB) * GIB, e820 };
}
