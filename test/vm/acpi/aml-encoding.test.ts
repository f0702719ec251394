/**
 * The AML encoder against the byte layouts of ACPI 6.x chapter 20: PkgLength at every size
 * boundary, integer encodings, name paths, data objects, and rejection of what AML cannot express.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { encodePkgLength, withPkgLength } from '../../../src/vm/acpi/aml/pkg-length.js';
import { nameSeg, nameString } from '../../../src/vm/acpi/aml/names.js';
import { buffer, eisaId, integer, pkg, string, uuid } from '../../../src/vm/acpi/aml/data.js';
import { method } from '../../../src/vm/acpi/aml/namespace.js';
import { arg, local } from '../../../src/vm/acpi/aml/statements.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Reads a PkgLength back by the rules of 20.2.4, independently of the encoder. */
function decodePkgLength(b: Uint8Array): { length: number; size: number } {
  const lead = b[0]!;
  const follow = lead >> 6;
  if (follow === 0) return { length: lead & 0x3f, size: 1 };
  assert.equal(lead & 0x30, 0, 'bits 5:4 of a multi-byte lead byte are zero');
  let length = lead & 0x0f;
  for (let i = 1; i <= follow; i++) length += b[i]! * 2 ** (4 + 8 * (i - 1));
  return { length, size: 1 + follow };
}

test('PkgLength switches size exactly where the total (itself included) stops fitting', () => {
  const cases: [body: number, size: number][] = [
    [0, 1], [62, 1], [63, 2], [0xffd, 2], [0xffe, 3], [0xffffc, 3], [0xffffd, 4], [0xffffffb, 4],
  ];
  for (const [body, size] of cases) {
    const enc = encodePkgLength(body);
    assert.equal(enc.length, size, `body ${body}`);
    assert.deepEqual(decodePkgLength(enc), { length: body + size, size }, `body ${body}`);
  }
  assert.equal(hex(encodePkgLength(62)), '3f');
  assert.equal(hex(encodePkgLength(63)), '4104', '65 = 0x41: lead 0x40|1, then 0x04');
  assert.throws(() => encodePkgLength(0xffffffc), /exceeds the PkgLength limit/);
  assert.throws(() => encodePkgLength(-1), /invalid/);
});

test('withPkgLength wraps a body so the length counts itself and the body, not the opcode', () => {
  const body = new Uint8Array(100).fill(0xaa);
  const out = withPkgLength(Uint8Array.of(0x10), [body]);
  assert.equal(out[0], 0x10);
  assert.deepEqual(decodePkgLength(out.subarray(1)), { length: 102, size: 2 });
  assert.equal(out.length, 1 + 2 + 100);
});

test('integers use Zero, One and the smallest prefixed constant', () => {
  assert.equal(hex(integer(0)), '00');
  assert.equal(hex(integer(1)), '01');
  assert.equal(hex(integer(2)), '0a02');
  assert.equal(hex(integer(0xff)), '0aff');
  assert.equal(hex(integer(0x100)), '0b0001');
  assert.equal(hex(integer(0xffff)), '0bffff');
  assert.equal(hex(integer(0x10000)), '0c00000100');
  assert.equal(hex(integer(0xffffffff)), '0cffffffff');
  assert.equal(hex(integer(0x100000000)), '0e0000000001000000');
  assert.equal(hex(integer(0xfedcba9876543210n)), '0e1032547698badcfe');
  assert.throws(() => integer(-1), /outside/);
  assert.throws(() => integer(1n << 64n), /outside/);
  assert.throws(() => integer(2 ** 60), /safe integer/);
  assert.throws(() => integer(1.5), /safe integer/);
});

test('name segments are padded with _ and paths take root, parent, dual and multi prefixes', () => {
  assert.equal(Buffer.from(nameSeg('_S5')).toString(), '_S5_');
  assert.equal(Buffer.from(nameString('PCI0')).toString(), 'PCI0');
  assert.equal(hex(nameString('\\_SB')), '5c' + Buffer.from('_SB_').toString('hex'));
  assert.equal(hex(nameString('\\_SB.PCI0')), '5c2e' + Buffer.from('_SB_PCI0').toString('hex'));
  assert.equal(hex(nameString('\\_SB.PCI0.COM1')), '5c2f03' + Buffer.from('_SB_PCI0COM1').toString('hex'));
  assert.equal(hex(nameString('^^KBD')), '5e5e' + Buffer.from('KBD_').toString('hex'));
  assert.equal(hex(nameString('\\')), '5c00', 'the root alone is RootChar NullName');
  for (const bad of ['', 'pci0', '1ABC', 'ABCDE', 'A-B', '\\_SB..X', 'A.', '^\\X']) {
    assert.throws(() => nameString(bad), RangeError, JSON.stringify(bad));
  }
});

test('strings, buffers and packages', () => {
  assert.equal(hex(string('ACPI0007')), '0d' + Buffer.from('ACPI0007').toString('hex') + '00');
  assert.throws(() => string('caf\u00e9'), /non-ASCII/);
  assert.throws(() => string('a\0b'), /NUL/);
  assert.equal(hex(buffer(Uint8Array.of(1, 2, 3))), '11060a03010203', 'PkgLength 6 = itself + size 0A03 + 3 bytes');
  assert.equal(hex(pkg([integer(0), integer(5)])), '120502000a05');
  assert.throws(() => pkg(new Array<Uint8Array>(256).fill(integer(0))), /at most 255/);
  const big = pkg(new Array<Uint8Array>(128).fill(integer(0x12345)));
  assert.equal(big[0], 0x12);
  assert.equal(decodePkgLength(big.subarray(1)).length, big.length - 1, 'a package past 63 bytes gets a longer PkgLength');
});

test('EisaId and ToUUID produce the values ASL defines', () => {
  assert.equal(hex(eisaId('PNP0A03')), '0c41d00a03', '0x030AD041 little-endian');
  assert.equal(hex(eisaId('PNP0A08')), '0c41d00a08');
  assert.throws(() => eisaId('pnp0a03'), /EISA ID/);
  assert.equal(hex(uuid('33DB4D5B-1FF7-401C-9657-7441C03DD766')), '11130a10' + '5b4ddb33f71f1c4096577441c03dd766');
  assert.throws(() => uuid('33DB4D5B1FF7401C96577441C03DD766'), /8-4-4-4-12/);
});

test('method flags carry the argument count, serialization and sync level', () => {
  const m = method('_OSC', { args: 4, serialized: true, syncLevel: 2 }, []);
  assert.equal(hex(m), '1406' + Buffer.from('_OSC').toString('hex') + '2c');
  assert.throws(() => method('X', { args: 8 }, []), /argument count/);
  assert.throws(() => method('X', { args: 0, syncLevel: 16 }, []), /SyncLevel/);
  assert.equal(hex(arg(3)), '6b');
  assert.equal(hex(local(7)), '67');
  assert.throws(() => arg(7));
  assert.throws(() => local(8));
});
