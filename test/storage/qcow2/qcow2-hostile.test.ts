import test from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../../src/common/errors.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { qcow2Driver } from '../../../src/storage/qcow2/driver.js';
import { SMALL_DISK, SMALL_REGIONS, be32, be64, patchFile, qemuImg, qemuImgStatus, readAll, sha256, tempDir, writePatternRaw } from '../vmdk/fixtures.js';

const openParent = (p: string): Promise<DiskImage> => qcow2Driver.open(p, { readOnly: true, openParent });

async function expectFormatError(file: string, re: RegExp): Promise<void> {
  const before = sha256(file);
  await assert.rejects(
    (async () => {
      const img = await qcow2Driver.open(file, { readOnly: true, openParent });
      try {
        await readAll(img);
      } finally {
        await img.close();
      }
    })(),
    (e: unknown) => {
      assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
      assert.match(e.message, re);
      return true;
    },
  );
  assert.equal(sha256(file), before, `${file} was modified`);
}

/** Facts read straight from the spec's header layout, to aim the corruption. */
function layout(file: string): { l1: number; l2: number; firstData: bigint; rt: number; clusterSize: number } {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const l1 = Number(v.getBigUint64(40, false));
  const l2 = Number(v.getBigUint64(l1, false) & 0x00fffffffffffe00n);
  return { l1, l2, firstData: v.getBigUint64(l2, false), rt: Number(v.getBigUint64(48, false)), clusterSize: 2 ** v.getUint32(20, false) };
}

test('qcow2 headers that are truncated, foreign or absurd are rejected with the field named', async () => {
  const { dir, cleanup } = tempDir('qcow2-hdr');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const good = join(dir, 'good.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, good);
    let n = 0;
    const variant = (patch: (p: string) => void): string => {
      const p = join(dir, `bad${n++}.qcow2`);
      writeFileSync(p, readFileSync(good));
      patch(p);
      return p;
    };
    await expectFormatError(variant((p) => truncateSync(p, 50)), /truncated/);
    await expectFormatError(variant((p) => patchFile(p, 0, be32(0x12345678))), /bad magic/);
    await expectFormatError(variant((p) => patchFile(p, 4, be32(4))), /version 4/);
    await expectFormatError(variant((p) => patchFile(p, 20, be32(30))), /cluster_bits 30/);
    await expectFormatError(variant((p) => patchFile(p, 20, be32(8))), /cluster_bits 8/);
    await expectFormatError(variant((p) => patchFile(p, 24, be64(1n << 60n))), /virtual size/);
    await expectFormatError(variant((p) => patchFile(p, 36, be32(0x10000000))), /L1 table of 268435456 entries/);
    await expectFormatError(variant((p) => patchFile(p, 36, be32(0))), /needs 1/);
    await expectFormatError(variant((p) => patchFile(p, 40, be64(1n << 40n))), /L1 table .* past the end/);
    await expectFormatError(variant((p) => patchFile(p, 40, be64(12345n))), /not cluster aligned/);
    await expectFormatError(variant((p) => patchFile(p, 32, be32(1))), /encrypted/);
    await expectFormatError(variant((p) => patchFile(p, 32, be32(2))), /LUKS/);
    await expectFormatError(variant((p) => patchFile(p, 76, be32(1 << 5))), /unknown incompatible feature bits/);
    await expectFormatError(variant((p) => patchFile(p, 76, be32(1 << 2))), /external data file/);
    await expectFormatError(variant((p) => patchFile(p, 96, be32(7))), /refcount_order 7/);
    await expectFormatError(variant((p) => { patchFile(p, 8, be64(200n)); patchFile(p, 16, be32(5000)); }), /backing file name length 5000/);
    await expectFormatError(variant((p) => { patchFile(p, 8, be64(65530n)); patchFile(p, 16, be32(100)); }), /outside the first cluster/);
    // A header extension whose length runs past the first cluster.
    await expectFormatError(variant((p) => {
      const hl = new DataView(readFileSync(p).buffer).getUint32(100, false);
      patchFile(p, hl, new Uint8Array([...be32(0x1234), ...be32(0x7fffffff)]));
    }), /header extension 0x1234/);
  } finally {
    cleanup();
  }
});

test('qcow2 features this reader lacks (extended L2, zstd) are refused by name', async () => {
  const { dir, cleanup } = tempDir('qcow2-feat');
  try {
    const ext = join(dir, 'ext.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', ext, '1M');
    await expectFormatError(ext, /extended L2/);
    const zstd = join(dir, 'zstd.qcow2');
    if (qemuImgStatus('create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', zstd, '1M').status !== 0) {
      // This qemu-img lacks zstd: mark the header by hand (incompatible bit 3, type byte 104 = 1).
      qemuImg('create', '-q', '-f', 'qcow2', zstd, '1M');
      patchFile(zstd, 76, be32(1 << 3));
      patchFile(zstd, 104, new Uint8Array([1]));
    }
    await expectFormatError(zstd, /zstd/);
  } finally {
    cleanup();
  }
});

