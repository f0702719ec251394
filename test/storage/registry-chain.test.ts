/** Registry behaviour: format probing, the parent-chain depth limit, and Ctrl-C during a CLI convert. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CHAIN_DEPTH, createImage, openImage, probe } from '../../src/storage/registry.js';
import { pattern, qemuImg, tempDir } from './core-helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MiB = 1024 * 1024;

test('probe tells fixed and dynamic VHD from raw, including raw data that merely mentions the cookie', async (t) => {
  const dir = tempDir(t);
  await createImage(join(dir, 'f.vhd'), 'vhd', { size: MiB, type: 'fixed' });
  qemuImg('create', '-q', '-f', 'vpc', join(dir, 'q.vhd'), '1M');
  const raw = new Uint8Array(MiB);
  raw.set(Buffer.from('conectix'), 4096);
  writeFileSync(join(dir, 'r.img'), raw);
  assert.equal((await probe(join(dir, 'f.vhd'))).format, 'vhd');
  assert.equal((await probe(join(dir, 'q.vhd'))).format, 'vhd');
  assert.equal((await probe(join(dir, 'r.img'))).format, 'raw');
});

test(`a parent chain deeper than ${MAX_CHAIN_DEPTH} images is refused; one at the limit opens`, async (t) => {
  const dir = tempDir(t);
  let prev = join(dir, 'd0.vhd');
  await createImage(prev, 'vhd', { size: MiB, type: 'dynamic' });
  const base = await openImage(prev, { readOnly: false });
  await base.write(0, pattern(4096, 1));
  await base.close();
  for (let i = 1; i <= MAX_CHAIN_DEPTH; i++) {
    const next = join(dir, `d${i}.vhd`);
    await createImage(next, 'vhd', { size: 0, type: 'differencing', parent: prev });
    prev = next;
  }
  // d(MAX-1) has a chain of exactly MAX images; d(MAX) one more.
  const ok = await openImage(join(dir, `d${MAX_CHAIN_DEPTH - 1}.vhd`), { readOnly: true });
  const buf = new Uint8Array(4096);
  await ok.read(0, buf);
  assert.deepEqual(buf, pattern(4096, 1));
  await ok.close();
  await assert.rejects(openImage(prev, { readOnly: true }), /parent chain is deeper than 64 images/);
});

test('Ctrl-C during `disk convert` leaves the source intact and no partial destination', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'big.img');
  writeFileSync(src, pattern(128 * MiB, 3));
  const dst = join(dir, 'out.vhd');
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.run(process.argv.slice(1)))`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, 'disk', 'convert', src, dst], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Interrupt once the partial destination exists, i.e. mid-convert.
  const timer = setInterval(() => {
    if (readdirSync(dir).some((f) => f.includes('.partial-'))) child.kill('SIGINT');
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.diagnostic(code === 0 ? 'convert finished before the interrupt' : 'convert was interrupted');
  clearInterval(timer);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no partial file remains');
  if (code === 0) {
    // The convert won the race: then the destination must be complete.
    qemuImg('compare', '-f', 'raw', '-F', 'vpc', src, dst);
  } else {
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted/);
    assert.equal(existsSync(dst), false);
  }
});
