import test from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../../src/common/errors.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { vmdkDriver } from '../../../src/storage/vmdk/driver.js';
import { SMALL_DISK, SMALL_REGIONS, le32, patchFile, qemuImg, readAll, sha256, tempDir, writePatternRaw } from './fixtures.js';

/** Opens (read-only unless told) and reads everything; the failure must be a FormatError matching `re`. */
async function expectFormatError(file: string, re: RegExp, readOnly = true): Promise<void> {
  const before = sha256(file);
  const openParent = (p: string): Promise<DiskImage> => vmdkDriver.open(p, { readOnly: true, openParent });
  await assert.rejects(
    (async () => {
      const img = await vmdkDriver.open(file, { readOnly, openParent });
      try {
        await readAll(img);
        if (!readOnly) await img.write(0, new Uint8Array(512));
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

function header(file: string): DataView {
  const b = readFileSync(file).subarray(0, 512);
  return new DataView(b.buffer, b.byteOffset, 512);
}

function sparseImage(dir: string, name = 'd.vmdk', sub = 'monolithicSparse'): string {
  const raw = join(dir, 'src.raw');
  writePatternRaw(raw, SMALL_DISK, SMALL_REGIONS);
  const file = join(dir, name);
  qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, raw, file);
  return file;
}

test('truncated, bad-magic and absurd sparse headers are rejected clearly', async () => {
  const { dir, cleanup } = tempDir('vmdk-bad');
  try {
    const file = sparseImage(dir);
    const gdSector = header(file).getUint32(56, true);
    const copy = (n: string): string => {
      const p = join(dir, n);
      writeFileSync(p, readFileSync(file));
      return p;
    };
    const short = copy('short.vmdk');
    truncateSync(short, 300);
    await expectFormatError(short, /outside the file|header/);
    const shortGd = copy('shortgd.vmdk');
    truncateSync(shortGd, gdSector * 512 + 2);
    await expectFormatError(shortGd, /grain directory/);
    const magic = copy('magic.vmdk');
    patchFile(magic, 0, new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0, 9]));
    await expectFormatError(magic, /descriptor|VMDK/);
    const grain = copy('grain.vmdk');
    patchFile(grain, 20, le32(3));
    await expectFormatError(grain, /grainSize 3/);
    const huge = copy('huge.vmdk');
    patchFile(huge, 20, le32(1 << 20));
    await expectFormatError(huge, /grainSize/);
    const cap = copy('cap.vmdk');
    patchFile(cap, 12, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x10]));
    await expectFormatError(cap, /capacity|beyond/);
    const gtes = copy('gtes.vmdk');
    patchFile(gtes, 44, le32(0));
    await expectFormatError(gtes, /numGTEsPerGT/);
    const nl = copy('newline.vmdk');
    patchFile(nl, 75, new Uint8Array([0x0a]));
    await expectFormatError(nl, /newline/);
  } finally {
    cleanup();
  }
});

