/**
 * ELF executables as a boot loader sees them (System V ABI, ELF32 and ELF64, little-endian):
 * the header, the program headers, the PT_LOAD segments by physical address (p_paddr, where a
 * loader without paging places them) and the notes of PT_NOTE segments. Everything a segment or
 * note points at is bounds-checked; loadable segments must not overlap one another.
 */
import { FormatError } from '../../common/errors.js';

export const PT_LOAD = 1, PT_NOTE = 4;
export const EM_386 = 3, EM_X86_64 = 62;
export const ET_EXEC = 2, ET_DYN = 3;

export interface ElfSegment {
  /** Position in the program header table. */
  index: number;
  type: number;
  flags: number;
  offset: number;
  /** Virtual address (kernels link at addresses above 2^53, hence a bigint). */
  vaddr: bigint;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfNote { name: string; type: number; desc: Uint8Array }

export interface ElfImage {
  bits: 32 | 64;
  type: number;
  machine: number;
  entry: bigint;
  /** Every program header, in table order. */
  segments: ElfSegment[];
  /** PT_LOAD segments with a non-zero memory size, by ascending physical address. */
  loads: ElfSegment[];
  notes: ElfNote[];
}

export interface ElfParseOptions {
  /** Loadable segments must end at or below this physical address (default 2^52). */
  maxPhysical?: number;
}

const MAX_PROGRAM_HEADERS = 1024;

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

export function parseElf(file: string, data: Uint8Array, opts: ElfParseOptions = {}): ElfImage {
  const fail = (message: string): never => { throw new FormatError(file, `ELF: ${message}`); };
  if (!isElf(data)) fail('no ELF magic (7f 45 4c 46)');
  const cls = data[4];
  if (cls !== 1 && cls !== 2) fail(`class ${cls} is neither ELF32 (1) nor ELF64 (2)`);
  const bits = cls === 1 ? 32 : 64;
  if (data[5] !== 1) fail(data[5] === 2 ? 'big-endian images are not supported' : `data encoding ${data[5]} is invalid`);
  if (data[6] !== 1) fail(`ident version ${data[6]} is not 1`);
  const headerSize = bits === 32 ? 52 : 64;
  if (data.length < headerSize) fail(`truncated: ${data.length} bytes, shorter than the ${headerSize}-byte ELF${bits} header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // Reads a field of the native word size as a number, refusing values a double cannot hold exactly.
  const word = (at: number, what: string): number => {
    if (bits === 32) return dv.getUint32(at, true);
    const v = dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} 0x${v.toString(16)} is out of range`);
    return Number(v);
  };
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  const entry = bits === 32 ? BigInt(dv.getUint32(24, true)) : dv.getBigUint64(24, true);
  const phoff = word(bits === 32 ? 28 : 32, 'e_phoff');
  const phentsize = dv.getUint16(bits === 32 ? 42 : 54, true);
  const phnum = dv.getUint16(bits === 32 ? 44 : 56, true);
  if (phnum === 0xffff) fail('more than 65534 program headers (PN_XNUM) are not supported');
  if (phnum > MAX_PROGRAM_HEADERS) fail(`${phnum} program headers (limit ${MAX_PROGRAM_HEADERS})`);
  if (phnum > 0 && phentsize < (bits === 32 ? 32 : 56)) fail(`program header size ${phentsize} is too small for ELF${bits}`);
  if (phoff + phnum * phentsize > data.length) fail(`program header table (offset ${phoff}, ${phnum} x ${phentsize} bytes) extends past the end of the file`);

  const maxPhysical = opts.maxPhysical ?? 2 ** 52;
  const segments: ElfSegment[] = [];
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    const what = (field: string): string => `program header ${k} ${field}`;
    const s: ElfSegment = bits === 32
      ? {
        index: k, type: dv.getUint32(p, true), offset: dv.getUint32(p + 4, true), vaddr: BigInt(dv.getUint32(p + 8, true)),
        paddr: dv.getUint32(p + 12, true), filesz: dv.getUint32(p + 16, true), memsz: dv.getUint32(p + 20, true),
        flags: dv.getUint32(p + 24, true), align: dv.getUint32(p + 28, true),
      }
      : {
        index: k, type: dv.getUint32(p, true), flags: dv.getUint32(p + 4, true), offset: word(p + 8, what('p_offset')),
        vaddr: dv.getBigUint64(p + 16, true), paddr: word(p + 24, what('p_paddr')), filesz: word(p + 32, what('p_filesz')),
        memsz: word(p + 40, what('p_memsz')), align: word(p + 48, what('p_align')),
      };
    if (s.type === PT_LOAD || s.type === PT_NOTE) {
      if (s.offset + s.filesz > data.length) fail(`segment ${k} (file offset ${s.offset}, ${s.filesz} bytes) extends past the end of the ${data.length}-byte file`);
    }
    if (s.type === PT_LOAD) {
      if (s.filesz > s.memsz) fail(`segment ${k} has more file bytes (${s.filesz}) than memory bytes (${s.memsz})`);
      if (s.paddr + s.memsz > maxPhysical) fail(`segment ${k} at physical 0x${s.paddr.toString(16)} (+0x${s.memsz.toString(16)}) ends above 0x${maxPhysical.toString(16)}`);
    }
    segments.push(s);
  }

  const loads = segments.filter((s) => s.type === PT_LOAD && s.memsz > 0).sort((a, b) => a.paddr - b.paddr);
  for (let k = 1; k < loads.length; k++) {
    const a = loads[k - 1]!, b = loads[k]!;
    if (a.paddr + a.memsz > b.paddr) {
      fail(`segments ${a.index} (0x${a.paddr.toString(16)}-0x${(a.paddr + a.memsz).toString(16)}) and ${b.index} (from 0x${b.paddr.toString(16)}) overlap in physical memory`);
    }
  }

  const notes: ElfNote[] = [];
  for (const s of segments) {
    if (s.type === PT_NOTE) readNotes(data, s, notes, fail);
  }
  return { bits, type, machine, entry, segments, loads, notes };
}

/** Appends the notes of one PT_NOTE segment: namesz, descsz, type, then name and desc, each padded. */
function readNotes(data: Uint8Array, s: ElfSegment, notes: ElfNote[], fail: (m: string) => never): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // Name and descriptor start on the segment's alignment (8 for GNU property notes, else 4),
  // counted from the segment's start.
  const pad = s.align === 8 ? 8 : 4;
  const up = (at: number): number => s.offset + Math.ceil((at - s.offset) / pad) * pad;
  const end = s.offset + s.filesz;
  let p = s.offset;
  while (p + 12 <= end) {
    const namesz = dv.getUint32(p, true), descsz = dv.getUint32(p + 4, true), type = dv.getUint32(p + 8, true);
    const nameAt = p + 12, descAt = up(nameAt + namesz);
    if (descAt + descsz > end) fail(`note at file offset ${p} (name ${namesz} bytes, desc ${descsz} bytes) runs past the end of segment ${s.index}`);
    const nameBytes = data.subarray(nameAt, nameAt + namesz);
    const nul = nameBytes.indexOf(0);
    const name = Buffer.from(nul >= 0 ? nameBytes.subarray(0, nul) : nameBytes).toString('latin1');
    notes.push({ name, type, desc: data.subarray(descAt, descAt + descsz) });
    p = up(descAt + descsz);
  }
}

export function findNote(elf: ElfImage, name: string, type: number): ElfNote | undefined {
  return elf.notes.find((n) => n.name === name && n.type === type);
}
