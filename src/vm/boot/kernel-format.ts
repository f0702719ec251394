/**
 * What a --kernel file is, decided from its bytes: a Linux bzImage (boot-sector signature and
 * "HdrS" at 0x202), a Multiboot v1 kernel (header in the first 8 KiB), or an ELF kernel with a PVH
 * entry note. Multiboot is tried before PVH, as QEMU does, so an ELF carrying both boots the way
 * its Multiboot header asks. Anything else is a FormatError saying what the file looks like.
 */
import { FormatError } from '../../common/errors.js';
import { findMultibootHeader } from './multiboot.js';
import { EM_386, EM_X86_64, isElf, parseElf, type ElfImage } from './elf.js';
import { pvhEntryPoint } from './pvh.js';

export type KernelFormat =
  /** Load with planLinux, or extract the ELF with extractBzImagePayload and boot it through PVH. */
  | { kind: 'bzimage'; protocol: number }
  | { kind: 'multiboot'; headerOffset: number; flags: number }
  | { kind: 'pvh-elf'; elf: ElfImage; entry: number };

const ACCEPTED = 'accepted: a Linux bzImage, a Multiboot v1 kernel (header in the first 8 KiB), or an ELF kernel with a PVH entry note (Linux vmlinux built with CONFIG_PVH)';

const MAGICS: [number[], string][] = [
  [[0x1f, 0x8b], 'gzip-compressed data (decompress it first)'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz-compressed data (decompress it first)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed data (decompress it first)'],
  [[0x42, 0x5a, 0x68], 'bzip2-compressed data (decompress it first)'],
  [[0x4d, 0x5a], 'a PE/COFF (EFI) executable without a Linux setup header'],
];

export function detectKernelFormat(file: string, image: Uint8Array): KernelFormat {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length >= 0x208 && dv.getUint16(0x1fe, true) === 0xaa55 && dv.getUint32(0x202, true) === 0x53726448) {
    return { kind: 'bzimage', protocol: dv.getUint16(0x206, true) };
  }
  const mb = findMultibootHeader(image);
  if (mb !== undefined) return { kind: 'multiboot', headerOffset: mb.offset, flags: mb.flags };
  if (isElf(image)) {
    const elf = parseElf(file, image);
    const entry = pvhEntryPoint(file, elf);
    if (entry !== undefined) return { kind: 'pvh-elf', elf, entry };
    const machine = elf.machine === EM_X86_64 ? 'x86-64' : elf.machine === EM_386 ? 'i386' : `machine ${elf.machine}`;
    throw new FormatError(file, `is an ELF${elf.bits} ${machine} image without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) or a Multiboot header; ${ACCEPTED}`);
  }
  let found = `${image.length} bytes starting ${Array.from(image.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)'}`;
  for (const [magic, what] of MAGICS) {
    if (magic.every((b, k) => image[k] === b)) { found = what; break; }
  }
  throw new FormatError(file, `is not a kernel Viridian can boot (found ${found}); ${ACCEPTED}`);
}
