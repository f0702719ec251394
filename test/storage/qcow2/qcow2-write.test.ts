import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, UserError } from '../../../src/common/errors.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { qcow2Driver } from '../../../src/storage/qcow2/driver.js';
import {
  RawTestImage, SMALL_DISK, SMALL_REGIONS, be32, patchFile, pattern, qemuImg, qemuImgStatus, readAll, sha256, tempDir, writePatternRaw,
} from '../vmdk/fixtures.js';

const openParent = async (p: string): Promise<DiskImage> =>
  p.endsWith('.raw') ? new RawTestImage(p) : qcow2Driver.open(p, { readOnly: true, openParent });

function assertQemuAgrees(file: string, raw: string): void {
  const check = qemuImgStatus('check', '-f', 'qcow2', file);
  assert.equal(check.status, 0, `qemu-img check ${file}: ${check.out}`);
  assert.match(check.out, /No errors were found/);
  const cmp = qemuImgStatus('compare', '-f', 'qcow2', '-F', 'raw', file, raw);
  assert.equal(cmp.status, 0, `qemu-img compare ${file}: ${cmp.out}`);
}

/** Applies writes of odd sizes and offsets both to the image and to the expected bytes. */
async function scribble(img: DiskImage, expected: Uint8Array, seed: number): Promise<void> {
  const writes: [number, number][] = [[0, 3], [130, 1], [127, 300], [2048, 129], [6000, 4], [SMALL_DISK / 512 - 7, 7], [8000, 400]];
  for (const [i, [s, n]] of writes.entries()) {
    const data = pattern(seed + i, n * 512);
    expected.set(data, s * 512);
    await img.write(s, data);
  }
}

test('a qcow2 created here and filled with odd-sized writes passes qemu-img check and compare', async () => {
  const { dir, cleanup } = tempDir('qcow2-create');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const data = readFileSync(raw);
    for (const cs of [4096, 65536]) {
      const file = join(dir, `n${cs}.qcow2`);
      await qcow2Driver.create(file, { size: SMALL_DISK, type: 'dynamic', blockSize: cs });
      const img = await qcow2Driver.open(file, { readOnly: false });
      try {
        for (let s = 0; s < SMALL_DISK / 512;) {
          const n = Math.min(37, SMALL_DISK / 512 - s);
          const part = data.subarray(s * 512, (s + n) * 512);
          if (part.some((b) => b !== 0)) await img.write(s, part);
          s += n;
        }
        await img.flush();
      } finally {
        await img.close();
      }
      assertQemuAgrees(file, raw);
      const info = JSON.parse(qemuImg('info', '--output=json', file)) as { 'cluster-size': number; 'virtual-size': number };
      assert.equal(info['cluster-size'], cs);
      assert.equal(info['virtual-size'], SMALL_DISK);
      assert.deepEqual((await qcow2Driver.check!(file, { repair: false })).problems, []);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['n4096.qcow2', 'n65536.qcow2', 'src.raw']);
  } finally {
    cleanup();
  }
});

test('writes into qemu-img images (v2, v3, compressed, 1- and 64-bit refcounts) stay consistent', async () => {
  const { dir, cleanup } = tempDir('qcow2-w');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    // Half the disk compressible text, so -c really produces compressed clusters to rewrite.
    const base = readFileSync(raw);
    base.fill('some compressible text ', 2 * 1024 * 1024, 3 * 1024 * 1024);
    writeFileSync(raw, base);
    const variants: [string, string[]][] = [
      ['v2', ['-o', 'compat=0.10']],
      ['v3', ['-o', 'compat=1.1']],
      ['comp', ['-c']],
      ['r1', ['-o', 'refcount_bits=1']],
      ['r64', ['-o', 'refcount_bits=64,cluster_size=4096']],
    ];
    for (const [i, [name, args]] of variants.entries()) {
      const file = join(dir, `${name}.qcow2`);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...args, raw, file);
      const expected = Buffer.from(base);
      const img = await qcow2Driver.open(file, { readOnly: false });
      try {
        await scribble(img, expected, 100 * i);
        const inText = pattern(7, 1024);
        expected.set(inText, 2 * 1024 * 1024 + 4096);
        await img.write((2 * 1024 * 1024 + 4096) / 512, inText);
        assert.ok(Buffer.from(await readAll(img)).equals(expected), `${name}: read-back through the open image`);
      } finally {
        await img.close();
      }
      const want = join(dir, `${name}.expected.raw`);
      writeFileSync(want, expected);
      assertQemuAgrees(file, want);
    }
  } finally {
    cleanup();
  }
});

