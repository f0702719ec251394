/**
 * Hostile images: each corruption must give a FormatError naming the damaged structure, no crash,
 * no runaway allocation, and no byte of the file changed, whether opened read-only or read-write.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../../src/common/errors.js';
import { vhdxDriver } from '../../../src/storage/vhdx/driver.js';
import { crc32c } from '../../../src/storage/vhdx/crc32c.js';
import { parseGuid } from '../../../src/storage/vhdx/guid.js';
import { buildEntry } from '../../../src/storage/vhdx/log.js';
import { fileFingerprint, pattern, qemuImgStatus, readAll, tempDir } from './fixtures.js';

const KiB = 1024, MiB = 1024 * KiB;
const H1 = 64 * KiB, H2 = 128 * KiB, RT1 = 192 * KiB, RT2 = 256 * KiB;
const t = tempDir('hostile');
const base = join(t.dir, 'base.vhdx');
const data = pattern(11, 2 * MiB);

test.before(async () => {
  await vhdxDriver.create(base, { size: 8 * MiB, type: 'dynamic', blockSize: MiB });
  const img = await vhdxDriver.open(base, { readOnly: false });
  await img.write(MiB / 512, data);
  await img.close();
});
test.after(() => t.cleanup());

type Buf = Buffer;
const u32 = (b: Buf, at: number): number => b.readUInt32LE(at);
const u64 = (b: Buf, at: number): number => Number(b.readBigUInt64LE(at));
const setU64 = (b: Buf, at: number, v: number): void => { b.writeBigUInt64LE(BigInt(v), at); };
function fixHeader(b: Buf, at: number): void { b.writeUInt32LE(0, at + 4); b.writeUInt32LE(crc32c(b.subarray(at, at + 4 * KiB)), at + 4); }
function fixRegionTable(b: Buf, at: number): void { b.writeUInt32LE(0, at + 4); b.writeUInt32LE(crc32c(b.subarray(at, at + 64 * KiB)), at + 4); }
/** File offset of the region whose GUID is `guid`, read from region table 1. */
function regionOffset(b: Buf, guid: string): number {
  const g = Buffer.from(parseGuid(guid));
  for (let i = 0; i < u32(b, RT1 + 8); i++) if (b.subarray(RT1 + 16 + i * 32, RT1 + 32 + i * 32).equals(g)) return RT1 + 16 + i * 32;
  throw new Error('region not found');
}
const BAT = '2DC27766-F623-4200-9D64-115E9BFD4A08';
const METADATA = '8B7CA206-4790-4B9A-B8FE-575F050F886E';
/** File offset of a metadata item's value, found through the metadata table. */
function itemOffset(b: Buf, guid: string): number {
  const md = u64(b, regionOffset(b, METADATA) + 16);
  const g = Buffer.from(parseGuid(guid));
  for (let i = 0; i < b.readUInt16LE(md + 10); i++) {
    const at = md + 32 + i * 32;
    if (b.subarray(at, at + 16).equals(g)) return md + u32(b, at + 16);
  }
  throw new Error('item not found');
}
const batOffset = (b: Buf): number => u64(b, regionOffset(b, BAT) + 16);

