/** The deterministic write plan shared by the crash test and its writer process. */
import { pattern, rng } from './core-helpers.js';

export const CRASH_DISK = 16 * 1024 * 1024;
export const SLOT_SECTORS = 128;

export interface PlannedWrite {
  sector: number;
  data: Uint8Array;
}

/**
 * Writes land in distinct 64 KiB slots (so no write overwrites another) in a random order; the
 * second half of the slots lies past the initial disk size, so resize mode must grow first.
 */
export function crashPlan(seed: number): { writes: PlannedWrite[]; grownSize: number } {
  const r = rng(seed);
  const slots = (2 * CRASH_DISK) / (SLOT_SECTORS * 512);
  const order = Array.from({ length: slots }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const writes: PlannedWrite[] = [];
  for (let i = 0; i < 120; i++) {
    const sectors = 1 + Math.floor(r() * SLOT_SECTORS);
    writes.push({ sector: order[i]! * SLOT_SECTORS, data: pattern(sectors * 512, seed * 7919 + i) });
  }
  return { writes, grownSize: 2 * CRASH_DISK };
}
