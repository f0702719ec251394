/**
 * The table image parsed back field by field at the offsets the specifications give: checksums,
 * the pointer chain RSDP → RSDT/XSDT → tables → FACS/DSDT, and the FADT, MADT, HPET, MCFG and FACS
 * contents for the PC configuration.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildAcpiTables, ACPI_IMAGE_MAX, type AcpiImage } from '../../../src/vm/acpi/build-acpi-tables.js';
import { ascii, BASE, pcConfig, sum8, table, tableAt, tableInfo, view } from './fixtures.js';

const img = buildAcpiTables(pcConfig(), BASE);

function rootEntries(img: AcpiImage, signature: 'RSDT' | 'XSDT'): number[] {
  const t = table(img, signature), v = view(t), size = signature === 'RSDT' ? 4 : 8;
  const out: number[] = [];
  for (let at = 36; at < t.length; at += size) out.push(size === 4 ? v.getUint32(at, true) : Number(v.getBigUint64(at, true)));
  return out;
}

test('every table with a header sums to zero and states its own signature and length', () => {
  for (const t of img.tables) {
    const b = tableAt(img, t.address, t.length);
    if (t.signature === 'RSDP') continue;
    assert.equal(ascii(b, 0, 4), t.signature);
    assert.equal(view(b).getUint32(4, true), t.length, `${t.signature} length`);
    if (t.signature !== 'FACS') assert.equal(sum8(b), 0, `${t.signature} checksum`);
  }
  assert.deepEqual(img.tables.map((t) => t.signature), ['RSDP', 'FACS', 'DSDT', 'FACP', 'APIC', 'HPET', 'MCFG', 'RSDT', 'XSDT']);
});

test('the RSDP is at the base, 16-byte aligned, with both checksums, and a legacy scan finds it', () => {
  assert.equal(img.rsdpAddress, BASE);
  const r = table(img, 'RSDP');
  assert.equal(ascii(r, 0, 8), 'RSD PTR ');
  assert.equal(sum8(r.subarray(0, 20)), 0, 'ACPI 1.0 checksum over bytes 0-19');
  assert.equal(sum8(r), 0, 'extended checksum over all 36 bytes');
  assert.equal(r[15], 2, 'revision 2');
  assert.equal(view(r).getUint32(20, true), 36);
  assert.equal(view(r).getUint32(16, true), tableInfo(img, 'RSDT').address);
  assert.equal(Number(view(r).getBigUint64(24, true)), tableInfo(img, 'XSDT').address);
  // What a BIOS-less OS does: look at every 16-byte boundary for the signature and a good checksum.
  let found = -1;
  for (let off = 0; off + 20 <= img.image.length && found < 0; off += 16) {
    if (ascii(img.image, off, 8) === 'RSD PTR ' && sum8(img.image.subarray(off, off + 20)) === 0) found = BASE + off;
  }
  assert.equal(found, img.rsdpAddress);
});

test('RSDT and XSDT list the same tables, and the FADT points at the FACS and DSDT', () => {
  const listed = ['FACP', 'APIC', 'HPET', 'MCFG'].map((s) => tableInfo(img, s).address);
  assert.deepEqual(rootEntries(img, 'RSDT'), listed);
  assert.deepEqual(rootEntries(img, 'XSDT'), listed);
  const f = view(table(img, 'FACP'));
  const facs = tableInfo(img, 'FACS').address, dsdt = tableInfo(img, 'DSDT').address;
  assert.equal(f.getUint32(36, true), 0, 'FIRMWARE_CTRL is zero when X_FIRMWARE_CTRL is set');
  assert.equal(Number(f.getBigUint64(132, true)), facs);
  assert.equal(facs % 64, 0, 'FACS 64-byte aligned');
  assert.equal(f.getUint32(40, true), dsdt);
  assert.equal(Number(f.getBigUint64(140, true)), dsdt);
  const last = img.tables.reduce((end, t) => Math.max(end, t.address + t.length), 0);
  assert.equal(last - BASE, img.image.length, 'the image ends with the last table');
  const sorted = [...img.tables].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.address >= sorted[i - 1]!.address + sorted[i - 1]!.length, 'no overlap');
});

/** Reads a Generic Address Structure. */
function gas(v: DataView, at: number): { space: number; bits: number; offset: number; access: number; address: number } {
  return { space: v.getUint8(at), bits: v.getUint8(at + 1), offset: v.getUint8(at + 2), access: v.getUint8(at + 3), address: Number(v.getBigUint64(at + 4, true)) };
}

