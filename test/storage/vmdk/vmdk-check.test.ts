import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vmdkDriver } from '../../../src/storage/vmdk/driver.js';
import { SMALL_DISK, SMALL_REGIONS, le32, patchFile, qemuImg, qemuImgStatus, sha256, tempDir, writePatternRaw } from './fixtures.js';

test('check passes every sparse subformat qemu-img makes and reports damaged grain tables by name', async () => {
  const { dir, cleanup } = tempDir('vmdk-check');
  try {
    const raw = join(dir, 'src.raw');
    writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
    for (const sub of ['monolithicSparse', 'streamOptimized', 'twoGbMaxExtentSparse', 'monolithicFlat']) {
      const file = join(dir, `${sub}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, raw, file);
      const report = await vmdkDriver.check!(file, { repair: false });
      assert.deepEqual(report.problems, [], sub);
      assert.equal(report.ok, true);
    }
    const good = join(dir, 'monolithicSparse.vmdk');
    const b = readFileSync(good);
    const h = new DataView(b.buffer, b.byteOffset, b.length);
    const gt = h.getUint32(h.getUint32(56, true) * 512, true);
    const rgt = h.getUint32(h.getUint32(48, true) * 512, true);
    const grain0 = h.getUint32(gt * 512, true);
    const damaged = async (name: string, patch: (f: string) => void, re: RegExp): Promise<void> => {
      const f = join(dir, name);
      writeFileSync(f, b);
      patch(f);
      const before = sha256(f);
      const report = await vmdkDriver.check!(f, { repair: false });
      assert.equal(report.ok, false, name);
      assert.ok(report.problems.some((p) => re.test(p)), `${name}: ${report.problems.join(' | ')}`);
      assert.equal(sha256(f), before);
    };
    await damaged('dup.vmdk', (f) => { patchFile(f, gt * 512 + 4 * 40, le32(grain0)); patchFile(f, rgt * 512 + 4 * 40, le32(grain0)); }, /grains 0 and 40 both point to sector/);
    await damaged('mismatch.vmdk', (f) => patchFile(f, gt * 512 + 4 * 50, le32(grain0)), /grain table 0 entry 50 .* differs from the redundant copy/);
    await damaged('past.vmdk', (f) => { patchFile(f, gt * 512 + 4 * 60, le32(0x7ffffff0)); patchFile(f, rgt * 512 + 4 * 60, le32(0x7ffffff0)); }, /grain 60 at sector .* past the end/);
    await damaged('meta.vmdk', (f) => { patchFile(f, gt * 512 + 4 * 61, le32(2)); patchFile(f, rgt * 512 + 4 * 61, le32(2)); }, /grain 61 at sector 2 lies inside the metadata/);
    // qemu-img agrees these are damaged where it checks the same thing.
    assert.notEqual(qemuImgStatus('check', join(dir, 'past.vmdk')).status, 0);
    await assert.rejects(vmdkDriver.check!(good, { repair: true }), /repair is not supported/);
  } finally {
    cleanup();
  }
});
