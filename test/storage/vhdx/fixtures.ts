/** Test helpers for the VHDX driver: temp folders, qemu-img wrappers, seeded patterns, whole-image reads. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskImage } from '../../../src/storage/disk-image.js';

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `viridian-vhdx-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function qemuImgStatus(...args: string[]): { status: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** xorshift32 bytes: reproducible and incompressible. */
export function pattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A seeded PRNG for choosing offsets and sizes. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

export interface Extent { offset: number; length: number }

/** Writes a sparse raw file with pattern data in `extents` and holes elsewhere; returns its content. */
export function writePatternRaw(path: string, size: number, extents: Extent[], seed = 7): Uint8Array {
  const content = new Uint8Array(size);
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    extents.forEach((e, i) => {
      const p = pattern(seed + i, e.length);
      writeSync(fd, p, 0, p.length, e.offset);
      content.set(p, e.offset);
    });
  } finally {
    closeSync(fd);
  }
  return content;
}

export async function readAll(img: DiskImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.sizeBytes);
  const step = 4 * 1024 * 1024;
  for (let off = 0; off < out.length; off += step) {
    await img.read(off / img.sectorSize, out.subarray(off, Math.min(out.length, off + step)));
  }
  return out;
}

/** Index of the first differing byte, or -1. Keeps assertion messages small on 100 MB buffers. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export function fileFingerprint(path: string): string {
  const st = statSync(path);
  return `${createHash('sha256').update(readFileSync(path)).digest('hex')}:${st.size}:${st.mtimeMs}`;
}
