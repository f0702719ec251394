/**
 * Differencing images. qemu (7.2) refuses to open VHDX images with a parent ("Operation not
 * supported"), so the chain is verified through the driver against an in-memory model, and the parent
 * (a qemu-made image) stays byte-identical to what qemu wrote.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { FormatError } from '../../../src/common/errors.js';
import { vhdxDriver } from '../../../src/storage/vhdx/driver.js';
import { fileFingerprint, firstDiff, pattern, qemuImg, qemuImgStatus, readAll, rng, tempDir, writePatternRaw } from './fixtures.js';

const MiB = 1024 * 1024;

test('a child over a qemu-made parent reads parent data where it has none and its own elsewhere', async () => {
  const t = tempDir('diff');
  try {
    const raw = join(t.dir, 'p.raw');
    const size = 24 * MiB;
    const base = writePatternRaw(raw, size, [{ offset: 0, length: 5 * MiB }, { offset: 12 * MiB + 512, length: 6 * MiB }]);
    const parent = join(t.dir, 'parent.vhdx');
    qemuImg('convert', '-f', 'raw', '-O', 'vhdx', '-o', 'block_size=1M', raw, parent);
    const parentPrint = fileFingerprint(parent);
    const child = join(t.dir, 'child.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent, blockSize: 2 * MiB });
    const expect = base.slice();
    const img = await vhdxDriver.open(child, { readOnly: false });
    assert.equal(img.parent?.file, parent);
    assert.equal(firstDiff(await readAll(img), expect), -1);
    const r = rng(42);
    for (let k = 0; k < 40; k++) {
      const sectors = 1 + Math.floor(r() * 300);
      const start = Math.floor(r() * (size / 512 - sectors));
      const data = pattern(100 + k, sectors * 512);
      await img.write(start, data);
      expect.set(data, start * 512);
    }
    // A partly written block mixes child and parent sectors; allocation reports the child's runs.
    const probe = await img.allocation(0, size / 512);
    assert.ok(probe.sectors <= (2 * MiB) / 512);
    await img.discard((4 * MiB) / 512, (2 * MiB) / 512);
    expect.fill(0, 4 * MiB, 6 * MiB);
    await img.discard((13 * MiB) / 512, 16);
    expect.fill(0, 13 * MiB, 13 * MiB + 16 * 512);
    assert.equal(firstDiff(await readAll(img), expect), -1);
    await img.close();
    const again = await vhdxDriver.open(child, { readOnly: true });
    const info = await again.info();
    assert.equal(info.type, 'differencing');
    assert.equal(info.parent, parent);
    assert.match(info.identifiers['parentLocator.relative_path']!, /parent\.vhdx$/);
    assert.equal(firstDiff(await readAll(again), expect), -1);
    await again.close();
    assert.equal(fileFingerprint(parent), parentPrint, 'the parent must not be written');
    const report = await vhdxDriver.check!(child, { repair: false });
    assert.equal(report.ok, true, report.problems.join('\n'));
    // Compacting keeps the GUIDs (the link to the parent) and every sector.
    await vhdxDriver.compact!(child);
    const compacted = await vhdxDriver.open(child, { readOnly: true });
    assert.equal(firstDiff(await readAll(compacted), expect), -1);
    await compacted.close();
    // Qemu cannot open the child: documented limitation of the peer, not of the image.
    assert.notEqual(qemuImgStatus('convert', '-O', 'raw', child, join(t.dir, 'c.raw')).status, 0);
    writeFileSync(join(t.dir, 'expect.raw'), expect);
  } finally {
    t.cleanup();
  }
});

test('a child whose parent changed since it was made is refused (parent_linkage)', async () => {
  const t = tempDir('link');
  try {
    const parent = join(t.dir, 'p.vhdx');
    await vhdxDriver.create(parent, { size: 4 * MiB, type: 'dynamic', blockSize: MiB, logicalSectorSize: 4096 });
    const child = join(t.dir, 'c.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent });
    const c = await vhdxDriver.open(child, { readOnly: true });
    assert.equal(c.sectorSize, 4096);
    await c.close();
    const p = await vhdxDriver.open(parent, { readOnly: false });
    await p.write(0, pattern(1, 4096));
    await p.close();
    await assert.rejects(vhdxDriver.open(child, { readOnly: true }), (e: unknown) => e instanceof FormatError && /parent_linkage/.test(e.message));
  } finally {
    t.cleanup();
  }
});

test('a missing parent and a wrong-size parent are named', async () => {
  const t = tempDir('miss');
  try {
    const parent = join(t.dir, 'p.vhdx');
    await vhdxDriver.create(parent, { size: 4 * MiB, type: 'dynamic', blockSize: MiB });
    const child = join(t.dir, 'c.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent });
    await assert.rejects(vhdxDriver.create(join(t.dir, 'd.vhdx'), { size: 8 * MiB, type: 'differencing', parent }), /parent's size/);
    const { rmSync } = await import('node:fs');
    rmSync(parent);
    await assert.rejects(vhdxDriver.open(child, { readOnly: true }), (e: unknown) => e instanceof FormatError && /parent not found/.test(e.message));
  } finally {
    t.cleanup();
  }
});

test('open through opts.openParent is used for the parent', async () => {
  const t = tempDir('cb');
  try {
    const parent = join(t.dir, 'p.vhdx');
    await vhdxDriver.create(parent, { size: 2 * MiB, type: 'dynamic', blockSize: MiB });
    const child = join(t.dir, 'c.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent });
    const seen: string[] = [];
    const img = await vhdxDriver.open(child, {
      readOnly: true,
      openParent: async (path, from) => { seen.push(`${path}<-${from}`); return vhdxDriver.open(path, { readOnly: true }); },
    });
    await img.close();
    assert.deepEqual(seen, [`${parent}<-${child}`]);
  } finally {
    t.cleanup();
  }
});

test('a differencing image whose locator points at itself is a named loop, not a stack overflow', async () => {
  const t = tempDir('loop');
  try {
    const parent = join(t.dir, 'p.vhdx');
    await vhdxDriver.create(parent, { size: 2 * MiB, type: 'dynamic', blockSize: MiB });
    const child = join(t.dir, 'c.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent });
    // Making the child its own parent: same-length file name in the locator, so only the name changes.
    const { readFileSync, writeFileSync, rmSync } = await import('node:fs');
    const b = readFileSync(child);
    const from = Buffer.from('p.vhdx', 'utf16le'), to = Buffer.from('c.vhdx', 'utf16le');
    let at = b.indexOf(from);
    while (at >= 0) { to.copy(b, at); at = b.indexOf(from, at + 1); }
    writeFileSync(child, b);
    rmSync(parent);
    await assert.rejects(vhdxDriver.open(child, { readOnly: true }), (e: unknown) => e instanceof FormatError && /loop/.test(e.message));
  } finally {
    t.cleanup();
  }
});

test('a differencing image past 4 GiB uses one sector bitmap per chunk at the index the spec gives', async () => {
  const t = tempDir('dchunk');
  try {
    const MiB1 = MiB, size = 6 * 1024 * MiB1;
    const parent = join(t.dir, 'p.vhdx');
    await vhdxDriver.create(parent, { size, type: 'dynamic', blockSize: MiB1 });
    const child = join(t.dir, 'c.vhdx');
    await vhdxDriver.create(child, { size: 0, type: 'differencing', parent, blockSize: MiB1 });
    const img = await vhdxDriver.open(child, { readOnly: false });
    const a = pattern(1, 4096), b = pattern(2, 4096);
    await img.write((4095 * MiB1) / 512, a); // block 4095: last of chunk 0
    await img.write((4096 * MiB1 + 8192) / 512, b); // block 4096: first of chunk 1
    await img.close();
    // Decode the BAT from the file independently: entry index = block + floor(block / 4096),
    // the sector bitmap of chunk c sits at c * 4097 + 4096. Region table 1 is at 192 KiB.
    const { readFileSync } = await import('node:fs');
    const f = readFileSync(child);
    const rt = 192 * 1024;
    let batAt = -1;
    for (let i = 0; i < f.readUInt32LE(rt + 8); i++) {
      const e = rt + 16 + i * 32;
      if (f.readUInt32LE(e) === 0x2dc27766) batAt = Number(f.readBigUInt64LE(e + 16));
    }
    const entry = (i: number): bigint => f.readBigUInt64LE(batAt + i * 8);
    const state = (i: number): number => Number(entry(i) & 7n);
    assert.equal(state(4095), 7, 'block 4095 partially present');
    assert.equal(state(4096), 6, 'sector bitmap of chunk 0 present');
    assert.equal(state(4097), 7, 'block 4096 partially present');
    assert.equal(state(2 * 4097 - 1), 6, 'sector bitmap of chunk 1 present');
    // The bit of the first sector written in block 4096 (sector 16 of that block) is bit 16 of chunk 1's bitmap.
    const bm1 = Number(entry(2 * 4097 - 1) >> 20n) * MiB1;
    assert.equal(f[bm1 + 2]! & 1, 1);
    assert.equal(f[bm1 + 1], 0);
    const back = await vhdxDriver.open(child, { readOnly: true });
    const got = new Uint8Array(4096);
    await back.read((4096 * MiB1 + 8192) / 512, got);
    assert.deepEqual(got, b);
    await back.read((4095 * MiB1) / 512, got);
    assert.deepEqual(got, a);
    await back.close();
  } finally {
    t.cleanup();
  }
});