test('grain directory and grain table entries pointing past the end of the file are errors, not zeros', async () => {
  const { dir, cleanup } = tempDir('vmdk-ptr');
  try {
    const file = sparseImage(dir);
    const h = header(file);
    const gd = h.getUint32(56, true);
    const rgd = h.getUint32(48, true);
    const gdCopy = join(dir, 'gd.vmdk');
    writeFileSync(gdCopy, readFileSync(file));
    patchFile(gdCopy, gd * 512, le32(0x7ffffff0));
    await expectFormatError(gdCopy, /grain table 0/);
    const gtCopy = join(dir, 'gt.vmdk');
    writeFileSync(gtCopy, readFileSync(file));
    const gt0 = new DataView(readFileSync(file).buffer).getUint32(gd * 512, true);
    patchFile(gtCopy, gt0 * 512, le32(0x7ffffff0));
    if (rgd) {
      const rgt0 = new DataView(readFileSync(file).buffer).getUint32(rgd * 512, true);
      patchFile(gtCopy, rgt0 * 512, le32(0x7ffffff0));
    }
    await expectFormatError(gtCopy, /grain at sector/);
    // Opened for writing, a write through that entry must be refused rather than grow the file.
    await expectFormatError(gtCopy, /outside the grain area|grain at sector/, false);
    // An entry aimed at the header itself must not let a write clobber metadata.
    const meta = join(dir, 'meta.vmdk');
    writeFileSync(meta, readFileSync(file));
    patchFile(meta, gt0 * 512, le32(2));
    const before = sha256(meta);
    const img = await vmdkDriver.open(meta, { readOnly: false });
    try {
      await assert.rejects(img.write(0, new Uint8Array(512).fill(0xee)), FormatError);
    } finally {
      await img.close();
    }
    assert.equal(sha256(meta), before);
    // A directory entry aimed at the embedded descriptor must not let a write turn it into a grain table.
    const overlap = join(dir, 'overlap.vmdk');
    writeFileSync(overlap, readFileSync(file));
    patchFile(overlap, gd * 512, le32(1));
    // Aim the write at a slot where the descriptor text has ended (zero padding reads as "no grain").
    const desc = readFileSync(overlap).subarray(512, 512 * 21);
    let slot = 0;
    while (desc.readUInt32LE(slot * 4) !== 0) slot++;
    assert.ok(slot * 128 < SMALL_DISK / 512, 'descriptor padding lies within the disk');
    const before2 = sha256(overlap);
    const img2 = await vmdkDriver.open(overlap, { readOnly: false });
    try {
      await assert.rejects(img2.write(slot * 128, new Uint8Array(512).fill(0xee)), /overlaps the header, descriptor or grain directory/);
    } finally {
      await img2.close();
    }
    assert.equal(sha256(overlap), before2);
  } finally {
    cleanup();
  }
});

test('streamOptimized: grains that inflate past a grain, lie about their LBA, or a missing footer are rejected', async () => {
  const { dir, cleanup } = tempDir('vmdk-stream');
  try {
    const file = sparseImage(dir, 's.vmdk', 'streamOptimized');
    const bytes = readFileSync(file);
    const all = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const gd = all.getUint32(56, true);
    const grainBytes = all.getUint32(20, true) * 512;
    const gt = all.getUint32(gd * 512, true);
    const grain0 = all.getUint32(gt * 512, true);
    assert.ok(grain0 > 0, 'grain 0 holds data in the source');

    const bomb = join(dir, 'bomb.vmdk');
    writeFileSync(bomb, bytes);
    const packed = deflateSync(new Uint8Array(grainBytes * 4));
    const marker = new Uint8Array(12 + packed.length);
    new DataView(marker.buffer).setUint32(8, packed.length, true);
    marker.set(packed, 12);
    patchFile(bomb, grain0 * 512, marker);
    await expectFormatError(bomb, /inflates to more than one grain/);

    const lba = join(dir, 'lba.vmdk');
    writeFileSync(lba, bytes);
    patchFile(lba, grain0 * 512, le32(12345));
    await expectFormatError(lba, /marker says LBA 12345/);

    const size = join(dir, 'size.vmdk');
    writeFileSync(size, bytes);
    patchFile(size, grain0 * 512 + 8, le32(0x7fffffff));
    await expectFormatError(size, /compressed size/);

    const garbage = join(dir, 'garbage.vmdk');
    writeFileSync(garbage, bytes);
    patchFile(garbage, grain0 * 512 + 12, new Uint8Array(64).fill(0xff));
    await expectFormatError(garbage, /does not inflate/);

    const cut = join(dir, 'cut.vmdk');
    writeFileSync(cut, bytes.subarray(0, grain0 * 512 + 100));
    await expectFormatError(cut, /compressed grain 0/);

    // gdOffset = GD_AT_END with no footer at the end of the file.
    const nofoot = join(dir, 'nofoot.vmdk');
    writeFileSync(nofoot, bytes);
    patchFile(nofoot, 56, new Uint8Array(8).fill(0xff));
    await expectFormatError(nofoot, /footer/);
  } finally {
    cleanup();
  }
});

function descriptor(extents: string, extra = ''): string {
  return `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n${extra}\n${extents}\n`;
}

