import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../../src/common/errors.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { qcow2Driver } from '../../../src/storage/qcow2/driver.js';
import {
  RawTestImage, SMALL_DISK, SMALL_REGIONS, allocationRuns, isZero, qemuImg, qemuIo, readAll, sha256, tempDir, writePatternRaw,
} from '../vmdk/fixtures.js';

/** Opens backing files the way the registry would: raw by extension here, qcow2 otherwise. */
const openParent = async (p: string): Promise<DiskImage> =>
  p.endsWith('.raw') ? new RawTestImage(p) : qcow2Driver.open(p, { readOnly: true, openParent });

async function assertReadsAs(file: string, expected: Uint8Array, expectHoles: boolean): Promise<void> {
  const img = await qcow2Driver.open(file, { readOnly: true, openParent });
  try {
    const got = await readAll(img);
    assert.ok(Buffer.from(got).equals(expected), `${file}: contents differ`);
    let unallocated = 0;
    for (const { start, run } of await allocationRuns(img)) {
      const bytes = got.subarray(start * 512, (start + run.sectors) * 512);
      if (run.zero) assert.ok(isZero(bytes), `${file}: run at ${start} reported zero but holds data`);
      if (!run.allocated) unallocated += run.sectors;
    }
    if (expectHoles) assert.ok(unallocated > 0, `${file}: no unallocated run reported`);
    const report = await qcow2Driver.check!(file, { repair: false });
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
  } finally {
    await img.close();
  }
}

test('qcow2 images qemu-img converts (v2, v3, compressed, several cluster sizes) read back byte-identical', async () => {
  const { dir, cleanup } = tempDir('qcow2-read');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const expected = readFileSync(raw);
    const variants: [string, string[]][] = [
      ['v2', ['-o', 'compat=0.10']],
      ['v3', ['-o', 'compat=1.1']],
      ['v2c', ['-c', '-o', 'compat=0.10']],
      ['v3c', ['-c', '-o', 'compat=1.1']],
      ['c512', ['-o', 'cluster_size=512']],
      ['c4k-compressed', ['-c', '-o', 'cluster_size=4096']],
      ['c2m', ['-o', 'cluster_size=2M']],
      ['refbits1', ['-o', 'refcount_bits=1']],
      ['refbits64', ['-o', 'refcount_bits=64']],
    ];
    for (const [name, args] of variants) {
      const file = join(dir, `${name}.qcow2`);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...args, raw, file);
      assert.ok(qcow2Driver.probe(readFileSync(file).subarray(0, 65536), 0));
      await assertReadsAs(file, expected, name !== 'c2m');
    }
    const img = await qcow2Driver.open(join(dir, 'v2.qcow2'), { readOnly: true });
    try {
      const info = await img.info();
      assert.equal(info.format, 'qcow2');
      assert.equal(info.type, 'dynamic');
      assert.equal(info.virtualSize, SMALL_DISK);
      assert.equal(info.blockSize, 65536);
      assert.equal(info.identifiers.version, '2');
    } finally {
      await img.close();
    }
  } finally {
    cleanup();
  }
});

test('qcow2 backing chains: qcow2 over raw and qcow2 over qcow2 with qemu-io writes, zero writes and discards', async () => {
  const { dir, cleanup } = tempDir('qcow2-chain');
  try {
    const raw = join(dir, 'base.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const mid = join(dir, 'mid.qcow2');
    const top = join(dir, 'top.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', mid);
    qemuIo(mid, 'qcow2', 'write -P 0xab 1M 100k', 'write -z 2M 64k', 'discard 4M 1M', 'write -P 0x01 6143k 1k');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', '-b', 'mid.qcow2', '-F', 'qcow2', top);
    qemuIo(top, 'qcow2', 'write -P 0xcd 1000k 64k', 'write -z 5M 128k', 'write -P 0x77 3k 1k');
    for (const f of [mid, top]) {
      const flat = `${f}.raw`;
      qemuImg('convert', '-f', 'qcow2', '-O', 'raw', f, flat);
      await assertReadsAs(f, readFileSync(flat), true);
    }
    const img = await qcow2Driver.open(top, { readOnly: true, openParent });
    try {
      const info = await img.info();
      assert.equal(info.type, 'differencing');
      assert.equal(info.parent, mid);
      assert.equal(info.identifiers.backingFormat, 'qcow2');
      assert.equal(img.parent?.parent?.file, raw);
      // write -z in a v3 overlay makes zero clusters: allocated in this layer, known zero.
      const zero = await img.allocation((5 * 1024 * 1024) / 512, 256);
      assert.deepEqual(zero, { allocated: true, zero: true, sectors: 256 });
      const hole = await img.allocation((3 * 1024 * 1024) / 512, 1);
      assert.deepEqual(hole, { allocated: false, zero: false, sectors: 1 });
    } finally {
      await img.close();
    }
    await assert.rejects(qcow2Driver.open(top, { readOnly: true }), (e: unknown) => e instanceof FormatError && /backing file "mid.qcow2"/.test(e.message));
  } finally {
    cleanup();
  }
});

test('internal snapshots are counted by check and do not disturb reads of the active layer', async () => {
  const { dir, cleanup } = tempDir('qcow2-snap');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const file = join(dir, 's.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, file);
    qemuImg('snapshot', '-c', 'one', file);
    qemuIo(file, 'qcow2', 'write -P 0x42 64k 128k');
    qemuImg('snapshot', '-c', 'two', file);
    qemuIo(file, 'qcow2', 'write -P 0x43 0 4k');
    const flat = join(dir, 's.raw');
    qemuImg('convert', '-f', 'qcow2', '-O', 'raw', file, flat);
    await assertReadsAs(file, readFileSync(flat), true);
  } finally {
    cleanup();
  }
});

test('a qcow2 opened read-only refuses writes and discards and is left untouched', async () => {
  const { dir, cleanup } = tempDir('qcow2-ro');
  try {
    const file = join(dir, 'n.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', file, '1M');
    const before = sha256(file);
    const img = await qcow2Driver.open(file, { readOnly: true });
    try {
      assert.equal(img.readOnly, true);
      await assert.rejects(img.write(0, new Uint8Array(512)), /read-only/);
      await assert.rejects(img.discard(0, 1), /read-only/);
      await assert.rejects(img.read(2048, new Uint8Array(512)), /beyond the disk end/);
      await img.flush();
    } finally {
      await img.close();
    }
    assert.equal(sha256(file), before);
  } finally {
    cleanup();
  }
});

test('concurrent reads of different compressed clusters each get their own data', async () => {
  const { dir, cleanup } = tempDir('qcow2-conc');
  try {
    const raw = join(dir, 'c.raw');
    const clusters = 32;
    const data = Buffer.alloc(clusters * 65536);
    for (let c = 0; c < clusters; c++) data.fill(`cluster ${c} text `, c * 65536, (c + 1) * 65536);
    writeFileSync(raw, data);
    const file = join(dir, 'c.qcow2');
    qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, file);
    const img = await qcow2Driver.open(file, { readOnly: true });
    try {
      const bufs = Array.from({ length: clusters }, () => new Uint8Array(4096));
      await Promise.all(bufs.map((b, c) => img.read((c * 65536 + 8192) / 512, b)));
      bufs.forEach((b, c) => assert.ok(Buffer.from(b).equals(data.subarray(c * 65536 + 8192, c * 65536 + 8192 + 4096)), `cluster ${c}`));
    } finally {
      await img.close();
    }
  } finally {
    cleanup();
  }
});