test('differencing qcow2 created here over qcow2 and over raw: partial writes pull in the backing data', async () => {
  const { dir, cleanup } = tempDir('qcow2-diffw');
  try {
    const raw = join(dir, 'base.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const mid = join(dir, 'mid.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, mid);
    for (const parent of [raw, mid]) {
      const child = join(dir, `child-of-${parent.endsWith('.raw') ? 'raw' : 'qcow2'}.qcow2`);
      await qcow2Driver.create(child, { size: 0, type: 'differencing', parent });
      const info = JSON.parse(qemuImg('info', '--output=json', child)) as { 'backing-filename': string; 'backing-filename-format': string; 'virtual-size': number };
      assert.equal(info['backing-filename'], parent.slice(dir.length + 1));
      assert.equal(info['backing-filename-format'], parent.endsWith('.raw') ? 'raw' : 'qcow2');
      assert.equal(info['virtual-size'], SMALL_DISK);
      const expected = readFileSync(raw);
      const img = await qcow2Driver.open(child, { readOnly: false, openParent });
      try {
        await scribble(img, expected, 9);
        await img.discard(4 * 1024 * 1024 / 512, 256); // whole clusters: zero flag over the backing data
        expected.fill(0, 4 * 1024 * 1024, 4 * 1024 * 1024 + 256 * 512);
        await img.discard(10, 5); // part of a cluster: zeroed in place
        expected.fill(0, 10 * 512, 15 * 512);
        await img.flush();
        const z = await img.allocation(4 * 1024 * 1024 / 512, 256);
        assert.deepEqual(z, { allocated: true, zero: true, sectors: 256 });
      } finally {
        await img.close();
      }
      const want = join(dir, 'want.raw');
      writeFileSync(want, expected);
      assertQemuAgrees(child, want);
    }
  } finally {
    cleanup();
  }
});

test('writes far into a large sparse qcow2 allocate new L2 tables that qemu-io reads back', async () => {
  const { dir, cleanup } = tempDir('qcow2-l2');
  try {
    const file = join(dir, 'big.qcow2');
    await qcow2Driver.create(file, { size: 3 * 1024 ** 3, type: 'dynamic' });
    const img = await qcow2Driver.open(file, { readOnly: false });
    const spots = [0, 700 * 1024 * 1024 + 512, 3 * 1024 ** 3 - 4096];
    try {
      for (const [i, off] of spots.entries()) await img.write(off / 512, new Uint8Array(4096).fill(0x10 + i));
    } finally {
      await img.close();
    }
    assert.equal(qemuImgStatus('check', file).status, 0);
    for (const [i, off] of spots.entries()) {
      const out = execFileSync('qemu-io', ['-f', 'qcow2', '-c', `read -P 0x${(0x10 + i).toString(16)} ${off} 4096`, file], { encoding: 'utf8' });
      assert.doesNotMatch(out, /Pattern verification failed/);
    }
  } finally {
    cleanup();
  }
});

test('discard without a backing file unmaps clusters and frees them', async () => {
  const { dir, cleanup } = tempDir('qcow2-discard');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    for (const compat of ['0.10', '1.1']) {
      const file = join(dir, `d${compat}.qcow2`);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', `compat=${compat}`, raw, file);
      const expected = readFileSync(raw);
      const img = await qcow2Driver.open(file, { readOnly: false });
      try {
        await img.discard(0, 256);
        expected.fill(0, 0, 256 * 512);
        const run = await img.allocation(0, 128);
        assert.deepEqual(run, { allocated: false, zero: true, sectors: 128 });
      } finally {
        await img.close();
      }
      const want = join(dir, 'want.raw');
      writeFileSync(want, expected);
      assertQemuAgrees(file, want);
    }
  } finally {
    cleanup();
  }
});

