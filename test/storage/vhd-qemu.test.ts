/**
 * VHD interoperability with qemu-img in both directions, plus differencing chains, resize, compact
 * and merge checked against an independent in-memory model of the disk contents.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createImage, openImage } from '../../src/storage/registry.js';
import { vhdDriver } from '../../src/storage/vhd/driver.js';
import { convertImage } from '../../src/storage/ops/convert.js';
import { mergeImage } from '../../src/storage/ops/merge.js';
import { chsGeometry } from '../../src/storage/vhd/footer.js';
import { fileHash, pattern, qemuImg, rng, tempDir } from './core-helpers.js';

const MiB = 1024 * 1024;

/** Writes random-length runs of seeded data at random sector offsets, mirroring them into `model`. */
async function scribble(file: string, model: Uint8Array, seed: number, writes: number): Promise<void> {
  const img = await openImage(file, { readOnly: false });
  const r = rng(seed);
  try {
    for (let i = 0; i < writes; i++) {
      const sectors = 1 + Math.floor(r() * 300);
      const sector = Math.floor(r() * (model.length / 512 - sectors));
      const data = pattern(sectors * 512, seed * 1000 + i);
      await img.write(sector, data);
      model.set(data, sector * 512);
    }
    await img.flush();
  } finally {
    await img.close();
  }
}

async function readAll(file: string): Promise<Uint8Array> {
  const img = await openImage(file, { readOnly: true });
  try {
    const buf = new Uint8Array(img.sizeBytes);
    await img.read(0, buf);
    return buf;
  } finally {
    await img.close();
  }
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const i = actual.findIndex((b, k) => b !== expected[k]);
  assert.equal(i, -1, `${what}: first difference at byte ${i}`);
}

for (const type of ['fixed', 'dynamic'] as const) {
  test(`a ${type} VHD we write matches the same data as raw in qemu-img compare`, async (t) => {
    const dir = tempDir(t);
    const size = 48 * MiB + 512 * 7; // not a CHS multiple, so size semantics matter
    const file = join(dir, `d.vhd`);
    await createImage(file, 'vhd', { size, type });
    const model = new Uint8Array(size);
    await scribble(file, model, type === 'fixed' ? 11 : 12, 40);
    const raw = join(dir, 'expected.raw');
    writeFileSync(raw, model);
    qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, file);
    assert.match(qemuImg('info', '-f', 'vpc', file), new RegExp(`virtual size: .*\\(${size} bytes\\)`));
    assertSameBytes(await readAll(file), model, 'read back');
  });
}

for (const subformat of ['fixed', 'dynamic'] as const) {
  test(`a ${subformat} VHD made and written by qemu reads back byte-identical`, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'q.vhd');
    qemuImg('create', '-q', '-f', 'vpc', '-o', `subformat=${subformat}`, file, '40M');
    execFileSync('qemu-io', ['-f', 'vpc', '-c', 'write -P 0x5a 1M 3M', '-c', 'write -P 0xc3 17M 4k', '-c', 'write -P 0x11 39M 512', file], { stdio: 'ignore' });
    const raw = join(dir, 'q.raw');
    qemuImg('convert', '-f', 'vpc', '-O', 'raw', file, raw);
    assertSameBytes(await readAll(file), readFileSync(raw), 'qemu vpc read through our driver');
    const img = await openImage(file, { readOnly: true });
    assert.equal((await img.info()).type, subformat);
    await img.close();
  });
}

test('a raw image made by qemu is detected as raw and reads back byte-identical', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'q.img');
  qemuImg('create', '-q', '-f', 'raw', file, '8M');
  execFileSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0x77 2M 1M', file], { stdio: 'ignore' });
  const img = await openImage(file, { readOnly: true });
  assert.equal(img.format, 'raw');
  await img.close();
  assertSameBytes(await readAll(file), readFileSync(file), 'raw');
});

test('CHS geometry matches what qemu-img writes for the same sizes', async (t) => {
  const dir = tempDir(t);
  // Sizes landing in each branch of the specification's algorithm (17, 31, 63 and 255 sectors).
  for (const size of ['10M', '600M', '5G', '200G']) {
    const file = join(dir, `g-${size}.vhd`);
    qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', file, size);
    const img = await openImage(file, { readOnly: true });
    const geometry = (await img.info()).identifiers['geometry'];
    const ours = chsGeometry(img.sizeBytes);
    await img.close();
    assert.equal(`${ours.cylinders}/${ours.heads}/${ours.sectorsPerTrack}`, geometry, `geometry for ${size}`);
  }
});

