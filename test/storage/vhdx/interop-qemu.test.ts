/**
 * Interoperability with qemu-img in both directions: images qemu creates read back byte-identical
 * through the driver, and images the driver creates and writes pass qemu-img check and compare.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync, openSync, writeSync, readSync, closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { vhdxDriver } from '../../../src/storage/vhdx/driver.js';
import { firstDiff, pattern, qemuImg, qemuImgStatus, readAll, rng, tempDir, writePatternRaw } from './fixtures.js';

const MiB = 1024 * 1024;

/** Extents straddling 1 MiB block boundaries, with whole-block holes between them. */
const extents = [
  { offset: 0, length: 4096 },
  { offset: MiB - 512, length: 3 * 512 },
  { offset: 5 * MiB + 12345 * 0 + 8192, length: 2 * MiB + 1024 },
  { offset: 17 * MiB - 4096, length: 8192 },
  { offset: 39 * MiB, length: MiB },
];

for (const [subformat, blockSize] of [['dynamic', 1], ['dynamic', 8], ['dynamic', 32], ['fixed', 1], ['fixed', 16]] as const) {
  test(`qemu-img convert -O vhdx (${subformat}, ${blockSize} MiB blocks) reads back byte-identical`, async () => {
    const t = tempDir('qconv');
    try {
      const raw = join(t.dir, 'src.raw');
      const content = writePatternRaw(raw, 40 * MiB, extents, blockSize);
      const vhdx = join(t.dir, 'q.vhdx');
      qemuImg('convert', '-f', 'raw', '-O', 'vhdx', '-o', `subformat=${subformat},block_size=${blockSize}M`, raw, vhdx);
      const head = readFileSync(vhdx).subarray(0, 65536);
      assert.ok(vhdxDriver.probe(head, statSync(vhdx).size));
      const img = await vhdxDriver.open(vhdx, { readOnly: true });
      try {
        const info = await img.info();
        assert.equal(info.virtualSize, 40 * MiB);
        assert.equal(info.type, subformat);
        assert.equal(firstDiff(await readAll(img), content), -1);
        // Allocation says the holes of a dynamic image read as zero.
        if (subformat === 'dynamic' && blockSize === 1) {
          const run = await img.allocation((30 * MiB) / 512, 2048);
          assert.deepEqual(run, { allocated: false, zero: true, sectors: 2048 });
          const data = await img.allocation(0, 8);
          assert.equal(data.allocated, true);
        }
      } finally {
        await img.close();
      }
    } finally {
      t.cleanup();
    }
  });
}

test('an empty qemu-img create image reads as zeros and accepts writes qemu then sees', async () => {
  const t = tempDir('qcreate');
  try {
    const vhdx = join(t.dir, 'e.vhdx');
    qemuImg('create', '-f', 'vhdx', vhdx, '24M');
    const raw = join(t.dir, 'e.raw');
    const expect = new Uint8Array(24 * MiB);
    const img = await vhdxDriver.open(vhdx, { readOnly: false });
    assert.equal(firstDiff(await readAll(img), expect), -1);
    const p = pattern(99, 3 * MiB);
    await img.write((7 * MiB + 512) / 512, p);
    expect.set(p, 7 * MiB + 512);
    await img.close();
    writeFileSync(raw, expect);
    assert.equal(qemuImgStatus('check', vhdx).status, 0);
    const cmp = qemuImgStatus('compare', '-f', 'vhdx', '-F', 'raw', vhdx, raw);
    assert.equal(cmp.status, 0, cmp.out);
  } finally {
    t.cleanup();
  }
});

interface Case { type: 'dynamic' | 'fixed'; sector: 512 | 4096; blockSize: number }
const ours: Case[] = [
  { type: 'dynamic', sector: 512, blockSize: MiB },
  { type: 'dynamic', sector: 4096, blockSize: 2 * MiB },
  { type: 'dynamic', sector: 512, blockSize: 32 * MiB },
  { type: 'fixed', sector: 512, blockSize: MiB },
];

