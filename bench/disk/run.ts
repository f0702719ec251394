/**
 * bench/disk: convert throughput and random 4 KiB I/O through the block interface.
 *
 * Convert: a 4 GiB dynamic VHD with every other 2 MiB block holding random data (half allocated) is
 * converted to raw and back (raw -> dynamic VHD) by Viridian and by `qemu-img convert` in the same
 * run; throughput is virtual bytes per second, and the ratio is Viridian / qemu-img.
 * Random I/O: 4 KiB reads and writes at random aligned offsets through BlockDevice on a dynamic VHD,
 * compared with the same pattern on a raw image through the raw driver (the format's overhead).
 *
 * Run: npm run build && npm run bench -- disk [--size-gib N]   (not part of npm test)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertImage } from '../../src/storage/ops/convert.js';
import { createImage, openImage } from '../../src/storage/registry.js';

const GiB = 1024 ** 3;
const BLOCK = 2 * 1024 * 1024;
const sizeArg = process.argv.indexOf('--size-gib');
const SIZE = (sizeArg >= 0 ? Number(process.argv[sizeArg + 1]) : 4) * GiB;
const RANDOM_OPS = 20000;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return seconds(t0);
}

function mbps(bytes: number, s: number): string {
  return `${(bytes / s / 1024 / 1024).toFixed(0)} MiB/s`;
}

async function makeSource(file: string): Promise<void> {
  await createImage(file, 'vhd', { size: SIZE, type: 'dynamic' });
  const img = await openImage(file, { readOnly: false });
  for (let off = 0; off < SIZE; off += 2 * BLOCK) await img.write(off / 512, randomBytes(BLOCK));
  await img.flush();
  await img.close();
}

async function randomIo(file: string, write: boolean): Promise<number> {
  const img = await openImage(file, { readOnly: !write });
  const buf = randomBytes(4096);
  const sectors = img.sizeBytes / 512;
  let x = 12345;
  const t = await timed(async () => {
    for (let i = 0; i < RANDOM_OPS; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const sector = Math.floor((x / 0x100000000) * (sectors / 8)) * 8;
      if (write) await img.write(sector, buf);
      else await img.read(sector, buf);
    }
    if (write) await img.flush();
  });
  await img.close();
  return RANDOM_OPS / t;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-bench-disk-'));
  try {
    const src = join(dir, 'src.vhd');
    console.log(`building a ${SIZE / GiB} GiB dynamic VHD, half allocated...`);
    await makeSource(src);

    const oursToRaw = await timed(() => convertImage(src, join(dir, 'ours.raw'), { format: 'raw' }).then(() => undefined));
    const qemuToRaw = await timed(() => { execFileSync('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', src, join(dir, 'qemu.raw')]); });
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', join(dir, 'ours.raw'), join(dir, 'qemu.raw')]);
    rmSync(join(dir, 'qemu.raw'));
    const oursToVhd = await timed(() => convertImage(join(dir, 'ours.raw'), join(dir, 'ours.vhd'), { format: 'vhd', type: 'dynamic' }).then(() => undefined));
    const qemuToVhd = await timed(() => { execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic', join(dir, 'ours.raw'), join(dir, 'qemu.vhd')]); });
    rmSync(join(dir, 'qemu.vhd'));

    console.log('\nconvert (virtual bytes per second)      viridian     qemu-img    ratio');
    console.log(`  dynamic VHD -> raw                 ${mbps(SIZE, oursToRaw).padStart(12)} ${mbps(SIZE, qemuToRaw).padStart(12)}    ${(qemuToRaw / oursToRaw).toFixed(2)}`);
    console.log(`  raw -> dynamic VHD                 ${mbps(SIZE, oursToVhd).padStart(12)} ${mbps(SIZE, qemuToVhd).padStart(12)}    ${(qemuToVhd / oursToVhd).toFixed(2)}`);

    const vhdRead = await randomIo(join(dir, 'ours.vhd'), false);
    const rawRead = await randomIo(join(dir, 'ours.raw'), false);
    const vhdWrite = await randomIo(join(dir, 'ours.vhd'), true);
    const rawWrite = await randomIo(join(dir, 'ours.raw'), true);
    console.log(`\nrandom 4 KiB through BlockDevice (${RANDOM_OPS} ops)   dynamic VHD      raw    ratio`);
    console.log(`  reads/s                             ${vhdRead.toFixed(0).padStart(10)} ${rawRead.toFixed(0).padStart(9)}    ${(vhdRead / rawRead).toFixed(2)}`);
    console.log(`  writes/s (flush at end)             ${vhdWrite.toFixed(0).padStart(10)} ${rawWrite.toFixed(0).padStart(9)}    ${(vhdWrite / rawWrite).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