test('L1/L2 entries past the end of the file or unaligned, and hostile compressed clusters, are errors', async () => {
  const { dir, cleanup } = tempDir('qcow2-ptr');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const plain = join(dir, 'plain.qcow2');
    const packed = join(dir, 'packed.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, plain);
    const text = join(dir, 'text.raw');
    writeFileSync(text, Buffer.alloc(1024 * 1024, 'compressible text; '));
    qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', text, packed);
    const p = layout(plain);
    let n = 0;
    const variant = (src: string, patch: (f: string) => void): string => {
      const f = join(dir, `v${n++}.qcow2`);
      writeFileSync(f, readFileSync(src));
      patch(f);
      return f;
    };
    await expectFormatError(variant(plain, (f) => patchFile(f, p.l1, be64((1n << 63n) | (1n << 45n)))), /L2 table 0 .* outside the file/);
    await expectFormatError(variant(plain, (f) => patchFile(f, p.l1, be64(BigInt(p.l2 + 512)))), /L1 entry 0 points to unaligned offset/);
    await expectFormatError(variant(plain, (f) => patchFile(f, p.l2, be64((1n << 63n) | (1n << 44n)))), /guest cluster 0 points to offset .* past the end/);
    await expectFormatError(variant(plain, (f) => patchFile(f, p.l2, be64(p.firstData + 4096n))), /guest cluster 0 points to unaligned offset/);

    const c = layout(packed);
    assert.ok(c.firstData & (1n << 62n), 'first cluster of the -c image is compressed');
    const csizeShift = 62n - (BigInt(Math.log2(c.clusterSize)) - 8n);
    const coff = Number(c.firstData & ((1n << csizeShift) - 1n));
    const bomb = deflateRawSync(new Uint8Array(c.clusterSize * 4));
    await expectFormatError(variant(packed, (f) => patchFile(f, coff, bomb)), /inflates to more than one cluster/);
    await expectFormatError(variant(packed, (f) => patchFile(f, coff, new Uint8Array(64).fill(0xff))), /does not inflate/);
    const far = (c.firstData & ~((1n << csizeShift) - 1n)) | (1n << 40n);
    await expectFormatError(variant(packed, (f) => patchFile(f, c.l2, be64(far))), /compressed cluster .* past the end/);
    // Every failure above was on a read-only open: none of the files changed (checked inside).
  } finally {
    cleanup();
  }
});

test('backing chains that loop are refused, directly or through another image', async () => {
  const { dir, cleanup } = tempDir('qcow2-loop');
  try {
    const a = join(dir, 'a.qcow2');
    const b = join(dir, 'b.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', b, '1M');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', a);
    qemuImg('rebase', '-u', '-f', 'qcow2', '-b', 'a.qcow2', '-F', 'qcow2', b);
    await expectFormatError(a, /chain loops/);
    const self = join(dir, 'self.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', self, '1M');
    qemuImg('rebase', '-u', '-f', 'qcow2', '-b', 'self.qcow2', '-F', 'qcow2', self);
    await expectFormatError(self, /chain loops/);
  } finally {
    cleanup();
  }
});

test('check reports refcounts that disagree with the references, naming the cluster', async () => {
  const { dir, cleanup } = tempDir('qcow2-check');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    const file = join(dir, 'c.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, file);
    const { rt, firstData, clusterSize } = layout(file);
    const b = readFileSync(file);
    const block = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(rt, false));
    const dataCluster = Number(firstData & 0x00fffffffffffe00n) / clusterSize;
    patchFile(file, block + dataCluster * 2, new Uint8Array([0, 0])); // 16-bit refcounts
    const leaked = Math.floor(b.length / clusterSize) + 0; // one past the last cluster: appended below
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(clusterSize)]));
    patchFile(file, block + leaked * 2, new Uint8Array([0, 1]));
    const before = sha256(file);
    const report = await qcow2Driver.check!(file, { repair: false });
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.includes(`cluster ${dataCluster} `) && p.includes('refcount 0 but referenced 1 times')), report.problems.join('\n'));
    assert.ok(report.problems.some((p) => p.includes(`leaked cluster ${leaked}`)), report.problems.join('\n'));
    const qemu = qemuImgStatus('check', file);
    assert.notEqual(qemu.status, 0, 'qemu-img agrees the image is damaged');
    await assert.rejects(qcow2Driver.check!(file, { repair: true }), /repair is not supported/);
    assert.equal(sha256(file), before);
  } finally {
    cleanup();
  }
});
