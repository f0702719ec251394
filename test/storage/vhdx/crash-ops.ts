/** The deterministic operation stream the crash test's child runs and the parent replays as its model. */
import { pattern, rng } from './fixtures.js';

export const MiB = 1024 * 1024;

export type CrashOp =
  | { kind: 'write'; sector: number; data: Uint8Array }
  | { kind: 'discard'; sector: number; count: number }
  | { kind: 'flush' }
  | { kind: 'resize'; size: number };

export interface CrashPlan {
  seed: number;
  /** Writes and discards land in [0, window) of the disk. */
  window: number;
  /** The disk grows by 1 MiB every `resizeEvery` ops up to maxSize. */
  resizeEvery: number;
  maxSize: number;
}

/** Yields ops for a disk that is `size` bytes when the stream starts. */
export function* crashOps(plan: CrashPlan, size: number): Generator<CrashOp> {
  const r = rng(plan.seed * 7919 + 1);
  for (let k = 0; ; k++) {
    const x = r();
    const sectors = Math.min(size, plan.window) / 512;
    if (k % plan.resizeEvery === plan.resizeEvery - 1 && size + MiB <= plan.maxSize) {
      size += MiB;
      yield { kind: 'resize', size };
    } else if (x < 0.12) {
      yield { kind: 'flush' };
    } else if (x < 0.18) {
      const count = 1 + Math.floor(r() * 4096);
      yield { kind: 'discard', sector: Math.floor(r() * (sectors - count)), count };
    } else {
      const count = 1 + Math.floor(r() * 256);
      yield { kind: 'write', sector: Math.floor(r() * (sectors - count)), data: pattern(plan.seed * 100000 + k, count * 512) };
    }
  }
}
