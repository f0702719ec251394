/**
 * Multiboot v1 (Multiboot Specification 0.6.96): detects the header in the first 8 KiB, loads the
 * image (ELF32/ELF64 program headers, or the a.out-kludge address fields), builds the information
 * structure (memory, memory map, command line, modules) and describes the machine state at entry:
 * 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = the information structure.
 */
import { FormatError } from '../../common/errors.js';

export const MULTIBOOT_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

export interface MemoryRange { base: number; length: number; type: number }

export interface MultibootModule { data: Uint8Array; cmdline: string }

export interface MultibootPlan {
  /** Bytes to place in guest-physical memory. */
  writes: { address: number; data: Uint8Array }[];
  /** Ranges to zero (BSS). */
  zero: { address: number; length: number }[];
  entry: number;
  /** Physical address of the information structure (for EBX). */
  infoAddress: number;
}

interface Header { flags: number; offset: number; headerAddr: number; loadAddr: number; loadEnd: number; bssEnd: number; entry: number }

/** Finds a valid Multiboot header (magic + checksum) 32-bit aligned in the first 8 KiB. */
export function findMultibootHeader(image: Uint8Array): Header | undefined {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length - 12, 8192 - 12);
  for (let off = 0; off <= limit; off += 4) {
    if (dv.getUint32(off, true) !== MULTIBOOT_MAGIC) continue;
    const flags = dv.getUint32(off + 4, true);
    const sum = dv.getUint32(off + 8, true);
    if (((MULTIBOOT_MAGIC + flags + sum) >>> 0) !== 0) continue;
    const h: Header = { flags, offset: off, headerAddr: 0, loadAddr: 0, loadEnd: 0, bssEnd: 0, entry: 0 };
    if ((flags & 0x10000) !== 0 && off + 32 <= image.length) {
      h.headerAddr = dv.getUint32(off + 12, true);
      h.loadAddr = dv.getUint32(off + 16, true);
      h.loadEnd = dv.getUint32(off + 20, true);
      h.bssEnd = dv.getUint32(off + 24, true);
      h.entry = dv.getUint32(off + 28, true);
    }
    return h;
  }
  return undefined;
}

function loadElf(file: string, image: Uint8Array, plan: MultibootPlan): void {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const is64 = image[4] === 2;
  if (image[5] !== 1) throw new FormatError(file, 'ELF image is not little-endian');
  const u = (o: number, n: number): number => {
    if (o + n > image.length) throw new FormatError(file, `ELF header field at ${o} is past the end of the file`);
    return n === 2 ? dv.getUint16(o, true) : n === 4 ? dv.getUint32(o, true) : Number(dv.getBigUint64(o, true));
  };
  plan.entry = is64 ? u(24, 8) : u(24, 4);
  const phoff = is64 ? u(32, 8) : u(28, 4);
  const phentsize = u(is64 ? 54 : 42, 2);
  const phnum = u(is64 ? 56 : 44, 2);
  if (phnum > 256) throw new FormatError(file, `ELF has ${phnum} program headers (limit 256)`);
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    if (u(p, 4) !== 1) continue; // PT_LOAD
    const offset = is64 ? u(p + 8, 8) : u(p + 4, 4);
    const paddr = is64 ? u(p + 24, 8) : u(p + 12, 4);
    const filesz = is64 ? u(p + 32, 8) : u(p + 16, 4);
    const memsz = is64 ? u(p + 40, 8) : u(p + 20, 4);
    if (offset + filesz > image.length) throw new FormatError(file, `ELF segment ${k} extends past the end of the file`);
    plan.writes.push({ address: paddr, data: image.subarray(offset, offset + filesz) });
    if (memsz > filesz) plan.zero.push({ address: paddr + filesz, length: memsz - filesz });
  }
}

/**
 * Builds the load plan. `infoBase` is where the information structure and the strings/module list
 * go (below 1 MiB, above the image's reach); modules are placed page-aligned from `moduleBase`.
 */
