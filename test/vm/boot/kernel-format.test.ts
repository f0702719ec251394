/**
 * --kernel detection: bzImage, Multiboot (before PVH, as QEMU does), PVH ELF, and errors that say
 * what the file looks like and what is accepted.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { detectKernelFormat } from '../../../src/vm/boot/kernel-format.js';
import { ensureDebianGuest } from '../../../src/images/debian-guest.js';
import { buildElf, pvhNote } from './elf-builder.js';

function multibootHeader(): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, 0x3, true);
  v.setUint32(8, (-(0x1badb002 + 0x3)) >>> 0, true);
  return h;
}

test('recognises each accepted format', () => {
  const debian = new Uint8Array(readFileSync(ensureDebianGuest().kernel));
  const bz = detectKernelFormat('vmlinuz', debian);
  assert.equal(bz.kind, 'bzimage');
  assert.ok(bz.kind === 'bzimage' && bz.protocol >= 0x20c);

  const flat = new Uint8Array(8192);
  flat.set(multibootHeader(), 64);
  assert.deepEqual(detectKernelFormat('mb', flat), { kind: 'multiboot', headerOffset: 64, flags: 3 });

  const pvh = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(32) }], notes: [pvhNote(0x100004)] });
  const f = detectKernelFormat('vmlinux', pvh);
  assert.equal(f.kind, 'pvh-elf');
  assert.ok(f.kind === 'pvh-elf' && f.entry === 0x100004 && f.elf.bits === 64);

  // An ELF carrying both a Multiboot header and a PVH note boots the Multiboot way.
  const code = new Uint8Array(64);
  code.set(multibootHeader(), 0);
  const both = buildElf({ bits: 32, segments: [{ paddr: 0x100000, data: code }], notes: [pvhNote(0x100000, 4)] });
  assert.equal(detectKernelFormat('both', both).kind, 'multiboot');
});

test('anything else is a FormatError saying what was found and what is accepted', () => {
  const noNote = buildElf({ bits: 64, segments: [{ paddr: 0x100000, data: new Uint8Array(32) }] });
  assert.throws(() => detectKernelFormat('vmlinux', noNote), /vmlinux: is an ELF64 x86-64 image without a PVH entry note .*; accepted: a Linux bzImage/);
  const arm = buildElf({ bits: 64, machine: 183, segments: [{ paddr: 0x100000, data: new Uint8Array(32) }] });
  assert.throws(() => detectKernelFormat('img', arm), /ELF64 machine 183/);
  assert.throws(() => detectKernelFormat('k.gz', gzipSync(Buffer.alloc(1000))), /found gzip-compressed data \(decompress it first\)/);
  const pe = new Uint8Array(4096);
  pe[0] = 0x4d; pe[1] = 0x5a;
  assert.throws(() => detectKernelFormat('efi', pe), /PE\/COFF \(EFI\) executable without a Linux setup header/);
  assert.throws(() => detectKernelFormat('junk', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), /found 9 bytes starting 01 02 03 04 05 06 07 08/);
  assert.throws(() => detectKernelFormat('empty', new Uint8Array(0)), /found 0 bytes starting \(empty\)/);
  const broken = noNote.slice(0, 70);
  assert.throws(() => detectKernelFormat('cut', broken), /ELF: program header table .* extends past the end/);
});
