import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio, readCpio, S_IFDIR, S_IFREG, S_IFLNK } from '../../src/images/cpio.js';

const entries = [
  { path: 'bin', mode: S_IFDIR | 0o755 },
  { path: 'bin/hello', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { path: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') },
  { path: 'odd-size', mode: S_IFREG | 0o644, data: new Uint8Array(4099).map((_, k) => k & 0xff) },
];

test('newc archives read back through our reader', () => {
  const back = readCpio(writeCpio(entries));
  assert.deepEqual(back.map((e) => [e.path, e.mode, Buffer.from(e.data ?? []).toString('hex')]),
    entries.map((e) => [e.path, e.mode, Buffer.from(e.data ?? []).toString('hex')]));
});

test('GNU cpio (the peer) extracts our archive identically', (t) => {
  if (spawnSync('cpio', ['--version']).status !== 0) { t.diagnostic('cpio not installed; tools/install-deps installs it'); assert.fail('cpio missing'); }
  const dir = mkdtempSync(join(tmpdir(), 'viridian-cpio-'));
  try {
    writeFileSync(join(dir, 'a.cpio'), writeCpio(entries));
    const r = spawnSync('sh', ['-c', 'cpio -idm --quiet < a.cpio'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(readFileSync(join(dir, 'bin/hello'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'busybox');
    assert.equal(statSync(join(dir, 'bin/hello')).mode & 0o777, 0o755);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'odd-size'))), entries[3]!.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated archives are refused', () => {
  const a = writeCpio(entries);
  assert.throws(() => readCpio(a.subarray(0, 200)), /truncated/);
  assert.throws(() => writeCpio([{ path: '/abs', mode: S_IFREG }]), /must be relative/);
});