test('differencing VHD: reads through the parent, qemu sees its own layer, convert flattens', async (t) => {
  const dir = tempDir(t);
  const size = 20 * MiB;
  const parent = join(dir, 'parent.vhd');
  const child = join(dir, 'child.vhd');
  await createImage(parent, 'vhd', { size, type: 'dynamic', blockSize: 512 * 1024 });
  const model = new Uint8Array(size);
  await scribble(parent, model, 21, 30);
  await createImage(child, 'vhd', { size: 0, type: 'differencing', parent, blockSize: 512 * 1024 });
  const before = new Uint8Array(model);
  await scribble(child, model, 22, 30);
  assertSameBytes(await readAll(child), model, 'child through parent');
  assert.notDeepEqual(model, before);

  // qemu's vpc driver ignores parent locators: it sees exactly the child's own sectors.
  const layer = new Uint8Array(size);
  {
    const r = rng(22);
    for (let i = 0; i < 30; i++) {
      const sectors = 1 + Math.floor(r() * 300);
      const sector = Math.floor(r() * (size / 512 - sectors));
      layer.set(pattern(sectors * 512, 22 * 1000 + i), sector * 512);
    }
  }
  const qout = join(dir, 'qemu-child.raw');
  qemuImg('convert', '-f', 'vpc', '-O', 'raw', child, qout);
  assertSameBytes(readFileSync(qout), layer, 'qemu view of the child layer');

  const flat = join(dir, 'flat.raw');
  await convertImage(child, flat, { format: 'raw' });
  assertSameBytes(readFileSync(flat), model, 'flattened convert');
  const flatVhd = join(dir, 'flat.vhd');
  await convertImage(child, flatVhd, { format: 'vhd' });
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', flat, flatVhd);
});

test('differencing VHD finds its parent by relative locator after moving, and by absolute path', async (t) => {
  const dir = tempDir(t);
  const parent = join(dir, 'p.vhd');
  const child = join(dir, 'c.vhd');
  await createImage(parent, 'vhd', { size: 4 * MiB, type: 'dynamic' });
  const model = new Uint8Array(4 * MiB);
  await scribble(parent, model, 31, 5);
  await createImage(child, 'vhd', { size: 0, type: 'differencing', parent });
  await scribble(child, model, 32, 5);
  // Both files move together: only the relative locator still points at the parent.
  const moved = join(dir, 'moved');
  mkdirSync(moved);
  renameSync(parent, join(moved, 'p.vhd'));
  renameSync(child, join(moved, 'c.vhd'));
  assertSameBytes(await readAll(join(moved, 'c.vhd')), model, 'after moving both');
  // The child moves alone, back to the old directory while the parent is put back: absolute works.
  renameSync(join(moved, 'p.vhd'), parent);
  const alone = join(dir, 'elsewhere');
  mkdirSync(alone);
  renameSync(join(moved, 'c.vhd'), join(alone, 'c.vhd'));
  assertSameBytes(await readAll(join(alone, 'c.vhd')), model, 'child moved alone');
});

test('resize grows a dynamic VHD past its BAT (relocating it) and keeps the data', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'g.vhd');
  await createImage(file, 'vhd', { size: 8 * MiB, type: 'dynamic', blockSize: 64 * 1024 });
  const model = new Uint8Array(8 * MiB);
  await scribble(file, model, 41, 20);
  await vhdDriver.resize!(file, 96 * MiB, { allowShrink: false });
  const grown = new Uint8Array(96 * MiB);
  grown.set(model);
  await scribble(file, grown, 42, 20);
  const raw = join(dir, 'g.raw');
  writeFileSync(raw, grown);
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, file);
  assertSameBytes(await readAll(file), grown, 'after grow');
  // Compact after the BAT moved to the end: the result must be smaller and hold the same data.
  const before = statSync(file).size;
  await vhdDriver.compact!(file);
  assert.ok(statSync(file).size <= before, 'compact did not grow the file');
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, file);
  assert.deepEqual(await vhdDriver.check!(file, { repair: false }), { ok: true, problems: [], repaired: [] });
});

