/**
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry: parses the bzImage
 * setup header, places the protected-mode kernel, the command line and the initrd, and fills the
 * "zero page" (struct boot_params) with the e820 map and the ACPI RSDP address. The processor
 * starts in long mode at the 64-bit entry point (load address + 0x200) with RSI = boot_params.
 */
import { FormatError } from '../../common/errors.js';
import type { MemoryRange } from './multiboot.js';

export const E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4;

export interface LinuxHeader {
  setupSects: number;
  version: number;
  loadflags: number;
  xloadflags: number;
  kernelAlignment: number;
  relocatable: boolean;
  prefAddress: number;
  initSize: number;
  cmdlineSize: number;
  initrdAddrMax: number;
  payloadOffset: number;
  payloadLength: number;
  /** Bytes of the setup header to copy into boot_params (0x1f1 .. end of header). */
  headerEnd: number;
}

export function parseLinuxHeader(file: string, image: Uint8Array): LinuxHeader {
  if (image.length < 0x250) throw new FormatError(file, 'too short to be a Linux bzImage');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint16(0x1fe, true) !== 0xaa55 || dv.getUint32(0x202, true) !== 0x53726448) {
    throw new FormatError(file, 'not a Linux bzImage (no boot-sector signature or "HdrS" header)');
  }
  const version = dv.getUint16(0x206, true);
  if (version < 0x20c) throw new FormatError(file, `boot protocol ${version >> 8}.${version & 0xff} is too old (2.12 or newer is needed for the 64-bit entry)`);
  const xloadflags = dv.getUint16(0x236, true);
  if ((xloadflags & 1) === 0) throw new FormatError(file, 'kernel has no 64-bit entry point (XLF_KERNEL_64 not set)');
  let setupSects = image[0x1f1]!;
  if (setupSects === 0) setupSects = 4;
  const h: LinuxHeader = {
    setupSects, version,
    loadflags: image[0x211]!,
    xloadflags,
    kernelAlignment: dv.getUint32(0x230, true),
    relocatable: image[0x234] !== 0,
    prefAddress: Number(dv.getBigUint64(0x258, true)),
    initSize: dv.getUint32(0x260, true),
    cmdlineSize: dv.getUint32(0x238, true),
    initrdAddrMax: dv.getUint32(0x22c, true),
    payloadOffset: dv.getUint32(0x248, true),
    payloadLength: dv.getUint32(0x24c, true),
    headerEnd: 0x202 + image[0x201]!,
  };
  if ((setupSects + 1) * 512 >= image.length) throw new FormatError(file, `setup_sects (${setupSects}) points past the end of the image`);
  if ((h.loadflags & 1) === 0) throw new FormatError(file, 'kernel is not loaded high (zImage kernels are not supported)');
  return h;
}

export interface LinuxPlan {
  writes: { address: number; data: Uint8Array }[];
  /** 64-bit entry point. */
  entry: number;
  bootParams: number;
  /** Highest physical address the loader used (page tables for entry are built below this). */
  kernelAddress: number;
  kernelEnd: number;
}

export interface LinuxLoadOptions {
  cmdline: string;
  initrd?: Uint8Array;
  /** RAM and holes as the guest should see them (the e820 table). */
  e820: MemoryRange[];
  /** Physical address of the ACPI RSDP (boot_params.acpi_rsdp_addr, protocol 2.14+). */
  rsdp?: number;
  /** Where boot_params and the command line go (below 1 MiB). */
  bootParams?: number;
  cmdlineAddress?: number;
  /** Total RAM below 4 GiB: the initrd is placed at the top of it, under initrd_addr_max. */
  lowRamEnd: number;
}

export function planLinux(file: string, image: Uint8Array, opts: LinuxLoadOptions): LinuxPlan {
  const h = parseLinuxHeader(file, image);
  const bp = opts.bootParams ?? 0x7000;
  const cmdAddr = opts.cmdlineAddress ?? 0x20000;
  const kernel = image.subarray((h.setupSects + 1) * 512);
  const align = Math.max(h.kernelAlignment, 0x200000);
  const load = h.relocatable ? Math.max(0x1000000, Math.ceil(h.prefAddress / align) * align) : h.prefAddress;
  const kernelEnd = load + Math.max(h.initSize, kernel.length);
  if (kernelEnd > opts.lowRamEnd) throw new FormatError(file, `kernel needs memory up to 0x${kernelEnd.toString(16)} but RAM below 4 GiB ends at 0x${opts.lowRamEnd.toString(16)}: give the VM more memory`);
  const cmd = Buffer.from(opts.cmdline + '\0', 'utf8');
  const maxCmd = h.cmdlineSize > 0 ? h.cmdlineSize : 255;
  if (cmd.length - 1 > maxCmd) throw new FormatError('--append', `command line is ${cmd.length - 1} bytes; this kernel accepts at most ${maxCmd}`);

  const zero = new Uint8Array(4096);
  const zv = new DataView(zero.buffer);
  zero.set(image.subarray(0x1f1, h.headerEnd), 0x1f1);
  zero[0x210] = 0xff;                                   // type_of_loader: undefined boot loader
  zero[0x211] = (h.loadflags | 0x80) & ~0x20;           // CAN_USE_HEAP, keep QUIET off
  zv.setUint16(0x224, 0xde00, true);                    // heap_end_ptr
  zv.setUint32(0x228, cmdAddr, true);                   // cmd_line_ptr
  zv.setUint32(0x214, load, true);                      // code32_start
  const writes: { address: number; data: Uint8Array }[] = [{ address: load, data: kernel }, { address: cmdAddr, data: cmd }];
  if (opts.initrd !== undefined && opts.initrd.length > 0) {
    const top = Math.min(opts.lowRamEnd, h.initrdAddrMax + 1, 0x100000000);
    const at = Math.floor((top - opts.initrd.length) / 4096) * 4096;
    if (at < kernelEnd) throw new FormatError('--initrd', `initrd of ${opts.initrd.length} bytes does not fit between the kernel and the end of low RAM: give the VM more memory`);
    zv.setUint32(0x218, at, true);                      // ramdisk_image
    zv.setUint32(0x21c, opts.initrd.length, true);      // ramdisk_size
    writes.push({ address: at, data: opts.initrd });
  }
  if (opts.e820.length > 128) throw new FormatError('memory map', 'more than 128 e820 entries');
  zero[0x1e8] = opts.e820.length;
  opts.e820.forEach((r, k) => {
    const o = 0x2d0 + k * 20;
    zv.setBigUint64(o, BigInt(r.base), true);
    zv.setBigUint64(o + 8, BigInt(r.length), true);
    zv.setUint32(o + 16, r.type, true);
  });
  if (opts.rsdp !== undefined) zv.setBigUint64(0x70, BigInt(opts.rsdp), true);
  writes.push({ address: bp, data: zero });
  return { writes, entry: load + 0x200, bootParams: bp, kernelAddress: load, kernelEnd };
}
