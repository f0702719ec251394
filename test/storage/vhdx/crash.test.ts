/**
 * Crash consistency: a child process writes, discards, flushes and resizes through the driver and is
 * SIGKILLed at random points. After each kill the image must reopen (replaying the log), pass our
 * check and qemu-img check, and hold every write acknowledged by a flush. Every few rounds qemu-img
 * replays a copy of the crashed image's log itself and must reach the same content.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { vhdxDriver } from '../../../src/storage/vhdx/driver.js';
import type { DiskImage } from '../../../src/storage/disk-image.js';
import { crashOps, MiB, type CrashPlan } from './crash-ops.js';
import { qemuImgStatus, rng, tempDir } from './fixtures.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

interface ChildRun { lastStarted: number; lastAck: number; code: number | null; err: string }

function runChild(file: string, plan: CrashPlan, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, file, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastStarted = -1, lastAck = -1, buf = '', err = '', armed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        const [what, n] = line.split(' ');
        if (what === 'op') lastStarted = Number(n);
        if (what === 'ack') lastAck = Number(n);
      }
      if (!armed && lastStarted >= 0) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('exit', (code) => resolve({ lastStarted, lastAck, code, err }));
  });
}

async function readWindow(img: DiskImage, window: number): Promise<Uint8Array> {
  const out = new Uint8Array(Math.min(window, img.sizeBytes));
  await img.read(0, out);
  return out;
}

/**
 * Runs one kill round on `file` whose first `window` bytes hold `base`; returns the window's new
 * content after verifying it against the model.
 */
async function killRound(file: string, plan: CrashPlan, base: Uint8Array, startSize: number, killAfterMs: number, qemuReplay: boolean): Promise<Uint8Array> {
  const round = `seed ${plan.seed}`;
  const run = await runChild(file, plan, killAfterMs);
  assert.equal(run.code, null, `${round}: child exited by itself (${run.code}): ${run.err}`);
  // The model: the base plus every op up to the last acknowledgement; later ops may or may not have landed.
  const model = new Uint8Array(plan.window);
  model.set(base);
  const maybe = new Uint8Array(plan.window / 512);
  let modelSize = startSize;
  const sizes = new Set<number>([modelSize]);
  let k = 0;
  for (const op of crashOps(plan, startSize)) {
    if (k > run.lastStarted) break;
    const acked = k <= run.lastAck;
    if (op.kind === 'resize') {
      if (acked) { modelSize = op.size; sizes.clear(); }
      sizes.add(op.size);
    } else if (op.kind === 'write' || op.kind === 'discard') {
      const count = op.kind === 'write' ? op.data.length / 512 : op.count;
      if (acked) {
        if (op.kind === 'write') model.set(op.data, op.sector * 512);
        else model.fill(0, op.sector * 512, (op.sector + count) * 512);
      } else {
        maybe.fill(1, op.sector, op.sector + count);
      }
    }
    k++;
  }
  sizes.add(modelSize);
  const crashed = `${file}.crashed`;
  if (qemuReplay) copyFileSync(file, crashed);
  const img = await vhdxDriver.open(file, { readOnly: false });
  assert.ok(sizes.has(img.sizeBytes), `${round}: size ${img.sizeBytes} is not one the ops produced (${[...sizes].join(', ')})`);
  const actual = await readWindow(img, plan.window);
  await img.close();
  const checked = Math.min(modelSize, plan.window) / 512;
  for (let s = 0; s < checked; s++) {
    if (maybe[s]) continue;
    for (let b = s * 512; b < s * 512 + 512; b++) {
      if (actual[b] !== model[b]) assert.fail(`${round}: acknowledged sector ${s} differs at byte ${b} (last ack op ${run.lastAck}, last op ${run.lastStarted})`);
    }
  }
  const report = await vhdxDriver.check!(file, { repair: false });
  assert.deepEqual(report.problems, [], round);
  const qc = qemuImgStatus('check', file);
  assert.equal(qc.status, 0, `${round}: ${qc.out}`);
  if (qemuReplay) {
    // qemu replays our log on a read-write open; the result must equal our replay.
    qemuImgStatus('check', '-r', 'all', crashed);
    const cmp = qemuImgStatus('compare', '-f', 'vhdx', '-F', 'vhdx', crashed, file);
    assert.equal(cmp.status, 0, `${round}: ${cmp.out}`);
    rmSync(crashed);
  }
  return actual;
}

test('30 SIGKILLs mid-write/flush/resize lose no acknowledged write and leave a valid image', { timeout: 300_000 }, async () => {
  const t = tempDir('crash');
  try {
    const file = join(t.dir, 'c.vhdx');
    const start = 16 * MiB;
    await vhdxDriver.create(file, { size: start, type: 'dynamic', blockSize: MiB });
    const pick = rng(2024);
    let base: Uint8Array = new Uint8Array(start);
    let size = start;
    for (let round = 0; round < 30; round++) {
      const plan: CrashPlan = { seed: round + 1, window: 40 * MiB, resizeEvery: 40, maxSize: 40 * MiB };
      base = await killRound(file, plan, base, size, Math.floor(pick() * 120), round % 5 === 4);
      const img = await vhdxDriver.open(file, { readOnly: true });
      size = img.sizeBytes;
      await img.close();
    }
  } finally {
    t.cleanup();
  }
});

test('10 SIGKILLs around a resize that moves the full BAT keep the image valid and the data', { timeout: 300_000 }, async () => {
  const t = tempDir('crash-bat');
  try {
    // 1 MiB of BAT holds 131072 entries: 131041 blocks of 1 MiB plus 31 sector bitmap entries fill it
    // exactly, so the first 1 MiB growth moves the BAT to the end of the file.
    const start = 131041 * MiB;
    const pick = rng(77);
    const fresh = join(t.dir, 'fresh.vhdx');
    await vhdxDriver.create(fresh, { size: start, type: 'dynamic', blockSize: MiB });
    let moved = 0;
    for (let round = 0; round < 10; round++) {
      const file = join(t.dir, `b${round}.vhdx`);
      await vhdxDriver.create(file, { size: start, type: 'dynamic', blockSize: MiB });
      const plan: CrashPlan = { seed: 1000 + round, window: 8 * MiB, resizeEvery: 8, maxSize: start + 8 * MiB };
      // qemu-img compare of two 128 GiB images reads every zero, so the qemu replay cross-check stays in the test above.
      await killRound(file, plan, new Uint8Array(8 * MiB), start, Math.floor(pick() * 400), false);
      if (batRegionOffset(file) !== batRegionOffset(fresh)) moved++;
      rmSync(file);
    }
    // The kills must have landed both before and after the BAT moved for the test to cover the move.
    assert.ok(moved > 0 && moved < 10, `BAT moved in ${moved} of 10 rounds`);
  } finally {
    t.cleanup();
  }
});

/** The BAT region's file offset, read from region table 1 (at 192 KiB) by its GUID's first field. */
function batRegionOffset(file: string): number {
  const b = Buffer.alloc(320 * 1024);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, b, 0, b.length, 0);
  } finally {
    closeSync(fd);
  }
  const rt = 192 * 1024;
  for (let i = 0; i < b.readUInt32LE(rt + 8); i++) {
    const e = rt + 16 + i * 32;
    if (b.readUInt32LE(e) === 0x2dc27766) return Number(b.readBigUInt64LE(e + 16));
  }
  throw new Error(`${file}: no BAT region entry`);
}
