/**
 * Hostile VHD files: each corruption must produce a clear error naming the structure, without a
 * crash, a huge allocation, or any write to the file. `check` must report the same problems, and
 * `check --repair` must fix what it claims to fix.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/common/errors.js';
import { createImage, openImage } from '../../src/storage/registry.js';
import { vhdDriver } from '../../src/storage/vhd/driver.js';
import { fileHash, pattern, tempDir } from './core-helpers.js';

const MiB = 1024 * 1024;

/** Recomputes a VHD checksum field the way the specification defines it (one's complement sum). */
function fixChecksum(b: Buffer, start: number, length: number, field: number): void {
  let sum = 0;
  for (let i = start; i < start + length; i++) if (i < field || i >= field + 4) sum = (sum + b[i]!) >>> 0;
  b.writeUInt32BE(~sum >>> 0, field);
}

async function sampleImage(dir: string, name = 'h.vhd'): Promise<string> {
  const file = join(dir, name);
  await createImage(file, 'vhd', { size: 8 * MiB, type: 'dynamic', blockSize: MiB });
  const img = await openImage(file, { readOnly: false });
  await img.write(0, pattern(MiB, 1));
  await img.write(4 * 2048, pattern(MiB, 2));
  await img.close();
  return file;
}

/** Applies `mutate` to the file bytes, then asserts opening fails with `message` and writes nothing. */
async function expectRejected(file: string, mutate: (b: Buffer) => Buffer, message: RegExp): Promise<void> {
  writeFileSync(file, mutate(readFileSync(file)));
  const hash = fileHash(file);
  for (const readOnly of [true, false]) {
    await assert.rejects(openImage(file, { readOnly }), (e: unknown) => {
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(fileHash(file), hash, 'the rejected file was not modified');
}

const FOOTER_AT_END = (b: Buffer): number => b.length - 512;

const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
  ['a truncated file (end footer cut off)', (b) => b.subarray(0, b.length - 700), /footer at the end of the file lacks the 'conectix' cookie \(file truncated or damaged\? .*check --repair/],
  ['a file shorter than a footer', (b) => b.subarray(0, 300), /too short|format not recognised|not a multiple/],
  ['a wrong footer checksum', (b) => { b[FOOTER_AT_END(b) + 64] ^= 0xff; return b; }, /footer at the end of the file checksum is 0x[0-9a-f]+, expected/],
  ['a wrong dynamic header checksum', (b) => { b[512 + 36] ^= 0x01; return b; }, /dynamic header checksum/],
  ['a BAT entry past the end', (b) => { b.writeUInt32BE(0x00ffffff, 1536 + 4); return b; }, /BAT entry 1 .*past the end/],
  ['a BAT entry overlapping the dynamic header', (b) => { b.writeUInt32BE(1, 1536 + 4); return b; }, /BAT entry 1 points to offset 512, overlapping the dynamic header/],
  ['two BAT entries overlapping each other', (b) => { b.writeUInt32BE(b.readUInt32BE(1536), 1536 + 8); return b; }, /overlapping blocks/],
  ['an absurd virtual size', (b) => {
    const f = FOOTER_AT_END(b);
    b.writeBigUInt64BE(1n << 60n, f + 48);
    fixChecksum(b, f, 512, f + 64);
    return b;
  }, /current size .* between 512 bytes and 2040 GiB/],
  ['a BAT far larger than the file', (b) => {
    const f = FOOTER_AT_END(b);
    b.writeBigUInt64BE(1024n ** 4n, f + 48);
    fixChecksum(b, f, 512, f + 64);
    b.writeUInt32BE(0x7fffffff, 512 + 28);
    fixChecksum(b, 512, 1024, 512 + 36);
    return b;
  }, /BAT of 2147483647 entries .* runs past the end/],
  ['a tiny block size that would need a gigantic BAT', (b) => {
    const f = FOOTER_AT_END(b);
    b.writeBigUInt64BE(2000n * 1024n ** 3n, f + 48);
    fixChecksum(b, f, 512, f + 64);
    b.writeUInt32BE(512, 512 + 32);
    b.writeUInt32BE(0xffffffff, 512 + 28);
    fixChecksum(b, 512, 1024, 512 + 36);
    return b;
  }, /BAT would need 4194304000 entries .* more than the supported/],
  ['a block size that is not a power of two', (b) => {
    b.writeUInt32BE(3 * 1000 * 1000, 512 + 32);
    fixChecksum(b, 512, 1024, 512 + 36);
    return b;
  }, /block size 3000000 is not a power of two/],
  ['a header offset outside the file', (b) => {
    const f = FOOTER_AT_END(b);
    b.writeBigUInt64BE(1n << 40n, f + 16);
    fixChecksum(b, f, 512, f + 64);
    return b;
  }, /dynamic header offset .* outside the file/],
  ['an unknown disk type', (b) => {
    const f = FOOTER_AT_END(b);
    b.writeUInt32BE(9, f + 60);
    fixChecksum(b, f, 512, f + 64);
    return b;
  }, /unknown disk type 9/],
];

for (const [name, mutate, message] of cases) {
  test(`hostile VHD: ${name} is rejected clearly and left untouched`, async (t) => {
    const dir = tempDir(t);
    await expectRejected(await sampleImage(dir), mutate, message);
  });
}

test('hostile VHD: a parent chain that loops is rejected', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.vhd');
  const b = join(dir, 'b.vhd');
  await createImage(a, 'vhd', { size: 4 * MiB, type: 'dynamic' });
  await createImage(b, 'vhd', { size: 0, type: 'differencing', parent: a });
  // Make a differencing child of b and put it in a's place: b -> a -> b.
  await createImage(join(dir, 'a2.vhd'), 'vhd', { size: 0, type: 'differencing', parent: b });
  renameSync(join(dir, 'a2.vhd'), a);
  const hash = fileHash(b);
  await assert.rejects(openImage(b, { readOnly: true }), /parent chain loops back/);
  assert.equal(fileHash(b), hash);
});

test('hostile VHD: a parent with a different unique id is rejected', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'p.vhd');
  const c = join(dir, 'c.vhd');
  await createImage(p, 'vhd', { size: 4 * MiB, type: 'dynamic' });
  await createImage(c, 'vhd', { size: 0, type: 'differencing', parent: p });
  await createImage(join(dir, 'other.vhd'), 'vhd', { size: 4 * MiB, type: 'dynamic' });
  renameSync(join(dir, 'other.vhd'), p);
  await assert.rejects(openImage(c, { readOnly: true }), /has unique id .* but the child expects/);
});

