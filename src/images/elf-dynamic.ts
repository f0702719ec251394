/**
 * What the dynamic loader needs before an ELF program can run: the interpreter it names in
 * PT_INTERP and the shared libraries listed as DT_NEEDED in its PT_DYNAMIC segment. Only ELF64
 * little-endian x86-64 files are read, the only kind the guest runs; the string table's address
 * is turned into a file offset through the PT_LOAD segment that holds it.
 */
import { FormatError } from '../common/errors.js';
import { parseElf, EM_X86_64, PT_LOAD, type ElfImage } from '../vm/boot/elf.js';

const PT_DYNAMIC = 2, PT_INTERP = 3;
const DT_NULL = 0n, DT_NEEDED = 1n, DT_STRTAB = 5n, DT_STRSZ = 10n;
const DYN_ENTRY = 16;

export interface DynamicInfo {
  /** The program interpreter's path, absent for a shared library or a static executable. */
  interpreter?: string;
  /** Sonames from DT_NEEDED, in the file's order. */
  needed: string[];
}

export function readDynamicInfo(file: string, data: Uint8Array): DynamicInfo {
  const elf = parseElf(file, data);
  const fail = (message: string): never => { throw new FormatError(file, `ELF: ${message}`); };
  if (elf.bits !== 64 || elf.machine !== EM_X86_64) fail(`not an x86-64 ELF64 file (class ${elf.bits}, machine ${elf.machine})`);
  const info: DynamicInfo = { needed: [] };
  const interp = elf.segments.find((s) => s.type === PT_INTERP);
  if (interp !== undefined) info.interpreter = cString(data, interp.offset, interp.offset + interp.filesz, fail);
  const dyn = elf.segments.find((s) => s.type === PT_DYNAMIC);
  if (dyn === undefined) return info;
  if (dyn.offset + dyn.filesz > data.length) fail(`PT_DYNAMIC (offset ${dyn.offset}, ${dyn.filesz} bytes) extends past the end of the file`);

  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const neededOffsets: bigint[] = [];
  let strtab: bigint | undefined, strsz: bigint | undefined;
  for (let p = dyn.offset; p + DYN_ENTRY <= dyn.offset + dyn.filesz; p += DYN_ENTRY) {
    const tag = dv.getBigInt64(p, true), val = dv.getBigUint64(p + 8, true);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(val);
    else if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
  }
  if (neededOffsets.length === 0) return info;
  if (strtab === undefined || strsz === undefined) fail('DT_NEEDED entries but no DT_STRTAB/DT_STRSZ');
  const tableStart = fileOffset(elf, strtab!, fail);
  const tableEnd = tableStart + Number(strsz!);
  if (tableEnd > data.length) fail(`string table (offset ${tableStart}, ${strsz} bytes) extends past the end of the file`);
  for (const off of neededOffsets) {
    if (off >= strsz!) fail(`DT_NEEDED name offset ${off} is outside the ${strsz}-byte string table`);
    info.needed.push(cString(data, tableStart + Number(off), tableEnd, fail));
  }
  return info;
}

/** The file offset of a virtual address that lies in the file-backed part of a PT_LOAD segment. */
function fileOffset(elf: ElfImage, vaddr: bigint, fail: (m: string) => never): number {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD) continue;
    if (vaddr >= s.vaddr && vaddr < s.vaddr + BigInt(s.filesz)) return s.offset + Number(vaddr - s.vaddr);
  }
  return fail(`address 0x${vaddr.toString(16)} is not in any PT_LOAD segment's file bytes`);
}

function cString(data: Uint8Array, start: number, end: number, fail: (m: string) => never): string {
  const nul = data.subarray(start, end).indexOf(0);
  if (nul < 0) fail(`string at file offset ${start} has no terminating NUL`);
  return Buffer.from(data.subarray(start, start + nul)).toString('utf8');
}
