/**
 * `viridian disk` end to end, run as a real process through bin/viridian's entry module, plus the
 * registry and convert behaviours the CLI relies on (format errors, interrupted convert).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertImage } from '../../src/storage/ops/convert.js';
import { createImage, openImage } from '../../src/storage/registry.js';
import { pattern, qemuImg, tempDir } from './core-helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

function viridian(...args: string[]): { status: number; stdout: string; stderr: string } {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.run(process.argv.slice(1)))`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('disk create / info --json / check / convert / resize / compact / merge through the CLI', async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'base.vhd');
  let r = viridian('disk', 'create', base, '--size', '16M', '--block-size', '1M');
  assert.equal(r.status, 0, r.stderr);
  const img = await openImage(base, { readOnly: false });
  const data = pattern(3 * MiB, 5);
  await img.write(2048, data);
  await img.close();

  r = viridian('disk', 'info', base, '--json');
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { format: string; type: string; virtualSize: number; blockSize: number; identifiers: Record<string, string> };
  assert.equal(info.format, 'vhd');
  assert.equal(info.type, 'dynamic');
  assert.equal(info.virtualSize, 16 * MiB);
  assert.equal(info.blockSize, MiB);
  assert.match(info.identifiers['uniqueId']!, /^[0-9a-f-]{36}$/);

  const child = join(dir, 'child.vhd');
  r = viridian('disk', 'create', child, '--parent', base);
  assert.equal(r.status, 0, r.stderr);
  r = viridian('disk', 'info', child, '--json');
  const cinfo = JSON.parse(r.stdout) as { type: string; parent: string; chain: { file: string }[] };
  assert.equal(cinfo.type, 'differencing');
  assert.equal(cinfo.chain[0]!.file, base);

  r = viridian('disk', 'check', child);
  assert.equal(r.status, 0, r.stdout + r.stderr);

  const raw = join(dir, 'out.img');
  r = viridian('disk', 'convert', child, raw, '--json');
  assert.equal(r.status, 0, r.stderr);
  const expected = new Uint8Array(16 * MiB);
  expected.set(data, MiB);
  assert.deepEqual(new Uint8Array(readFileSync(raw)), expected);

  r = viridian('disk', 'merge', child);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(child), false);

  r = viridian('disk', 'resize', base, '--size', '8M');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /allow-shrink/);
  r = viridian('disk', 'resize', base, '--size', '32M');
  assert.equal(r.status, 0, r.stderr);
  r = viridian('disk', 'compact', base, '--json');
  assert.equal(r.status, 0, r.stderr);
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', raw, base);
});

test('the CLI names bad input clearly and exits 2', async (t) => {
  const dir = tempDir(t);
  const cases: [string[], RegExp][] = [
    [['disk', 'create', join(dir, 'a.vhd')], /--size is required/],
    [['disk', 'create', join(dir, 'a.vhd'), '--size', 'lots'], /not a size/],
    [['disk', 'create', join(dir, 'a.bin'), '--size', '1M'], /cannot tell the format .* pass --format/],
    [['disk', 'create', join(dir, 'a.vhd'), '--size', '1M', '--format', 'floppy'], /--format 'floppy' is not one of/],
    [['disk', 'create', join(dir, 'a.vhd'), '--size', '3T'], /exceeds the format's limit of 2040 GiB/],
    [['disk', 'create', join(dir, 'a.vhd'), '--type', 'differencing'], /needs --parent/],
    [['disk', 'info', join(dir, 'missing.vhd')], /not found/],
    [['disk', 'frobnicate'], /unknown subcommand/],
    [['disk', 'info', 'x', '--colour'], /unknown option --colour/],
  ];
  for (const [args, message] of cases) {
    const r = viridian(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  assert.deepEqual(readdirSync(dir), [], 'failed commands left no files');
});

test('every format name is accepted; unregistered ones get a clear error', async (t) => {
  const dir = tempDir(t);
  for (const format of ['raw', 'vhd', 'vhdx', 'vmdk', 'qcow2']) {
    const file = join(dir, `x.${format}`);
    const r = viridian('disk', 'create', file, '--size', '1M', '--format', format);
    // Either it works, or the message names the format; never an internal error.
    if (r.status !== 0) assert.match(r.stderr, new RegExp(`${format}|not available|not supported`), r.stderr);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  assert.equal(viridian('disk', 'create', join(dir, 'y.img'), '--size', '1M').status, 0);
  assert.equal(readFileSync(join(dir, 'y.img')).length, MiB);
});

test('convert skips unallocated and all-zero ranges, and an interrupted convert leaves nothing', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src.raw');
  const content = new Uint8Array(32 * MiB);
  content.set(pattern(MiB, 9), 20 * MiB);
  writeFileSync(src, content);
  const dst = join(dir, 'dst.vhd');
  const r = await convertImage(src, dst, { format: 'vhd' });
  assert.ok(r.dataBytes >= MiB && r.dataBytes <= 2 * MiB, `wrote ${r.dataBytes} bytes for 1 MiB of data`);
  const img = await openImage(dst, { readOnly: true });
  let allocated = 0;
  for (let s = 0; s < img.sizeBytes / 512;) {
    const run = await img.allocation(s, img.sizeBytes / 512 - s);
    if (run.allocated) allocated += run.sectors;
    s += run.sectors;
  }
  await img.close();
  assert.ok(allocated * 512 <= 2 * 2 * MiB, `only the data's blocks are allocated (${allocated} sectors)`);
  qemuImg('compare', '-f', 'raw', '-F', 'vpc', src, dst);

  const ac = new AbortController();
  const dst2 = join(dir, 'dst2.vhd');
  await assert.rejects(convertImage(src, dst2, { format: 'vhd', signal: ac.signal, onProgress: (done) => { if (done > 4 * MiB) ac.abort(); } }), /interrupted/);
  assert.equal(existsSync(dst2), false);
  assert.deepEqual(readdirSync(dir).sort(), ['dst.vhd', 'src.raw']);
  await assert.rejects(convertImage(src, dst, { format: 'vhd' }), /already exists/);
});

test('raw images: create, write, read, and bounds are enforced', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'r.img');
  await createImage(file, 'raw', { size: 2 * MiB, type: 'fixed' });
  const img = await openImage(file, { readOnly: false });
  await img.write(10, pattern(4096, 3));
  await assert.rejects(img.write(4096, new Uint8Array(512)), /past the end/);
  await assert.rejects(img.read(0, new Uint8Array(100)), /whole number of 512-byte sectors/);
  await img.close();
  assert.deepEqual(new Uint8Array(readFileSync(file)).subarray(5120, 5120 + 4096), pattern(4096, 3));
});