export function planMultiboot(file: string, image: Uint8Array, opts: {
  cmdline: string; memory: MemoryRange[]; modules?: MultibootModule[]; infoBase?: number; moduleBase?: number;
}): MultibootPlan {
  const h = findMultibootHeader(image);
  if (h === undefined) throw new FormatError(file, 'no Multiboot header in the first 8 KiB');
  // Bits 0 (page-aligned modules) and 1 (memory information) are provided; bits 2-15 (video mode
  // and reserved) are required features this loader does not offer.
  if ((h.flags & 0xfffc) !== 0) throw new FormatError(file, `Multiboot header requires unsupported features (flags ${h.flags.toString(16)})`);
  const plan: MultibootPlan = { writes: [], zero: [], entry: 0, infoAddress: 0 };
  const isElf = image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
  if ((h.flags & 0x10000) !== 0) {
    const start = h.offset - (h.headerAddr - h.loadAddr);
    if (start < 0 || h.headerAddr < h.loadAddr) throw new FormatError(file, 'Multiboot header_addr is below load_addr');
    const end = h.loadEnd === 0 ? image.length : start + (h.loadEnd - h.loadAddr);
    if (end > image.length || end < start) throw new FormatError(file, 'Multiboot load_end_addr is past the end of the image');
    plan.writes.push({ address: h.loadAddr, data: image.subarray(start, end) });
    const loadedEnd = h.loadAddr + (end - start);
    if (h.bssEnd > loadedEnd) plan.zero.push({ address: loadedEnd, length: h.bssEnd - loadedEnd });
    plan.entry = h.entry;
  } else if (isElf) {
    loadElf(file, image, plan);
  } else {
    throw new FormatError(file, 'Multiboot image is neither ELF nor carries load addresses (flag 16)');
  }

  // Information structure: flags mem(0) + cmdline(2) + mods(3) + mmap(6).
  const infoBase = opts.infoBase ?? freeLowPage(file, plan);
  const info = new Uint8Array(0x1000);
  const dv = new DataView(info.buffer);
  let cursor = 120;
  const put = (bytes: Uint8Array): number => { info.set(bytes, cursor); const at = infoBase + cursor; cursor += (bytes.length + 7) & ~7; return at; };
  const low = opts.memory.find((r) => r.base === 0 && r.type === 1);
  const high = opts.memory.find((r) => r.base === 0x100000 && r.type === 1);
  dv.setUint32(4, low ? Math.min(640, Math.floor(low.length / 1024)) : 0, true);
  dv.setUint32(8, high ? Math.floor(high.length / 1024) : 0, true);
  const cmd = Buffer.from(opts.cmdline + '\0', 'utf8');
  if (cmd.length > 2048) throw new FormatError(file, 'kernel command line longer than 2 KiB');
  dv.setUint32(16, put(cmd), true);
  let flags = 1 | 4 | 64;
  const mods = opts.modules ?? [];
  if (mods.length > 0) {
    let modAddr = opts.moduleBase ?? 0x1000000;
    const list = new Uint8Array(mods.length * 16);
    const lv = new DataView(list.buffer);
    mods.forEach((m, k) => {
      modAddr = Math.ceil(modAddr / 4096) * 4096;
      plan.writes.push({ address: modAddr, data: m.data });
      lv.setUint32(k * 16, modAddr, true);
      lv.setUint32(k * 16 + 4, modAddr + m.data.length, true);
      lv.setUint32(k * 16 + 8, put(Buffer.from(m.cmdline + '\0', 'utf8')), true);
      modAddr += m.data.length;
    });
    dv.setUint32(20, mods.length, true);
    dv.setUint32(24, put(list), true);
    flags |= 8;
  }
  const mmap = new Uint8Array(opts.memory.length * 24);
  const mv = new DataView(mmap.buffer);
  opts.memory.forEach((r, k) => {
    mv.setUint32(k * 24, 20, true);
    mv.setBigUint64(k * 24 + 4, BigInt(r.base), true);
    mv.setBigUint64(k * 24 + 12, BigInt(r.length), true);
    mv.setUint32(k * 24 + 20, r.type, true);
  });
  dv.setUint32(44, mmap.length, true);
  dv.setUint32(48, put(mmap), true);
  dv.setUint32(0, flags, true);
  if (cursor > info.length) throw new FormatError(file, 'Multiboot information does not fit in its page');
  plan.writes.push({ address: infoBase, data: info.subarray(0, cursor) });
  plan.infoAddress = infoBase;
  return plan;
}

/**
 * The first 4 KiB page in conventional memory (0x1000..0x9F000) that no segment, BSS or module
 * touches: the information structure must not overwrite the image (a flat image loaded at 0x8000
 * covers the traditional 0x9000 spot).
 */
function freeLowPage(file: string, plan: MultibootPlan): number {
  const used = [...plan.writes.map((w) => [w.address, w.address + w.data.length]), ...plan.zero.map((z) => [z.address, z.address + z.length])];
  for (let page = 0x1000; page < 0x9f000; page += 0x1000) {
    if (used.every(([a, b]) => b! <= page || a! >= page + 0x1000)) return page;
  }
  throw new FormatError(file, 'the image fills conventional memory: no room for the Multiboot information below 0x9F000');
}