test('check finds a damaged end footer and --repair restores it from the copy', async (t) => {
  const dir = tempDir(t);
  const file = await sampleImage(dir);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad[bad.length - 512 + 70] ^= 0x55;
  writeFileSync(file, bad);
  const r1 = await vhdDriver.check!(file, { repair: false });
  assert.equal(r1.ok, false);
  assert.ok(r1.problems.some((p) => /footer at the end of the file checksum/.test(p)), r1.problems.join('; '));
  assert.deepEqual(readFileSync(file), bad, 'check without --repair wrote nothing');
  const r2 = await vhdDriver.check!(file, { repair: true });
  assert.equal(r2.ok, true, r2.problems.join('; '));
  assert.ok(r2.repaired.length > 0);
  assert.deepEqual(readFileSync(file), good, 'repaired file equals the original');
});

test('check --repair drops a BAT entry pointing past the end, and the rest still reads', async (t) => {
  const dir = tempDir(t);
  const file = await sampleImage(dir);
  const b = readFileSync(file);
  b.writeUInt32BE(0x00ffffff, 1536 + 8);
  writeFileSync(file, b);
  const r = await vhdDriver.check!(file, { repair: true });
  assert.equal(r.ok, true, r.problems.join('; '));
  assert.ok(r.repaired.some((x) => /BAT entry 2/.test(x)));
  const img = await openImage(file, { readOnly: true });
  const buf = new Uint8Array(MiB);
  await img.read(0, buf);
  assert.deepEqual(buf, pattern(MiB, 1));
  await img.close();
});

test('a healthy image passes check, and a copy of it in another name too', async (t) => {
  const dir = tempDir(t);
  const file = await sampleImage(dir);
  copyFileSync(file, join(dir, 'copy.vhd'));
  for (const f of [file, join(dir, 'copy.vhd')]) {
    const r = await vhdDriver.check!(f, { repair: false });
    assert.deepEqual(r, { ok: true, problems: [], repaired: [] });
  }
  truncateSync(file, 1000);
  const r = await vhdDriver.check!(file, { repair: false });
  assert.equal(r.ok, false);
});
