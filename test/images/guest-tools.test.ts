/**
 * The guest-tool library closure, checked against the host's own loader: for a host program the
 * libraries toolFiles() collects by reading DT_NEEDED must be exactly those `ldd` reports, and a
 * library missing from the tree is an error naming it. Uses the host's qemu-img (tools/install-deps)
 * as a program with a deep library graph.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseDependsField, toolFiles } from '../../src/images/guest-tools.js';
import { readDynamicInfo } from '../../src/images/elf-dynamic.js';
import { S_IFDIR, S_IFLNK, S_IFREG } from '../../src/images/cpio.js';

const HOST_PROGRAM = '/usr/bin/qemu-img';

test('readDynamicInfo reads the interpreter and DT_NEEDED entries readelf reports', () => {
  const info = readDynamicInfo(HOST_PROGRAM, new Uint8Array(readFileSync(HOST_PROGRAM)));
  const dyn = execFileSync('readelf', ['-d', '-l', '--wide', HOST_PROGRAM], { encoding: 'utf8' });
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(dyn)?.[1];
  assert.ok(needed.length > 3);
  assert.deepEqual(info.needed, needed);
  assert.equal(info.interpreter, interp);
});

test('readDynamicInfo refuses a file that is not ELF', () => {
  assert.throws(() => readDynamicInfo('x.sh', Buffer.from('#!/bin/sh\necho hi\n')), /x\.sh: ELF: no ELF magic/);
});

test('toolFiles collects exactly the libraries the host loader loads for a program, and its interpreter', () => {
  const tools = toolFiles('/', [{ program: basename(HOST_PROGRAM), package: 'qemu-utils', aliases: ['qemu-img-alias'] }]);
  const ldd = execFileSync('ldd', [HOST_PROGRAM], { encoding: 'utf8' });
  const expected = new Set<string>();
  for (const line of ldd.split('\n')) {
    const m = /^\s*(\S+) => (\S+)/.exec(line);
    if (m !== null) expected.add(m[1]!);
    const interp = /^\s*(\/\S+) \(0x/.exec(line);
    if (interp !== null) expected.add(interp[1]!.replace(/^\//, ''));
  }
  const got = new Set(tools.libraries.map((p) => (p.startsWith('lib64/') ? p : basename(p))));
  // libc names the loader by soname too, so it is also found in the library directory.
  got.delete('ld-linux-x86-64.so.2');
  expected.delete('ld-linux-x86-64.so.2');
  assert.deepEqual([...got].sort(), [...expected].sort());

  const byPath = new Map(tools.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('sbin/qemu-img')?.mode, S_IFREG | 0o755);
  assert.equal(Buffer.from(byPath.get('sbin/qemu-img-alias')!.data!).toString(), 'qemu-img');
  assert.equal(byPath.get('sbin/qemu-img-alias')?.mode, S_IFLNK | 0o777);
  const libc = byPath.get('lib/x86_64-linux-gnu/libc.so.6');
  assert.ok(libc?.data !== undefined && libc.data.length > 1_000_000, 'libc is stored as a file, not as a symlink');
  // Every parent directory comes before anything inside it.
  const seen = new Set<string>();
  for (const e of tools.entries) {
    const parent = e.path.split('/').slice(0, -1).join('/');
    if (parent !== '') assert.ok(seen.has(parent), `${e.path} comes before its directory`);
    if (e.mode === (S_IFDIR | 0o755)) seen.add(e.path);
  }
});

test('toolFiles names a needed library that the package tree lacks', () => {
  const root = mkdtempSync(join(tmpdir(), 'viridian-tools-'));
  try {
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    copyFileSync(HOST_PROGRAM, join(root, 'usr', 'bin', 'qemu-img'));
    assert.throws(() => toolFiles(root, [{ program: 'qemu-img', package: 'qemu-utils', aliases: [] }]),
      /interpreter \/lib64\/ld-linux-x86-64\.so\.2 of \/sbin\/qemu-img is in none of the downloaded packages/);
    assert.throws(() => toolFiles(root, [{ program: 'mke2fs', package: 'e2fsprogs', aliases: [] }]), /mke2fs is in none of sbin, usr\/sbin/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('parseDependsField keeps the first alternative and drops versions and qualifiers', () => {
  assert.deepEqual(parseDependsField('libc6 (>= 2.34), libext2fs2 (= 1.47.0-2+b2), dpkg (>= 1.15.4) | install-info, libfoo1:any, gcc-12-base [amd64]'),
    ['libc6', 'libext2fs2', 'dpkg', 'libfoo1', 'gcc-12-base']);
  assert.throws(() => parseDependsField('libc6, (>= 2)'), /cannot read the dependency '\(>= 2\)'/);
});
