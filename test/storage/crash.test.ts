/**
 * Crash consistency: a writer process is SIGKILLed at random moments during writes (dynamic, fixed
 * and differencing VHDs), resizes and merges. Afterwards every image must open and pass check, every
 * write acknowledged by a flush must be present, and unacknowledged writes may be missing but never
 * replaced by garbage.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createImage, openImage } from '../../src/storage/registry.js';
import { vhdDriver } from '../../src/storage/vhd/driver.js';
import { CRASH_DISK, crashPlan } from './crash-plan.js';
import { pattern, rng, tempDir } from './core-helpers.js';

const WRITER = fileURLToPath(new URL('./crash-writer.js', import.meta.url));
const KILLS_PER_MODE = 8;

/** Runs the writer and kills it after `delayMs` past its "ready"; returns the lines it printed. */
function runAndKill(mode: string, file: string, seed: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, mode, file, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.includes('ready\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`writer failed (${code}): ${err}`));
      else resolve(out.split('\n').filter((l) => l.length > 0));
    });
  });
}

function acked(lines: string[]): number {
  let n = 0;
  for (const l of lines) if (l.startsWith('ack ')) n = Number(l.slice(4));
  return n;
}

async function assertHealthy(file: string, allowCopyMismatch: boolean): Promise<void> {
  const r = await vhdDriver.check!(file, { repair: false });
  const problems = allowCopyMismatch ? r.problems.filter((p) => !/footer copy at offset 0 differs/.test(p)) : r.problems;
  assert.deepEqual(problems, [], `check after crash: ${r.problems.join('; ')}`);
}

async function verifyWrites(file: string, seed: number, ackedCount: number, base: Uint8Array | undefined): Promise<void> {
  const plan = crashPlan(seed);
  const img = await openImage(file, { readOnly: true });
  try {
    for (let i = 0; i < plan.writes.length; i++) {
      const w = plan.writes[i]!;
      if (w.sector * 512 + w.data.length > img.sizeBytes) {
        assert.ok(i >= ackedCount, `acknowledged write ${i} lies past the disk's size ${img.sizeBytes}`);
        continue;
      }
      const got = new Uint8Array(w.data.length);
      await img.read(w.sector, got);
      const old = base?.subarray(w.sector * 512, w.sector * 512 + w.data.length) ?? new Uint8Array(w.data.length);
      if (i < ackedCount) {
        assert.deepEqual(got, w.data, `acknowledged write ${i} is present`);
        continue;
      }
      for (let s = 0; s < w.data.length; s += 512) {
        const sector = got.subarray(s, s + 512);
        const ok = Buffer.compare(sector, w.data.subarray(s, s + 512)) === 0 || Buffer.compare(sector, old.subarray(s, s + 512)) === 0;
        assert.ok(ok, `unacknowledged write ${i}, sector ${s / 512}: neither old nor new data`);
      }
    }
  } finally {
    await img.close();
  }
}

for (const mode of ['dynamic', 'fixed', 'differencing', 'resize'] as const) {
  test(`crash consistency: SIGKILL during ${mode} writes`, async (t) => {
    const dir = tempDir(t);
    const r = rng(mode.length * 97);
    for (let k = 0; k < KILLS_PER_MODE; k++) {
      const seed = 1000 + k;
      const file = join(dir, `${mode}-${k}.vhd`);
      const full = mode !== 'resize';
      let base: Uint8Array | undefined;
      if (mode === 'differencing') {
        const parent = join(dir, `parent-${k}.vhd`);
        await createImage(parent, 'vhd', { size: 2 * CRASH_DISK, type: 'dynamic', blockSize: 256 * 1024 });
        base = pattern(2 * CRASH_DISK, seed);
        const p = await openImage(parent, { readOnly: false });
        await p.write(0, base);
        await p.close();
        await createImage(file, 'vhd', { size: 0, type: 'differencing', parent, blockSize: 256 * 1024 });
      } else {
        await createImage(file, 'vhd', { size: full ? 2 * CRASH_DISK : CRASH_DISK, type: mode === 'fixed' ? 'fixed' : 'dynamic', blockSize: 256 * 1024 });
      }
      const lines = await runAndKill('write', file, seed, Math.floor(r() * 400));
      t.diagnostic(`kill ${k}: ${acked(lines)} of 120 writes acknowledged${lines.some((l) => l.startsWith('resized')) ? ', resized' : ''}`);
      await assertHealthy(file, mode === 'resize');
      await verifyWrites(file, seed, acked(lines), base);
    }
  });
}

test('crash consistency: SIGKILL during merge leaves either the chain or the merged parent intact', async (t) => {
  const dir = tempDir(t);
  const r = rng(4242);
  for (let k = 0; k < KILLS_PER_MODE; k++) {
    const parent = join(dir, `mp-${k}.vhd`);
    const child = join(dir, `mc-${k}.vhd`);
    await createImage(parent, 'vhd', { size: CRASH_DISK, type: 'dynamic', blockSize: 256 * 1024 });
    const model = pattern(CRASH_DISK, 77 + k);
    model.fill(0, CRASH_DISK / 2);
    const p = await openImage(parent, { readOnly: false });
    await p.write(0, model.subarray(0, CRASH_DISK / 2));
    await p.close();
    await createImage(child, 'vhd', { size: 0, type: 'differencing', parent, blockSize: 256 * 1024 });
    const c = await openImage(child, { readOnly: false });
    const top = pattern(CRASH_DISK / 2, 99 + k);
    await c.write(CRASH_DISK / 4 / 512, top);
    await c.flush();
    await c.close();
    model.set(top, CRASH_DISK / 4);
    const lines = await runAndKill('merge', child, 0, Math.floor(r() * 300));
    t.diagnostic(`kill ${k}: ${lines.includes('merged') ? 'merge finished' : 'killed mid-merge'}`);
    const survivor = existsSync(child) ? child : parent;
    await assertHealthy(parent, false);
    const img = await openImage(survivor, { readOnly: true });
    const got = new Uint8Array(CRASH_DISK);
    await img.read(0, got);
    await img.close();
    assert.ok(Buffer.compare(got, model) === 0, `contents through ${survivor === child ? 'the child' : 'the merged parent'} after a crash`);
  }
});