test('FADT revision 6 describes the ACPI PM block, SCI, reset register and legacy devices', () => {
  const t = table(img, 'FACP'), f = view(t);
  assert.equal(t.length, 276);
  assert.equal(t[8], 6, 'revision');
  assert.equal(t[131], 3, 'minor revision: ACPI 6.3');
  assert.equal(f.getUint16(46, true), 9, 'SCI_INT');
  assert.equal(f.getUint32(48, true), 0, 'SMI_CMD: already in ACPI mode');
  const blocks: [offset: number, xOffset: number, lenOffset: number, address: number, length: number][] = [
    [56, 148, 88, 0x600, 4], // PM1a_EVT
    [64, 172, 89, 0x604, 2], // PM1a_CNT
    [76, 208, 91, 0x608, 4], // PM_TMR
    [80, 220, 92, 0x620, 8], // GPE0
  ];
  for (const [off, xOff, lenOff, address, length] of blocks) {
    assert.equal(f.getUint32(off, true), address, `block at ${off}`);
    assert.equal(t[lenOff], length, `length at ${lenOff}`);
    assert.deepEqual(gas(f, xOff), { space: 1, bits: length * 8, offset: 0, access: 0, address }, `X_ block at ${xOff}`);
  }
  for (const absent of [60, 68, 72, 84]) assert.equal(f.getUint32(absent, true), 0, `absent block at ${absent}`);
  for (const absent of [160, 184, 196, 232, 244, 256]) assert.deepEqual(gas(f, absent), { space: 0, bits: 0, offset: 0, access: 0, address: 0 });
  assert.ok(f.getUint16(96, true) > 100 && f.getUint16(98, true) > 1000, 'no C2/C3');
  assert.equal(t[108], 0x32, 'CENTURY');
  assert.equal(f.getUint16(109, true), 0x3, 'IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042');
  const flags = f.getUint32(112, true);
  assert.equal(flags, 1 | 4 | 0x20 | 0x400, 'WBINVD, PROC_C1, SLP_BUTTON, RESET_REG_SUP; PWR_BUTTON clear; 24-bit timer');
  assert.deepEqual(gas(f, 116), { space: 1, bits: 8, offset: 0, access: 0, address: 0x60c }, 'RESET_REG');
  assert.equal(t[128], 6, 'RESET_VALUE');
  const wide = view(table(buildAcpiTables(pcConfig({ pm: { base: 0xb000, timer32: true, resetValue: 0xf, s5SleepType: 5 } }), BASE), 'FACP'));
  assert.equal(wide.getUint32(112, true) & 0x100, 0x100, 'TMR_VAL_EXT with a 32-bit timer');
  assert.equal(wide.getUint32(76, true), 0xb008);
  assert.equal(wide.getUint8(128), 0xf);
});

test('MADT: one enabled local APIC per CPU, the IOAPIC, the IRQ0 and SCI overrides and LINT1 NMI', () => {
  const t = table(buildAcpiTables(pcConfig({ cpuCount: 7 }), BASE), 'APIC'), m = view(t);
  assert.equal(t[8], 5, 'revision');
  assert.equal(m.getUint32(36, true), 0xfee00000);
  assert.equal(m.getUint32(40, true), 1, 'PCAT_COMPAT');
  const cpus: [number, number, number][] = [], overrides: [number, number, number][] = [];
  let ioapics = 0, nmis = 0;
  for (let at = 44; at < t.length; at += t[at + 1]!) {
    const type = t[at]!, len = t[at + 1]!;
    assert.ok(len >= 2 && at + len <= t.length, `entry at ${at} fits`);
    if (type === 0) cpus.push([t[at + 2]!, t[at + 3]!, m.getUint32(at + 4, true)]);
    else if (type === 1) { ioapics++; assert.deepEqual([t[at + 2], m.getUint32(at + 4, true), m.getUint32(at + 8, true)], [0, 0xfec00000, 0]); }
    else if (type === 2) overrides.push([t[at + 3]!, m.getUint32(at + 4, true), m.getUint16(at + 8, true)]);
    else if (type === 4) { nmis++; assert.deepEqual([t[at + 2], m.getUint16(at + 3, true), t[at + 5]], [0xff, 0x5, 1]); }
    else assert.fail(`unexpected MADT entry type ${type}`);
  }
  assert.deepEqual(cpus, [0, 1, 2, 3, 4, 5, 6].map((i) => [i, i, 1]));
  assert.equal(ioapics, 1);
  assert.equal(nmis, 1);
  assert.deepEqual(overrides, [[0, 2, 0x5], [9, 9, 0xd]], 'IRQ0 → GSI2 edge/high; SCI level/high');
});

test('HPET and MCFG tables; a machine without an HPET gets neither the table nor its device', () => {
  const h = view(table(img, 'HPET'));
  assert.equal(h.getUint32(36, true), pcConfig().hpet!.eventTimerBlockId);
  assert.deepEqual(gas(h, 40), { space: 0, bits: 64, offset: 0, access: 0, address: 0xfed00000 });
  assert.equal(table(img, 'HPET').length, 56);
  const m = table(img, 'MCFG'), mv = view(m);
  assert.equal(m.length, 60);
  assert.equal(Number(mv.getBigUint64(44, true)), 0xb0000000);
  assert.deepEqual([mv.getUint16(52, true), m[54], m[55]], [0, 0, 255]);
  const bare = buildAcpiTables(pcConfig({ hpet: undefined }), BASE);
  assert.ok(!bare.tables.some((t) => t.signature === 'HPET'));
  assert.equal(rootEntries(bare, 'XSDT').length, 3);
  assert.equal(Buffer.from(table(bare, 'DSDT')).indexOf('HPET'), -1);
});

test('FACS layout', () => {
  const f = table(img, 'FACS');
  assert.equal(f.length, 64);
  assert.equal(ascii(f, 0, 4), 'FACS');
  assert.equal(f[32], 2, 'version');
  assert.ok(f.subarray(8, 32).every((b) => b === 0) && f.subarray(33).every((b) => b === 0), 'waking vectors, lock and flags start at zero');
});

test('the image is deterministic, honours the base address and fits 128 KiB with 255 CPUs', () => {
  assert.deepEqual(buildAcpiTables(pcConfig(), BASE).image, img.image);
  const big = buildAcpiTables(pcConfig({ cpuCount: 255 }), BASE);
  assert.ok(big.image.length <= ACPI_IMAGE_MAX, `${big.image.length} bytes`);
  const elsewhere = buildAcpiTables(pcConfig(), 0x7fe0010);
  assert.equal(elsewhere.rsdpAddress, 0x7fe0010);
  assert.equal(tableInfo(elsewhere, 'FACS').address % 64, 0);
  assert.throws(() => buildAcpiTables(pcConfig(), 0xe0008), /16-byte aligned/);
  assert.throws(() => buildAcpiTables(pcConfig(), 0xffff0000), /below 4 GiB/);
});
