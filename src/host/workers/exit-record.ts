/**
 * The worker's last word, written to its VM directory before it exits. The IPC exit notice is lost
 * when the service is down at that moment; this file is what a restarted service reads to tell a
 * guest that powered off (or was saved) from a worker that died.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { ExitOutcome } from './ipc-protocol.js';

export interface ExitRecord {
  outcome: ExitOutcome;
  reason: string | null;
  instance: string;
  at: string;
}

export function writeExitRecord(file: string, rec: ExitRecord): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** Null when absent or unreadable (an unreadable record is treated like a worker that died). */
export function readExitRecord(file: string): ExitRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const outcome = r['outcome'];
  if (outcome !== 'off' && outcome !== 'saved' && outcome !== 'failed') return null;
  if (typeof r['instance'] !== 'string' || typeof r['at'] !== 'string') return null;
  const reason = typeof r['reason'] === 'string' ? r['reason'] : null;
  return { outcome, reason, instance: r['instance'], at: r['at'] };
}

export function removeExitRecord(file: string): void {
  rmSync(file, { force: true });
}