test('hostile descriptors: size, quotes, unknown keys, extents outside the folder or the file, loops', async () => {
  const { dir, cleanup } = tempDir('vmdk-desc');
  try {
    writeFileSync(join(dir, 'data.bin'), new Uint8Array(4096).fill(7));
    const write = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    // Unknown keys, junk lines and a stray quote in an unused key are tolerated.
    const ok = write('ok.vmdk', descriptor('RW 8 FLAT "data.bin" 0', 'ddb.weird = "x\nwhat is this line\nfoo.bar = 1"2"'));
    const img = await vmdkDriver.open(ok, { readOnly: true });
    try {
      assert.equal(img.sizeBytes, 4096);
      assert.ok((await readAll(img)).every((b) => b === 7));
    } finally {
      await img.close();
    }
    await expectFormatError(write('big.vmdk', '# Disk DescriptorFile\n' + 'x'.repeat(2 * 1024 * 1024)), /too large|larger than/);
    await expectFormatError(write('quote.vmdk', descriptor('RW 8 FLAT "data.bin" 0').replace('"monolithicFlat"', '"monolithicFlat')), /line 5: value of createType has unbalanced quotes/);
    await expectFormatError(write('noext.vmdk', descriptor('')), /no extents/);
    await expectFormatError(write('extq.vmdk', descriptor('RW 8 FLAT "data.bin 0')), /quoted file name/);
    await expectFormatError(write('type.vmdk', descriptor('RW 8 VMFSRDM "data.bin"')), /VMFSRDM is not supported/);
    await expectFormatError(write('outside.vmdk', descriptor('RW 8 FLAT "../../etc/passwd" 0')), /outside the descriptor's folder/);
    await expectFormatError(write('abs.vmdk', descriptor('RW 8 FLAT "/etc/passwd" 0')), /outside the descriptor's folder/);
    await expectFormatError(write('missing.vmdk', descriptor('RW 8 FLAT "nope.bin" 0')), /cannot open extent "nope.bin"/);
    await expectFormatError(write('past.vmdk', descriptor('RW 16 FLAT "data.bin" 0')), /flat extent needs 8192 bytes/);
    await expectFormatError(write('offset.vmdk', descriptor('RW 8 FLAT "data.bin" 4')), /flat extent needs/);
    await expectFormatError(write('hugeext.vmdk', descriptor('RW 99999999999999999999 FLAT "data.bin" 0')), /out of range/);
    await expectFormatError(write('self.vmdk', descriptor('RW 1 FLAT "self.vmdk" 0')), /names the descriptor file itself/);
    await expectFormatError(write('sparse-text.vmdk', descriptor('RW 8 SPARSE "ok.vmdk"')), /bad magic|outside the file/);
    await expectFormatError(write('nohint.vmdk', descriptor('RW 8 FLAT "data.bin" 0').replace('parentCID=ffffffff', 'parentCID=abcdef01')), /no parentFileNameHint/);
    // Parent chains that loop: directly, and through a second descriptor.
    const loop = (name: string, parent: string): string => write(name, descriptor('RW 8 FLAT "data.bin" 0', `parentFileNameHint="${parent}"`).replace('parentCID=ffffffff', 'parentCID=12345678'));
    await expectFormatError(loop('selfparent.vmdk', 'selfparent.vmdk'), /chain loops/);
    loop('a.vmdk', 'b.vmdk');
    await expectFormatError(loop('b.vmdk', 'a.vmdk'), /chain loops/);
    // A parent whose CID changed after the child was made.
    loop('child.vmdk', 'ok.vmdk');
    writeFileSync(join(dir, 'ok.vmdk'), descriptor('RW 8 FLAT "data.bin" 0').replace('CID=12345678', 'CID=99999999'));
    await expectFormatError(join(dir, 'child.vmdk'), /parent was modified/);
    // Binary garbage that is not a sparse extent either.
    const junk = join(dir, 'junk.vmdk');
    writeFileSync(junk, new Uint8Array(5000).map((_, i) => (i * 131) & 0xff));
    await expectFormatError(junk, /no extents|createType/);
  } finally {
    cleanup();
  }
});
