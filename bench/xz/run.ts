/**
 * bench/xz: decompressing Debian's kernel payload (XZ, x86 BCJ + LZMA2, CRC32) with our decoder
 * and with the host's `xz -dc --single-stream` in the same run, alternating, best of N rounds.
 * Reports wall-clock and CPU time (CPU time is steadier on a shared machine) and the ratios
 * ours / xz. Add --file PATH to decode any .xz file instead.
 *
 * Run: npm run build && npm run bench -- xz [--rounds N] [--file PATH]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { decodeXz } from '../../src/common/compression/xz/decode-xz.js';
import { locatePayload } from '../../src/vm/boot/bzimage-payload.js';
import { ensureDebianGuest } from '../../src/images/debian-guest.js';

const arg = (name: string): string | undefined => {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 5);
const file = arg('--file');

function input(): { name: string; data: Uint8Array } {
  if (file !== undefined) return { name: file, data: new Uint8Array(readFileSync(file)) };
  const kernel = ensureDebianGuest().kernel;
  const image = new Uint8Array(readFileSync(kernel));
  const { offset, length } = locatePayload(kernel, image);
  return { name: `${kernel} payload`, data: image.subarray(offset, offset + length) };
}

interface Sample { wall: number; cpu: number }

function ours(data: Uint8Array): Sample & { size: number } {
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const r = decodeXz(data, { singleStream: true });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9, c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, size: r.data.length };
}

function host(data: Uint8Array): Sample & { size: number } {
  // Through bash's `time` so the CPU figure is xz's own, not the pipe's.
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%R %U %S"; time (xz -dc --single-stream | wc -c)'], { input: data, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
  const [real, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: real!, cpu: user! + sys!, size: Number(r.stdout.trim()) };
}

const { name, data } = input();
let best = { ours: { wall: Infinity, cpu: Infinity }, xz: { wall: Infinity, cpu: Infinity } };
let outSize = 0;
for (let k = 0; k < rounds; k++) {
  const a = ours(data), b = host(data);
  if (a.size !== b.size) throw new Error(`output sizes differ: ours ${a.size}, xz ${b.size}`);
  outSize = a.size;
  best = {
    ours: { wall: Math.min(best.ours.wall, a.wall), cpu: Math.min(best.ours.cpu, a.cpu) },
    xz: { wall: Math.min(best.xz.wall, b.wall), cpu: Math.min(best.xz.cpu, b.cpu) },
  };
  console.log(`round ${k + 1}: ours ${a.wall.toFixed(3)} s (cpu ${a.cpu.toFixed(3)}), xz ${b.wall.toFixed(3)} s (cpu ${b.cpu.toFixed(3)})`);
}
const mbps = (s: number): string => `${(outSize / s / 1024 / 1024).toFixed(0)} MiB/s`;
console.log(`${name}: ${data.length} -> ${outSize} bytes, best of ${rounds}`);
console.log(`  ours: ${best.ours.wall.toFixed(3)} s wall (${mbps(best.ours.wall)}), ${best.ours.cpu.toFixed(3)} s cpu`);
console.log(`  xz:   ${best.xz.wall.toFixed(3)} s wall (${mbps(best.xz.wall)}), ${best.xz.cpu.toFixed(3)} s cpu`);
console.log(`  ratio ours/xz: ${(best.ours.wall / best.xz.wall).toFixed(2)} wall, ${(best.ours.cpu / best.xz.cpu).toFixed(2)} cpu`);