for (const c of ours) {
  test(`our ${c.type} image (${c.sector}-byte sectors, ${c.blockSize / MiB} MiB blocks) passes qemu-img check and compare`, async () => {
    const t = tempDir('ours');
    try {
      const size = 48 * MiB + 64 * 1024;
      const vhdx = join(t.dir, 'o.vhdx');
      const raw = join(t.dir, 'o.raw');
      await vhdxDriver.create(vhdx, { size, type: c.type, blockSize: c.blockSize, logicalSectorSize: c.sector });
      const expect = new Uint8Array(size);
      const r = rng(c.sector + c.blockSize);
      const img = await vhdxDriver.open(vhdx, { readOnly: false });
      for (let k = 0; k < 60; k++) {
        const sectors = 1 + Math.floor(r() * 600);
        const start = Math.floor(r() * (size / c.sector - sectors));
        const data = pattern(k + 1, sectors * c.sector);
        await img.write(start, data);
        expect.set(data, start * c.sector);
        if (k % 10 === 9) await img.flush();
      }
      // Discards: a whole-block range and a ragged one; both must read back as zeros.
      for (const [from, len] of [[c.blockSize, Math.min(2 * c.blockSize, size - c.blockSize)], [5 * MiB + 4096, 3 * MiB + 8192]] as const) {
        await img.discard(from / c.sector, len / c.sector);
        expect.fill(0, from, from + len);
      }
      // The last, partial block can be written too.
      const tail = pattern(5, 64 * 1024);
      await img.write((size - tail.length) / c.sector, tail);
      expect.set(tail, size - tail.length);
      assert.equal(firstDiff(await readAll(img), expect), -1);
      await img.close();
      writeFileSync(raw, expect);
      // qemu's VHDX driver (7.2) supports only 512-byte logical sectors; 4096-byte images are checked by reopening.
      if (c.sector === 512) {
        const chk = qemuImgStatus('check', vhdx);
        assert.equal(chk.status, 0, chk.out);
        const cmp = qemuImgStatus('compare', '-f', 'vhdx', '-F', 'raw', vhdx, raw);
        assert.equal(cmp.status, 0, cmp.out);
        const info = JSON.parse(qemuImg('info', '--output=json', vhdx)) as { 'virtual-size': number };
        assert.equal(info['virtual-size'], size);
      }
      const report = await vhdxDriver.check!(vhdx, { repair: false });
      assert.deepEqual(report, { ok: true, problems: [], repaired: [] });
      const again = await vhdxDriver.open(vhdx, { readOnly: true });
      assert.equal(firstDiff(await readAll(again), expect), -1);
      assert.equal((await again.info()).logicalSectorSize, c.sector);
      await again.close();
    } finally {
      t.cleanup();
    }
  });
}

test('resize grows (moving the BAT when it is full) and shrinks an unallocated tail; qemu agrees', async () => {
  const t = tempDir('resize');
  try {
    const vhdx = join(t.dir, 'r.vhdx');
    const raw = join(t.dir, 'r.raw');
    await vhdxDriver.create(vhdx, { size: 20 * MiB, type: 'dynamic', blockSize: MiB });
    let img = await vhdxDriver.open(vhdx, { readOnly: false });
    const p = pattern(3, 2 * MiB);
    await img.write((MiB * 3) / 512, p);
    await img.close();
    // 1 MiB of BAT holds 131072 entries; 200 GiB of 1 MiB blocks needs more, so the BAT must move.
    const big = 200 * 1024 * MiB;
    await vhdxDriver.resize!(vhdx, big, { allowShrink: false });
    assert.equal(qemuImgStatus('check', vhdx).status, 0);
    img = await vhdxDriver.open(vhdx, { readOnly: false });
    assert.equal(img.sizeBytes, big);
    const far = pattern(4, 4096);
    await img.write((big - 4096) / 512, far);
    const back = new Uint8Array(4096);
    await img.read((big - 4096) / 512, back);
    assert.deepEqual(back, far);
    await img.discard((big - MiB) / 512, MiB / 512);
    await img.close();
    await assert.rejects(vhdxDriver.resize!(vhdx, 30 * MiB, { allowShrink: false }), /allowShrink|shrink/);
    // The tail is unallocated again after the discard, so the shrink is allowed.
    await vhdxDriver.resize!(vhdx, 30 * MiB, { allowShrink: true });
    await assert.rejects(vhdxDriver.resize!(vhdx, 4 * MiB, { allowShrink: true }), /holds data/);
    const expect = new Uint8Array(30 * MiB);
    expect.set(p, 3 * MiB);
    writeFileSync(raw, expect);
    const chk = qemuImgStatus('check', vhdx);
    assert.equal(chk.status, 0, chk.out);
    const cmp = qemuImgStatus('compare', '-f', 'vhdx', '-F', 'raw', vhdx, raw);
    assert.equal(cmp.status, 0, cmp.out);
  } finally {
    t.cleanup();
  }
});

