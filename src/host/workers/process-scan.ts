/**
 * Finds worker processes of a data directory by their command line (/proc), so that the service
 * can kill workers nobody accounts for: one launched just before a service crash, before its pid
 * reached the inventory, or one whose VM record is gone. Linux only; elsewhere it finds none.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, sep } from 'node:path';

export interface FoundWorker {
  pid: number;
  vmDir: string;
}

export function findWorkerProcesses(vmsDir: string): FoundWorker[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const found: FoundWorker[] = [];
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state === 'Z' || state === 'X') continue;
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => a.endsWith(`${sep}worker-main.js`))) continue;
      const i = argv.indexOf('--vm-dir');
      const vmDir = i >= 0 ? argv[i + 1] : undefined;
      if (vmDir !== undefined && dirname(vmDir) === vmsDir) found.push({ pid: Number(p), vmDir });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
