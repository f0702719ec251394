/**
 * The ELF parser against readelf (binutils) on a real executable, and against built and broken
 * images: every malformed header, table, segment or note is a FormatError naming it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseElf, findNote, PT_LOAD, EM_X86_64, EM_386 } from '../../../src/vm/boot/elf.js';
import { buildElf, pvhNote } from './elf-builder.js';

test('program headers match readelf on a real executable', () => {
  const path = '/bin/ls';
  const elf = parseElf(path, new Uint8Array(readFileSync(path)));
  const out = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  const loads = [...out.matchAll(/^\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/gm)]
    .map((m) => ({ offset: Number(m[1]), vaddr: BigInt(m[2]!), paddr: Number(m[3]), filesz: Number(m[4]), memsz: Number(m[5]) }));
  assert.ok(loads.length >= 2, 'readelf lists LOAD segments');
  assert.equal(elf.bits, 64);
  assert.equal(elf.machine, EM_X86_64);
  assert.deepEqual(elf.segments.filter((s) => s.type === PT_LOAD).map((s) => ({ offset: s.offset, vaddr: s.vaddr, paddr: s.paddr, filesz: s.filesz, memsz: s.memsz })), loads);
  const notes = execFileSync('readelf', ['-nW', path], { encoding: 'utf8' });
  const listed = [...notes.matchAll(/^\s+(\S+)\s+(0x[0-9a-f]+)\s/gm)].map((m) => [m[1], Number(m[2])]);
  assert.ok(listed.length >= 2, 'readelf lists notes');
  assert.deepEqual(elf.notes.map((n) => [n.name, n.desc.length]), listed);
});

test('ELF64 and ELF32: segments by physical address, BSS sizes, notes', () => {
  for (const bits of [64, 32] as const) {
    const text = new Uint8Array(300).fill(0x90), data = new Uint8Array(40).fill(0xaa);
    const img = buildElf({
      bits, entry: 0x100010,
      segments: [
        { paddr: 0x200000, vaddr: bits === 64 ? 0xffffffff80200000n : 0xc0200000n, data, memsz: 0x1000 },
        { paddr: 0x100000, data: text },
      ],
      notes: [{ name: 'Xen', type: 6, desc: Buffer.from('linux\0') }, pvhNote(0x100010, bits === 64 ? 8 : 4)],
    });
    const elf = parseElf('k', img);
    assert.equal(elf.bits, bits);
    assert.equal(elf.machine, bits === 64 ? EM_X86_64 : EM_386);
    assert.equal(elf.entry, 0x100010n);
    assert.deepEqual(elf.loads.map((s) => [s.paddr, s.filesz, s.memsz]), [[0x100000, 300, 300], [0x200000, 40, 0x1000]]);
    assert.equal(elf.loads[1]!.vaddr, bits === 64 ? 0xffffffff80200000n : 0xc0200000n);
    assert.deepEqual([...img.subarray(elf.loads[0]!.offset, elf.loads[0]!.offset + 4)], [0x90, 0x90, 0x90, 0x90]);
    assert.equal(findNote(elf, 'Xen', 18)!.desc.length, bits === 64 ? 8 : 4);
    assert.equal(Buffer.from(findNote(elf, 'Xen', 6)!.desc).toString(), 'linux\0');
    assert.equal(findNote(elf, 'Linux', 18), undefined);
  }
});

test('malformed images are FormatErrors naming the problem', () => {
  const good = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(64) }, { paddr: 0x200000, data: new Uint8Array(64) }], notes: [pvhNote(0x100000)] });
  const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset);
  const mutate = (f: (b: Uint8Array) => void): Uint8Array => { const b = good.slice(); f(b); return b; };
  const ph = (k: number): number => 64 + k * 56;

  assert.throws(() => parseElf('x', new Uint8Array(10)), /no ELF magic/);
  assert.throws(() => parseElf('x', good.subarray(0, 40)), /truncated: 40 bytes, shorter than the 64-byte ELF64 header/);
  assert.throws(() => parseElf('x', mutate((b) => { b[4] = 3; })), /class 3/);
  assert.throws(() => parseElf('x', mutate((b) => { b[5] = 2; })), /big-endian/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setUint16(56, 0xffff, true); })), /PN_XNUM/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setUint16(56, 500, true); })), /program header table .* extends past the end/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setUint16(54, 20, true); })), /program header size 20 is too small/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setBigUint64(ph(0) + 32, 1n << 20n, true); })), /segment 0 .* extends past the end/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setBigUint64(ph(0) + 40, 8n, true); })), /more file bytes \(64\) than memory bytes \(8\)/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setBigUint64(ph(1) + 24, 0x100020n, true); })), /segments 0 .* and 1 .* overlap/);
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setBigUint64(ph(1) + 24, 1n << 60n, true); })), /p_paddr 0x1000000000000000 is out of range/);
  assert.throws(() => parseElf('x', good, { maxPhysical: 0x200000 }), /segment 1 at physical 0x200000 .* ends above 0x200000/);
  // The note segment is the third program header; make its one note claim a longer descriptor.
  const noteOff = Number(dv(good).getBigUint64(ph(2) + 8, true));
  assert.throws(() => parseElf('x', mutate((b) => { dv(b).setUint32(noteOff + 4, 4096, true); })), /note at file offset .* runs past the end of segment 2/);
});
