/**
 * The encoder against the ASL compiler: the same objects written in ASL and compiled by iasl must
 * give the same AML bytes. The one deliberate difference is the resource template End Tag: iasl
 * writes checksum 0 ("treat as valid"), the encoder writes the real checksum.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { concat, type Aml } from '../../../src/vm/acpi/aml/bytes.js';
import { buffer, eisaId, integer, pkg, string } from '../../../src/vm/acpi/aml/data.js';
import { device, method, name, scope } from '../../../src/vm/acpi/aml/namespace.js';
import { io, irqNoFlags, memory32Fixed, qwordSpace, dwordSpace, resourceTemplate, wordSpace } from '../../../src/vm/acpi/aml/resources.js';
import { pciRootOsc } from '../../../src/vm/acpi/dsdt-osc.js';
import { SDT_HEADER_LENGTH } from '../../../src/vm/acpi/sdt.js';
import { compileAsl, withTempDir } from './acpica.js';

/** Compiles `body` inside a DefinitionBlock and returns the AML after the table header. */
function iaslBody(body: string): Uint8Array {
  return withTempDir((dir) => {
    const { aml, log } = compileAsl(dir, `DefinitionBlock ("", "SSDT", 2, "VIRIDN", "VIRIDIAN", 1)\n{\n${body}\n}\n`);
    assert.equal(log.status, 0, `iasl failed:\n${log.output}`);
    assert.match(log.output, /Compilation successful\. 0 Errors, 0 Warnings/, log.output);
    return aml.subarray(SDT_HEADER_LENGTH);
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Zeroes the End Tag checksum of every resource template in `aml` (0x79 followed by one byte, just before a Name's end). */
function zeroEndTagChecksums(aml: Uint8Array, templates: readonly Aml[]): Uint8Array {
  const out = aml.slice();
  for (const t of templates) {
    const at = Buffer.from(out).indexOf(Buffer.from(t));
    assert.ok(at >= 0, 'template present');
    assert.equal(out[at + t.length - 2], 0x79, 'template ends with an End Tag');
    out[at + t.length - 1] = 0;
  }
  return out;
}

test('integers, strings, buffers and packages compile to the same bytes', () => {
  const values: [string, number | bigint][] = [['I0', 0], ['I1', 1], ['I2', 2], ['I3', 0xff], ['I4', 0x100], ['I5', 0xffff], ['I6', 0x10000],
    ['I7', 0xffffffff], ['I8', 0x100000000], ['I9', 0xfffffffffffffffen]];
  const asl = [
    ...values.map(([n, v]) => `Name (${n}, 0x${v.toString(16)})`),
    'Name (S0, "ACPI0007")',
    'Name (B0, Buffer () {0x01, 0x02, 0x03})',
    `Name (B1, Buffer () {${new Array(5000).fill('0x5A').join(', ')}})`,
    'Name (P0, Package () {Zero, 0x05, "x", Package () {One}})',
    'Name (\\_S5, Package (0x04) {0x07, 0x07, Zero, Zero})',
    'Name (E0, EisaId ("PNP0F13"))',
  ].join('\n');
  const ours = concat([
    ...values.map(([n, v]) => name(n, integer(v))),
    name('S0', string('ACPI0007')),
    name('B0', buffer(Uint8Array.of(1, 2, 3))),
    name('B1', buffer(new Uint8Array(5000).fill(0x5a))),
    name('P0', pkg([integer(0), integer(5), string('x'), pkg([integer(1)])])),
    name('\\_S5', pkg([integer(7), integer(7), integer(0), integer(0)])),
    name('E0', eisaId('PNP0F13')),
  ]);
  assert.equal(hex(ours), hex(iaslBody(asl)));
});

test('scopes, devices and the _OSC method compile to the same bytes', () => {
  const asl = `
Scope (\\_SB)
{
  Device (PCI0)
  {
    Name (_HID, EisaId ("PNP0A08"))
    Method (_OSC, 4, Serialized)
    {
      CreateDWordField (Arg3, Zero, CDW1)
      If ((Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766")))
      {
        CreateDWordField (Arg3, 0x08, CDW3)
        Local0 = (CDW3 & 0xBF)
        If ((Arg1 != One)) { CDW1 |= 0x08 }
        If ((CDW3 != Local0)) { CDW1 |= 0x10 }
        CDW3 = Local0
        Return (Arg3)
      }
      CDW1 |= 0x04
      Return (Arg3)
    }
  }
}
Method (M7, 7, NotSerialized, 3) { Return (Arg6) }`;
  const ours = concat([
    scope('\\_SB', [device('PCI0', [name('_HID', eisaId('PNP0A08')), pciRootOsc()])]),
    method('M7', { args: 7, syncLevel: 3 }, [Uint8Array.of(0xa4, 0x6e)]),
  ]);
  assert.equal(hex(ours), hex(iaslBody(asl)));
});

test('resource descriptors compile to the same bytes, End Tag checksum aside', () => {
  const asl = `
Name (RT, ResourceTemplate ()
{
  WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,,)
  WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,,,, TypeStatic, DenseTranslation)
  IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)
  DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000,,,, AddressRangeMemory, TypeStatic)
  DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0x00000000, 0xC0000000, 0xFEBFFFFF, 0x00000000, 0x3EC00000,,,, AddressRangeMemory, TypeStatic)
  QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadOnly, 0x0, 0x800000000, 0xFFFFFFFFF, 0x0, 0x800000000,,,, AddressRangeMemory, TypeStatic)
  QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0x0, 0x1000000000, 0x100FFFFFFF, 0x0, 0x10000000,,,, AddressRangeMemory, TypeStatic)
  Memory32Fixed (ReadOnly, 0xFED00000, 0x00000400,)
  Memory32Fixed (ReadWrite, 0xB0000000, 0x10000000,)
  IRQNoFlags () {3,4,12}
})
Name (R2, ResourceTemplate () { IRQNoFlags () {8} })`;
  const rt = resourceTemplate([
    wordSpace({ type: 'bus', producer: true, min: 0, max: 0xff }),
    wordSpace({ type: 'io', producer: true, min: 0x0d00, max: 0xffff }),
    io(0xcf8, 0xcf8, 1, 8),
    dwordSpace({ type: 'memory', producer: true, caching: 'cacheable', min: 0xa0000, max: 0xbffff }),
    dwordSpace({ type: 'memory', producer: true, min: 0xc0000000, max: 0xfebfffff }),
    qwordSpace({ type: 'memory', producer: true, caching: 'prefetchable', writable: false, min: 0x800000000, max: 0xfffffffff }),
    qwordSpace({ type: 'memory', producer: false, min: 0x1000000000, max: 0x100fffffff }),
    memory32Fixed(false, 0xfed00000, 0x400),
    memory32Fixed(true, 0xb0000000, 0x10000000),
    irqNoFlags([3, 4, 12]),
  ]);
  const r2 = resourceTemplate([irqNoFlags([8])]);
  const ours = concat([name('RT', rt), name('R2', r2)]);
  assert.equal(hex(zeroEndTagChecksums(ours, [rt, r2])), hex(iaslBody(asl)));
});

test('resource templates carry a checksum that makes the template sum to zero', () => {
  for (const t of [resourceTemplate([irqNoFlags([8])]), resourceTemplate([io(0x3f8, 0x3f8, 1, 8), irqNoFlags([4])])]) {
    // Buffer: 11 PkgLength BufferSize(0A nn) then the descriptors.
    const size = t[3]!;
    const data = t.subarray(t.length - size);
    assert.equal(data.reduce((s, b) => (s + b) & 0xff, 0), 0);
    assert.notEqual(data[data.length - 1], 0, 'the checksum is computed, not left as 0');
  }
});
