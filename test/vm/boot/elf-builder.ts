/**
 * Builds small ELF32/ELF64 executables for loader tests: segments placed in the file in order,
 * and notes gathered into one PT_NOTE segment after them.
 */
export interface TestSegment {
  type?: number;
  paddr: number;
  vaddr?: bigint;
  data: Uint8Array;
  memsz?: number;
  flags?: number;
}

export interface TestNote { name: string; type: number; desc: Uint8Array }

export interface TestElf {
  bits: 32 | 64;
  machine?: number;
  entry?: number;
  segments: TestSegment[];
  notes?: TestNote[];
}

const up4 = (n: number): number => (n + 3) & ~3;

export function noteBytes(notes: TestNote[]): Uint8Array {
  const parts: number[] = [];
  for (const n of notes) {
    const name = Buffer.from(n.name + '\0', 'latin1');
    const head = new DataView(new ArrayBuffer(12));
    head.setUint32(0, name.length, true);
    head.setUint32(4, n.desc.length, true);
    head.setUint32(8, n.type, true);
    parts.push(...new Uint8Array(head.buffer), ...name, ...new Array<number>(up4(name.length) - name.length).fill(0));
    parts.push(...n.desc, ...new Array<number>(up4(n.desc.length) - n.desc.length).fill(0));
  }
  return new Uint8Array(parts);
}

export function buildElf(spec: TestElf): Uint8Array {
  const is64 = spec.bits === 64;
  const ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32;
  const notes = spec.notes !== undefined && spec.notes.length > 0 ? noteBytes(spec.notes) : undefined;
  const phnum = spec.segments.length + (notes ? 1 : 0);
  let cursor = (ehsize + phnum * phentsize + 15) & ~15;
  const placed = spec.segments.map((s) => { const at = cursor; cursor = (cursor + s.data.length + 15) & ~15; return at; });
  const noteAt = cursor;
  const size = cursor + (notes?.length ?? 0);
  const file = new Uint8Array(size);
  const dv = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1], 0);
  dv.setUint16(16, 2, true);                          // ET_EXEC
  dv.setUint16(18, spec.machine ?? (is64 ? 62 : 3), true);
  dv.setUint32(20, 1, true);
  if (is64) {
    dv.setBigUint64(24, BigInt(spec.entry ?? 0), true);
    dv.setBigUint64(32, BigInt(ehsize), true);
    dv.setUint16(52, ehsize, true);
    dv.setUint16(54, phentsize, true);
    dv.setUint16(56, phnum, true);
  } else {
    dv.setUint32(24, spec.entry ?? 0, true);
    dv.setUint32(28, ehsize, true);
    dv.setUint16(40, ehsize, true);
    dv.setUint16(42, phentsize, true);
    dv.setUint16(44, phnum, true);
  }
  const ph = (k: number, type: number, flags: number, offset: number, vaddr: bigint, paddr: number, filesz: number, memsz: number, align: number): void => {
    const p = ehsize + k * phentsize;
    dv.setUint32(p, type, true);
    if (is64) {
      dv.setUint32(p + 4, flags, true);
      dv.setBigUint64(p + 8, BigInt(offset), true);
      dv.setBigUint64(p + 16, vaddr, true);
      dv.setBigUint64(p + 24, BigInt(paddr), true);
      dv.setBigUint64(p + 32, BigInt(filesz), true);
      dv.setBigUint64(p + 40, BigInt(memsz), true);
      dv.setBigUint64(p + 48, BigInt(align), true);
    } else {
      dv.setUint32(p + 4, offset, true);
      dv.setUint32(p + 8, Number(vaddr), true);
      dv.setUint32(p + 12, paddr, true);
      dv.setUint32(p + 16, filesz, true);
      dv.setUint32(p + 20, memsz, true);
      dv.setUint32(p + 24, flags, true);
      dv.setUint32(p + 28, align, true);
    }
  };
  spec.segments.forEach((s, k) => {
    file.set(s.data, placed[k]!);
    ph(k, s.type ?? 1, s.flags ?? 7, placed[k]!, s.vaddr ?? BigInt(s.paddr), s.paddr, s.data.length, s.memsz ?? s.data.length, 16);
  });
  if (notes) {
    file.set(notes, noteAt);
    ph(spec.segments.length, 4, 4, noteAt, 0n, 0, notes.length, notes.length, 4);
  }
  return file;
}

/** The Xen PVH entry note with a 4- or 8-byte value, as Linux emits it. */
export function pvhNote(entry: number, bytes: 4 | 8 = 8): TestNote {
  const desc = new Uint8Array(bytes);
  new DataView(desc.buffer).setUint32(0, entry, true);
  return { name: 'Xen', type: 18, desc };
}
