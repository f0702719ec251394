/** Shared helpers for the storage-core tests: temp dirs, qemu-img, file hashes, seeded data. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-storage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs qemu-img and returns its exit status instead of throwing. */
export function qemuImgStatus(...args: string[]): { status: number; out: string } {
  try {
    return { status: 0, out: qemuImg(...args) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A small deterministic PRNG so failures reproduce (xorshift32). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export function pattern(len: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}
