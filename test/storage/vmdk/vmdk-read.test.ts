import test from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../../src/common/errors.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { vmdkDriver } from '../../../src/storage/vmdk/driver.js';
import {
  SMALL_DISK, SMALL_REGIONS, allocationRuns, isZero, qemuImg, qemuIo, readAll, tempDir, writePatternRaw,
} from './fixtures.js';

const SUBFORMATS = ['monolithicSparse', 'streamOptimized', 'monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'];

async function assertAllocationAgrees(img: DiskImage, data: Uint8Array, expectHoles: boolean): Promise<void> {
  const runs = await allocationRuns(img);
  let unallocated = 0;
  for (const { start, run } of runs) {
    const bytes = data.subarray(start * 512, (start + run.sectors) * 512);
    if (run.zero) assert.ok(isZero(bytes), `run at sector ${start} is reported zero but holds data`);
    if (!run.allocated) {
      unallocated += run.sectors;
      assert.equal(run.zero, img.parent === undefined);
    }
  }
  if (expectHoles) assert.ok(unallocated > 0, 'a sparse image of a file with holes reports no unallocated run');
  else assert.equal(unallocated, 0);
}

test('images qemu-img converts to every VMDK subformat read back byte-identical', async () => {
  const { dir, cleanup } = tempDir('vmdk-read');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const expected = readFileSync(raw);
    for (const sub of SUBFORMATS) {
      const file = join(dir, `${sub}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, raw, file);
      assert.ok(vmdkDriver.probe(readFileSync(file).subarray(0, 65536), 0), `${sub}: probe`);
      const img = await vmdkDriver.open(file, { readOnly: true });
      try {
        assert.equal(img.sizeBytes, SMALL_DISK, sub);
        const got = await readAll(img);
        assert.ok(Buffer.from(got).equals(expected), `${sub}: contents differ from the raw source`);
        await assertAllocationAgrees(img, got, sub.includes('Sparse') || sub === 'streamOptimized');
        const info = await img.info();
        assert.equal(info.format, 'vmdk');
        assert.equal(info.subformat, sub);
        assert.equal(info.type, sub.includes('Flat') ? 'fixed' : 'dynamic');
        // Reads that start and end mid-grain, across the first data region's end.
        const part = new Uint8Array(5 * 512);
        await img.read(135, part);
        assert.ok(Buffer.from(part).equals(expected.subarray(135 * 512, 140 * 512)), `${sub}: unaligned read`);
      } finally {
        await img.close();
      }
    }
  } finally {
    cleanup();
  }
});

test('twoGbMaxExtent images larger than 2 GiB are read across extent boundaries', async () => {
  const { dir, cleanup } = tempDir('vmdk-2gb');
  try {
    const size = 4 * 1024 ** 3 + 1024 * 1024;
    const regions = [
      { offset: 0, length: 4096 },
      { offset: 2 * 1024 ** 3 - 40_960, length: 100_000 },
      { offset: 4 * 1024 ** 3 - 512, length: 8192 },
      { offset: size - 2048, length: 2048 },
    ];
    const raw = join(dir, 'big.raw');
    writePatternRaw(raw, size, regions, 99);
    for (const sub of ['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']) {
      const file = join(dir, `${sub}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, raw, file);
      const extentFiles = readdirSync(dir).filter((n) => n.startsWith(`${sub}-`));
      assert.ok(extentFiles.length >= 3, `${sub}: expected several extent files, got ${extentFiles.join(',')}`);
      const img = await vmdkDriver.open(file, { readOnly: true });
      try {
        assert.equal(img.sizeBytes, size);
        for (const r of regions) {
          const start = floor512(Math.max(0, r.offset - 65536));
          const end = Math.min(size, floor512(r.offset + r.length + 65536));
          const got = new Uint8Array(end - start);
          await img.read(start / 512, got);
          const want = readWindow(raw, start, end - start);
          assert.ok(Buffer.from(got).equals(want), `${sub}: window at ${start} differs`);
        }
        if (sub.endsWith('Sparse')) {
          const run = await img.allocation(1024 ** 3 / 512, 1024);
          assert.deepEqual(run, { allocated: false, zero: true, sectors: 1024 });
        }
      } finally {
        await img.close();
      }
    }
  } finally {
    cleanup();
  }
});

function floor512(n: number): number {
  return Math.floor(n / 512) * 512;
}

function readWindow(path: string, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, b, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return b;
}

test('a differencing VMDK reads its parent where it has no grain, and its own grains elsewhere', async () => {
  const { dir, cleanup } = tempDir('vmdk-diff');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const base = join(dir, 'base.vmdk');
    const child = join(dir, 'child.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', raw, base);
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
    qemuIo(child, 'vmdk', 'write -P 0x5a 3k 10k', 'write -P 0xa5 1M 64k', 'write -P 0x11 5M 512');
    const expectedFile = join(dir, 'expected.raw');
    qemuImg('convert', '-f', 'vmdk', '-O', 'raw', child, expectedFile);
    const openParent = (p: string): Promise<DiskImage> => vmdkDriver.open(p, { readOnly: true, openParent });
    const img = await vmdkDriver.open(child, { readOnly: true, openParent });
    try {
      assert.equal(img.parent?.file, base);
      const got = await readAll(img);
      assert.ok(Buffer.from(got).equals(readFileSync(expectedFile)), 'child contents differ from qemu-img convert of the chain');
      const info = await img.info();
      assert.equal(info.type, 'differencing');
      assert.equal(info.parent, base);
      const runs = await allocationRuns(img);
      const own = runs.filter((r) => r.run.allocated).reduce((n, r) => n + r.run.sectors, 0);
      assert.ok(own > 0 && own < SMALL_DISK / 512 / 4, `child should own only the grains written (${own} sectors)`);
      assert.ok(runs.every((r) => r.run.allocated || !r.run.zero), 'unallocated runs of a child are not known-zero');
    } finally {
      await img.close();
    }
    await assert.rejects(vmdkDriver.open(child, { readOnly: true }), (e: unknown) => e instanceof FormatError && /parent/.test(e.message));
  } finally {
    cleanup();
  }
});

test('a streamOptimized VMDK whose grain directory is given only by the footer (OVA style) reads correctly', async () => {
  const { dir, cleanup } = tempDir('vmdk-footer');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const made = join(dir, 'made.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, made);
    const bytes = readFileSync(made);
    // Rewrite as VMware exports it: header says GD_AT_END; footer marker, footer, end-of-stream marker.
    const header = Buffer.from(bytes.subarray(0, 512));
    const footer = Buffer.from(header);
    header.fill(0xff, 56, 64);
    const footerMarker = Buffer.alloc(512);
    footerMarker.writeUInt32LE(1, 0);
    footerMarker.writeUInt32LE(3, 12);
    const eos = Buffer.alloc(512);
    const ova = join(dir, 'ova.vmdk');
    writeFileSync(ova, Buffer.concat([header, bytes.subarray(512), footerMarker, footer, eos]));
    const img = await vmdkDriver.open(ova, { readOnly: true });
    try {
      assert.ok(Buffer.from(await readAll(img)).equals(readFileSync(raw)));
    } finally {
      await img.close();
    }
  } finally {
    cleanup();
  }
});