test('resize of a fixed image allocates the new blocks; compact drops discarded and zero blocks', async () => {
  const t = tempDir('fixres');
  try {
    const fixed = join(t.dir, 'f.vhdx');
    await vhdxDriver.create(fixed, { size: 4 * MiB, type: 'fixed', blockSize: MiB });
    await vhdxDriver.resize!(fixed, 6 * MiB, { allowShrink: false });
    const img = await vhdxDriver.open(fixed, { readOnly: true });
    assert.deepEqual(await img.allocation((5 * MiB) / 512, 16), { allocated: true, zero: false, sectors: 16 });
    await img.close();
    assert.equal(qemuImgStatus('check', fixed).status, 0);

    const dyn = join(t.dir, 'd.vhdx');
    const raw = join(t.dir, 'd.raw');
    await vhdxDriver.create(dyn, { size: 16 * MiB, type: 'dynamic', blockSize: MiB });
    const d = await vhdxDriver.open(dyn, { readOnly: false });
    const keep = pattern(8, MiB);
    await d.write(0, pattern(1, 8 * MiB));
    await d.discard(0, (8 * MiB) / 512);
    await d.write((2 * MiB) / 512, new Uint8Array(MiB));
    await d.write((9 * MiB) / 512, keep);
    await d.close();
    const { before, after } = await vhdxDriver.compact!(dyn);
    assert.ok(after < before, `compact: ${after} >= ${before}`);
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, 16 * MiB);
    writeSync(fd, keep, 0, keep.length, 9 * MiB);
    closeSync(fd);
    const cmp = qemuImgStatus('compare', '-f', 'vhdx', '-F', 'raw', dyn, raw);
    assert.equal(cmp.status, 0, cmp.out);
    assert.equal(qemuImgStatus('check', dyn).status, 0);
  } finally {
    t.cleanup();
  }
});

test('blocks past the first chunk (BAT interleaves sector bitmap entries) agree with qemu both ways', async () => {
  const t = tempDir('chunk');
  try {
    // 512-byte sectors and 1 MiB blocks: chunk ratio 2^23 * 512 / 2^20 = 4096 blocks per chunk (4 GiB).
    const size = 6 * 1024 * MiB;
    const at = [4095 * MiB + 512 * 1024, 4097 * MiB, 5 * 1024 * MiB + 3 * MiB];
    const chunks = at.map((offset, i) => ({ offset, data: pattern(50 + i, 768 * 1024) }));
    const raw = join(t.dir, 'big.raw');
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, size);
    for (const c of chunks) writeSync(fd, c.data, 0, c.data.length, c.offset);
    closeSync(fd);
    const theirs = join(t.dir, 'theirs.vhdx');
    qemuImg('convert', '-f', 'raw', '-O', 'vhdx', '-o', 'block_size=1M', raw, theirs);
    const img = await vhdxDriver.open(theirs, { readOnly: true });
    for (const c of chunks) {
      const got = new Uint8Array(c.data.length);
      await img.read(c.offset / 512, got);
      assert.equal(firstDiff(got, c.data), -1, `qemu image at ${c.offset}`);
    }
    await img.close();
    const ours = join(t.dir, 'ours.vhdx');
    await vhdxDriver.create(ours, { size, type: 'dynamic', blockSize: MiB });
    const w = await vhdxDriver.open(ours, { readOnly: false });
    for (const c of chunks) await w.write(c.offset / 512, c.data);
    await w.close();
    assert.equal(qemuImgStatus('check', ours).status, 0);
    // qemu-img compare would read all 6 GiB of zeros; converting back to raw keeps holes sparse.
    const back = join(t.dir, 'back.raw');
    qemuImg('convert', '-f', 'vhdx', '-O', 'raw', ours, back);
    const bfd = openSync(back, 'r');
    try {
      for (const c of chunks) {
        // Half a MiB of the neighbouring holes on each side must read as zeros too.
        const margin = MiB / 2;
        const got = new Uint8Array(c.data.length + 2 * margin);
        readSync(bfd, got, 0, got.length, c.offset - margin);
        const expect = new Uint8Array(got.length);
        expect.set(c.data, margin);
        assert.equal(firstDiff(got, expect), -1, `qemu read of our image around ${c.offset}`);
      }
    } finally {
      closeSync(bfd);
    }
  } finally {
    t.cleanup();
  }
});
