/**
 * The host's xz (package xz-utils) as the peer for decoder tests, and deterministic test inputs
 * that exercise the decoder's paths: incompressible bytes (stored chunks), text-like data (all
 * match kinds), long runs and short periods (overlapping copies), real x86 code and synthetic
 * E8/E9-dense data (the BCJ filter's state machine).
 */
import { spawnSync } from 'node:child_process';
import { openSync, readSync, closeSync } from 'node:fs';

export function xz(args: string[], input: Uint8Array): Uint8Array {
  const r = spawnSync('xz', args, { input, maxBuffer: 1 << 30 });
  if (r.error !== undefined) throw new Error(`xz could not run (${r.error.message}); install xz-utils (tools/install-deps)`);
  if (r.status !== 0) throw new Error(`xz ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
}

/** xorshift32: reproducible pseudo-random bytes. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** Words from a small vocabulary with numbers and occasional noise: literals, matches and reps. */
export function textLike(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const words = ['kernel', 'virtual', 'processor', 'memory', 'interrupt', 'the', 'a', 'of', 'page', 'table', 'x86', '\n', ', ', 'boot'];
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const r = next();
    const piece = r % 11 === 0 ? String(r % 100000) : r % 97 === 0 ? String.fromCharCode(r & 0xff) : words[r % words.length]!;
    for (let k = 0; k < piece.length && i < n; k++) out[i++] = piece.charCodeAt(k) & 0xff;
    if (i < n && (r & 3) !== 0) out[i++] = 0x20;
  }
  return out;
}

/** Long zero runs, short repeating periods (1..7 bytes) and random stretches. */
export function runsAndPeriods(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const kind = next() % 3, len = Math.min(n - i, 16 + (next() % 5000));
    if (kind === 0) { i += len; continue; }
    if (kind === 1) {
      const period = 1 + (next() % 7);
      for (let k = 0; k < period; k++) out[i + k] = next() & 0xff;
      for (let k = period; k < len; k++) out[i + k] = out[i + k - period]!;
    } else {
      for (let k = 0; k < len; k++) out[i + k] = next() & 0xff;
    }
    i += len;
  }
  return out;
}

/** Bytes drawn mostly from E8, E9, 00 and FF: every branch of the x86 filter's bookkeeping. */
export function branchDense(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const pick = [0xe8, 0xe9, 0x00, 0xff, 0xe8, 0x00, 0xff];
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = r % 5 === 0 ? (r >>> 8) & 0xff : pick[(r >>> 3) % pick.length]!;
  }
  return out;
}

/** A slice of the running node binary: real x86-64 machine code. */
export function hostCode(n: number, offset = 4 << 20): Uint8Array {
  const out = new Uint8Array(n);
  const fd = openSync(process.execPath, 'r');
  try {
    const got = readSync(fd, out, 0, n, offset);
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