test('discard on a v2 image over a backing file writes zeros (v2 has no zero clusters)', async () => {
  const { dir, cleanup } = tempDir('qcow2-discard2');
  try {
    const raw = join(dir, 'base.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const child = join(dir, 'child.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'base.raw', '-F', 'raw', child);
    const expected = readFileSync(raw);
    const img = await qcow2Driver.open(child, { readOnly: false, openParent });
    try {
      await img.discard(0, 300);
      expected.fill(0, 0, 300 * 512);
      assert.ok(Buffer.from(await readAll(img)).equals(expected));
    } finally {
      await img.close();
    }
    const want = join(dir, 'want.raw');
    writeFileSync(want, expected);
    assertQemuAgrees(child, want);
  } finally {
    cleanup();
  }
});

test('read-write opens refuse images with snapshots, the dirty or corrupt bit, and change nothing', async () => {
  const { dir, cleanup } = tempDir('qcow2-refuse');
  try {
    const snap = join(dir, 'snap.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', snap, '1M');
    qemuImg('snapshot', '-c', 'one', snap);
    const dirty = join(dir, 'dirty.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', dirty, '1M');
    patchFile(dirty, 76, be32(1));
    const corrupt = join(dir, 'corrupt.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', corrupt, '1M');
    patchFile(corrupt, 76, be32(2));
    for (const [file, re] of [[snap, /internal snapshot/], [dirty, /dirty bit/], [corrupt, /marked corrupt/]] as const) {
      const before = sha256(file);
      await assert.rejects(qcow2Driver.open(file, { readOnly: false }), (e: unknown) => e instanceof FormatError && re.test(e.message));
      assert.equal(sha256(file), before);
    }
    const exists = join(dir, 'snap.qcow2');
    await assert.rejects(qcow2Driver.create(exists, { size: 1 << 20, type: 'dynamic' }), /already exists/);
    await assert.rejects(qcow2Driver.create(join(dir, 'x.qcow2'), { size: 1 << 20, type: 'dynamic', blockSize: 1000 }), UserError);
    await assert.rejects(qcow2Driver.create(join(dir, 'y.qcow2'), { size: 1 << 20, type: 'fixed' }), /no fixed type/);
    await assert.rejects(qcow2Driver.create(join(dir, 'z.qcow2'), { size: 0, type: 'differencing', parent: join(dir, 'none.raw') }), /does not exist/);
    assert.deepEqual(readdirSync(dir).sort(), ['corrupt.qcow2', 'dirty.qcow2', 'snap.qcow2']);
  } finally {
    cleanup();
  }
});

test('a hostile L2 entry aimed at metadata cannot turn a guest write into metadata damage', async () => {
  const { dir, cleanup } = tempDir('qcow2-meta');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const file = join(dir, 'm.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, file);
    const b = readFileSync(file);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const l1 = Number(v.getBigUint64(40, false));
    const l2 = Number(v.getBigUint64(l1, false) & 0x00fffffffffffe00n);
    const rt = v.getBigUint64(48, false);
    for (const target of [rt, BigInt(l2), BigInt(l1)]) {
      const copy = join(dir, `m-${target}.qcow2`);
      writeFileSync(copy, b);
      const e = new Uint8Array(8);
      new DataView(e.buffer).setBigUint64(0, (1n << 63n) | target, false);
      patchFile(copy, l2, e);
      const before = sha256(copy);
      const img = await qcow2Driver.open(copy, { readOnly: false });
      try {
        await assert.rejects(img.write(0, new Uint8Array(512).fill(0xee)), (err: unknown) => err instanceof FormatError && /points at metadata/.test(err.message));
      } finally {
        await img.close();
      }
      assert.equal(sha256(copy), before);
    }
    // An L1 entry aimed at the refcount table: refused at a read-write open, before any write.
    const l1bad = join(dir, 'l1bad.qcow2');
    writeFileSync(l1bad, b);
    const e = new Uint8Array(8);
    new DataView(e.buffer).setBigUint64(0, (1n << 63n) | rt, false);
    patchFile(l1bad, l1, e);
    const before = sha256(l1bad);
    await assert.rejects(qcow2Driver.open(l1bad, { readOnly: false }), /L2 table 0 at offset \d+ overlaps the refcount table/);
    assert.equal(sha256(l1bad), before);
  } finally {
    cleanup();
  }
});