test('resize grows a fixed VHD; shrink needs --allow-shrink and an unallocated tail', async (t) => {
  const dir = tempDir(t);
  const fixed = join(dir, 'f.vhd');
  await createImage(fixed, 'vhd', { size: 4 * MiB, type: 'fixed' });
  const model = new Uint8Array(4 * MiB);
  await scribble(fixed, model, 51, 8);
  await vhdDriver.resize!(fixed, 6 * MiB, { allowShrink: false });
  const grown = new Uint8Array(6 * MiB);
  grown.set(model);
  assertSameBytes(await readAll(fixed), grown, 'fixed grown');
  await assert.rejects(vhdDriver.resize!(fixed, 5 * MiB, { allowShrink: false }), /allow-shrink/);
  await vhdDriver.resize!(fixed, 5 * MiB, { allowShrink: true });
  assertSameBytes(await readAll(fixed), grown.subarray(0, 5 * MiB), 'fixed shrunk over a zero tail');

  const dyn = join(dir, 'd.vhd');
  await createImage(dyn, 'vhd', { size: 16 * MiB, type: 'dynamic', blockSize: MiB });
  const img = await openImage(dyn, { readOnly: false });
  await img.write(12 * 2048, pattern(4096, 5));
  await img.close();
  const hash = fileHash(dyn);
  await assert.rejects(vhdDriver.resize!(dyn, 8 * MiB, { allowShrink: true }), /block 12 past the new size holds data/);
  assert.equal(fileHash(dyn), hash, 'refused shrink changed nothing');
  await vhdDriver.resize!(dyn, 13 * MiB, { allowShrink: true });
  assert.equal((await readAll(dyn)).length, 13 * MiB);
  qemuImg('convert', '-f', 'vpc', '-O', 'raw', dyn, join(dir, 'd.raw'));
  assert.equal(statSync(join(dir, 'd.raw')).size, 13 * MiB);
});

test('compact drops all-zero blocks and keeps the data and identity', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'c.vhd');
  await createImage(file, 'vhd', { size: 32 * MiB, type: 'dynamic', blockSize: MiB });
  const img = await openImage(file, { readOnly: false });
  const keep = pattern(MiB, 61);
  for (let b = 0; b < 10; b++) await img.write(b * 2048, b === 4 ? keep : new Uint8Array(MiB));
  await img.close();
  const img1 = await openImage(file, { readOnly: true });
  const idBefore = (await img1.info()).identifiers['uniqueId'];
  await img1.close();
  const r = await vhdDriver.compact!(file);
  assert.ok(r.after < r.before - 8 * MiB, `compact shrank ${r.before} -> ${r.after}`);
  const after = await readAll(file);
  const expected = new Uint8Array(32 * MiB);
  expected.set(keep, 4 * MiB);
  assertSameBytes(after, expected, 'after compact');
  const img2 = await openImage(file, { readOnly: true });
  assert.equal((await img2.info()).identifiers['uniqueId'], idBefore);
  assert.equal((await img2.allocation(0, 2048)).allocated, false);
  await img2.close();
  const raw = join(dir, 'c.raw');
  writeFileSync(raw, expected);
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, file);
});

test('merge writes the child into its parent and removes the child', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'base.vhd');
  const mid = join(dir, 'mid.vhd');
  const top = join(dir, 'top.vhd');
  await createImage(base, 'vhd', { size: 8 * MiB, type: 'dynamic', blockSize: 256 * 1024 });
  const model = new Uint8Array(8 * MiB);
  await scribble(base, model, 71, 10);
  await createImage(mid, 'vhd', { size: 0, type: 'differencing', parent: base, blockSize: 256 * 1024 });
  await scribble(mid, model, 72, 10);
  await createImage(top, 'vhd', { size: 0, type: 'differencing', parent: mid });
  await scribble(top, model, 73, 10);
  const r = await mergeImage(top, base);
  assert.deepEqual(r.removed.sort(), [mid, top].sort());
  assert.equal(existsSync(top), false);
  assertSameBytes(await readAll(base), model, 'base after merging two layers');
  const raw = join(dir, 'm.raw');
  writeFileSync(raw, model);
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, base);
});

test('an image opened read-only refuses writes and discards and is not modified', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'ro.vhd');
  await createImage(file, 'vhd', { size: 4 * MiB, type: 'dynamic' });
  const hash = fileHash(file);
  const img = await openImage(file, { readOnly: true });
  await assert.rejects(img.write(0, new Uint8Array(512)), /read-only/);
  await assert.rejects(img.discard(0, 8), /read-only/);
  await img.flush();
  await img.close();
  assert.equal(fileHash(file), hash);
});

test('discard makes ranges read as zeros, and whole blocks become unallocated', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'z.vhd');
  await createImage(file, 'vhd', { size: 8 * MiB, type: 'dynamic', blockSize: 2 * MiB });
  const img = await openImage(file, { readOnly: false });
  await img.write(0, pattern(4 * MiB, 81));
  await img.discard(100, 2048 + 50);
  const buf = new Uint8Array(4 * MiB);
  await img.read(0, buf);
  const expected = pattern(4 * MiB, 81);
  expected.fill(0, 100 * 512, (100 + 2048 + 50) * 512);
  assertSameBytes(buf, expected, 'after discard');
  assert.equal((await img.allocation(4096, 4096)).allocated, true);
  await img.discard(4096, 4096);
  assert.deepEqual(await img.allocation(4096, 4096), { allocated: false, zero: true, sectors: 4096 });
  await img.read(0, buf);
  expected.fill(0, 2 * MiB);
  assertSameBytes(buf, expected, 'after discarding a whole block');
  await img.close();
});