async function expectRejected(name: string, mutate: (b: Buf) => Buf | void, pattern: RegExp): Promise<void> {
  const file = join(t.dir, `${name}.vhdx`);
  const buf = readFileSync(base);
  writeFileSync(file, mutate(buf) ?? buf);
  const before = fileFingerprint(file);
  for (const readOnly of [true, false]) {
    await assert.rejects(vhdxDriver.open(file, { readOnly }), (e: unknown) => {
      assert.ok(e instanceof FormatError, `${name}: expected a FormatError, got ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    });
    assert.equal(fileFingerprint(file), before, `${name}: the file changed (readOnly=${readOnly})`);
  }
  const report = await vhdxDriver.check!(file, { repair: false });
  assert.equal(report.ok, false);
  assert.equal(fileFingerprint(file), before, `${name}: check changed the file`);
}

const cases: [string, (b: Buf) => Buf | void, RegExp][] = [
  ['truncated-header', (b) => b.subarray(0, 100 * KiB), /header.*past the end of the file/],
  ['truncated-bat', (b) => b.subarray(0, 3 * MiB + 512 * KiB), /region.*past the end/],
  ['bad-identifier', (b) => { b.write('vhdyfile', 0, 'latin1'); }, /file type identifier: bad signature/],
  ['bad-header-signatures', (b) => { b.write('HEAD', H1, 'latin1'); b.write('HEAD', H2, 'latin1'); }, /both headers are invalid: header 1 bad signature.*header 2 bad signature/],
  ['bad-header-checksums', (b) => { b[H1 + 200]! ^= 1; b[H2 + 300]! ^= 1; }, /both headers are invalid: header 1 bad CRC-32C.*header 2 bad CRC-32C/],
  ['bad-region-checksums', (b) => { b[RT1 + 1000]! ^= 1; b[RT2 + 1000]! ^= 1; }, /both region tables are invalid: bad CRC-32C/],
  ['region-past-eof', (b) => {
    for (const rt of [RT1, RT2]) { setU64(b, regionOffset(b, BAT) - RT1 + rt + 16, 1024 * 1024 * MiB); fixRegionTable(b, rt); }
  }, /BAT region .* past the end/],
  ['regions-overlap', (b) => {
    const md = u64(b, regionOffset(b, METADATA) + 16);
    for (const rt of [RT1, RT2]) { setU64(b, regionOffset(b, BAT) - RT1 + rt + 16, md); fixRegionTable(b, rt); }
  }, /BAT region overlaps the metadata region/],
  ['region-over-log', (b) => {
    for (const rt of [RT1, RT2]) { setU64(b, regionOffset(b, METADATA) - RT1 + rt + 16, MiB); fixRegionTable(b, rt); }
  }, /metadata region overlaps the log/],
  ['bat-entry-past-eof', (b) => { setU64(b, batOffset(b) + 3 * 8, 6 + 4000 * 2 ** 20); }, /BAT entry 3: .*past the end/],
  ['bat-entry-over-metadata', (b) => { setU64(b, batOffset(b) + 4 * 8, 6 + (u64(b, regionOffset(b, METADATA) + 16) / MiB) * 2 ** 20); }, /BAT entry 4: .*overlaps the metadata region/],
  ['bat-entries-overlap', (b) => { setU64(b, batOffset(b) + 5 * 8, u64(b, batOffset(b) + 1 * 8)); }, /BAT entry \d: .*overlaps the block of BAT entry/],
  ['bat-bad-state', (b) => { setU64(b, batOffset(b) + 6 * 8, 5); }, /BAT entry 6: payload state 5/],
  ['absurd-virtual-size', (b) => { setU64(b, itemOffset(b, '2FA54224-CD1B-4876-B211-5DBED83BF4B8'), 2 ** 60); }, /metadata region: virtual disk size/],
  ['huge-disk-small-bat', (b) => { setU64(b, itemOffset(b, '2FA54224-CD1B-4876-B211-5DBED83BF4B8'), 64 * 1024 * 1024 * MiB); }, /BAT: region of .* too small/],
  ['block-size-3MiB', (b) => { b.writeUInt32LE(3 * MiB, itemOffset(b, 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B')); }, /block size 3145728/],
  ['block-size-512MiB', (b) => { b.writeUInt32LE(512 * MiB, itemOffset(b, 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B')); }, /block size 536870912/],
  ['sector-size-1000', (b) => { b.writeUInt32LE(1000, itemOffset(b, '8141BF1D-A96F-4709-BA47-F233A8FAAB5F')); }, /logical sector size 1000/],
  ['metadata-item-outside', (b) => {
    const md = u64(b, regionOffset(b, METADATA) + 16);
    b.writeUInt32LE(0xfffff000, md + 32 + 16);
  }, /metadata region: item .* outside the region/],
  ['log-length-absurd', (b) => { for (const h of [H1, H2]) { b.writeUInt32LE(0xfff00000, h + 68); fixHeader(b, h); } }, /header: log .* past the end/],
];

for (const [name, mutate, re] of cases) {
  test(`hostile: ${name} is a FormatError and nothing is written`, () => expectRejected(name, mutate, re));
}

/** Puts a log entry in the log and makes the headers name its log GUID. */
function withLogEntry(b: Buf, pageOffset: number, page: Uint8Array, tamper = false): void {
  const logGuid = parseGuid('11111111-2222-4333-8444-555555555555');
  const entry = buildEntry(7, logGuid, [{ offset: pageOffset, data: page }], b.length, b.length);
  if (tamper) entry[5000]! ^= 1;
  const logOffset = u64(b, H1 + 72);
  b.set(entry, logOffset);
  for (const h of [H1, H2]) { b.set(logGuid, h + 48); fixHeader(b, h); }
}

test('hostile: a log entry that would overwrite the headers is a FormatError, nothing written', () =>
  expectRejected('log-into-header', (b) => withLogEntry(b, H1, new Uint8Array(4096)), /log entry 7 .*identifier or headers/));

test('hostile: a log entry writing past its last file offset is refused', () =>
  expectRejected('log-past-end', (b) => withLogEntry(b, b.length + 64 * MiB, new Uint8Array(4096)), /log entry 7 .*last file offset/));

test('a torn log entry (bad checksum) is ignored; a pending one is refused read-only and replayed read-write', async () => {
  const buf = readFileSync(base);
  const bat = batOffset(buf);
  // The pending entry clears the BAT page: after replay the disk reads as zeros.
  const torn = join(t.dir, 'torn.vhdx');
  const tb = Buffer.from(buf);
  withLogEntry(tb, bat, new Uint8Array(4096), true);
  writeFileSync(torn, tb);
  const ti = await vhdxDriver.open(torn, { readOnly: true });
  const got = new Uint8Array(data.length);
  await ti.read(MiB / 512, got);
  assert.deepEqual(got, data);
  await ti.close();

  const pending = join(t.dir, 'pending.vhdx');
  const pb = Buffer.from(buf);
  withLogEntry(pb, bat, new Uint8Array(4096));
  writeFileSync(pending, pb);
  const before = fileFingerprint(pending);
  await assert.rejects(vhdxDriver.open(pending, { readOnly: true }), /pending log entr.*open the image read-write/);
  assert.equal(fileFingerprint(pending), before);
  const rw = await vhdxDriver.open(pending, { readOnly: false });
  assert.deepEqual(await readAll(rw), new Uint8Array(8 * MiB));
  await rw.close();
  assert.equal(qemuImgStatus('check', pending).status, 0);
});

test('check repairs a bad header copy, a bad region table copy and a BAT entry past EOF', async () => {
  const file = join(t.dir, 'repair.vhdx');
  copyFileSync(base, file);
  const b = readFileSync(file);
  const current = u64(b, H1 + 8) >= u64(b, H2 + 8) ? H1 : H2;
  b[(current === H1 ? H2 : H1) + 100]! ^= 1;
  b[RT2 + 500]! ^= 1;
  setU64(b, batOffset(b) + 3 * 8, 6 + 4000 * 2 ** 20);
  writeFileSync(file, b);
  const found = await vhdxDriver.check!(file, { repair: false });
  assert.equal(found.ok, false);
  assert.equal(found.problems.length, 3, found.problems.join('\n'));
  const fixed = await vhdxDriver.check!(file, { repair: true });
  assert.equal(fixed.ok, true, fixed.problems.join('\n'));
  assert.equal(fixed.repaired.length, 3, fixed.repaired.join('\n'));
  assert.deepEqual(await vhdxDriver.check!(file, { repair: false }), { ok: true, problems: [], repaired: [] });
  assert.equal(qemuImgStatus('check', file).status, 0);
  const img = await vhdxDriver.open(file, { readOnly: true });
  const got = new Uint8Array(data.length);
  await img.read(MiB / 512, got);
  assert.deepEqual(got, data);
  await img.close();
});

test('probe accepts only the VHDX identifier, and a short file is not a crash', async () => {
  assert.equal(vhdxDriver.probe(new TextEncoder().encode('vhdxfile'), 8), true);
  assert.equal(vhdxDriver.probe(new TextEncoder().encode('vhdxfil'), 7), false);
  assert.equal(vhdxDriver.probe(new TextEncoder().encode('conectix'), 8), false);
  const tiny = join(t.dir, 'tiny.vhdx');
  writeFileSync(tiny, 'vhdxfile');
  await assert.rejects(vhdxDriver.open(tiny, { readOnly: true }), (e: unknown) => e instanceof FormatError && /header/.test(e.message));
  truncateSync(tiny, 0);
  await assert.rejects(vhdxDriver.open(tiny, { readOnly: true }), (e: unknown) => e instanceof FormatError);
});
