/**
 * The worker's launch description, written by the service into the VM directory before it starts
 * the worker process: which VM, which identity, and the machine configuration for the runtime.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { VmRuntimeConfig } from './vm-runtime.js';

export interface WorkerLaunchFile {
  protocol: number;
  instance: string;
  machine: VmRuntimeConfig;
}

export function writeLaunchFile(file: string, launch: WorkerLaunchFile): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(launch, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

export function readLaunchFile(file: string): WorkerLaunchFile {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const bad = (what: string): Error => new Error(`${file}: ${what}`);
  if (v === null || typeof v !== 'object') throw bad('not an object');
  const o = v as Record<string, unknown>;
  if (typeof o['protocol'] !== 'number' || typeof o['instance'] !== 'string') throw bad('protocol or instance missing');
  const m = o['machine'] as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object') throw bad('machine missing');
  for (const k of ['vmId', 'name', 'vmDir']) if (typeof m[k] !== 'string') throw bad(`machine.${k} must be a string`);
  for (const k of ['cpus', 'memoryMiB']) if (typeof m[k] !== 'number') throw bad(`machine.${k} must be a number`);
  if (!Array.isArray(m['disks']) || !Array.isArray(m['nics']) || m['boot'] === null || typeof m['boot'] !== 'object') throw bad('machine devices missing');
  return v as WorkerLaunchFile;
}
