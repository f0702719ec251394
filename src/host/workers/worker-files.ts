/**
 * A VM's directory (`<data-dir>/vms/<id>/`, named by id so user-chosen names never reach the file
 * system) and the files in it. The worker's file-system access is limited to this directory plus
 * the VM's own kernel, initrd and disks.
 */
import { join } from 'node:path';

export interface WorkerFiles {
  dir: string;
  /** The launch description the service writes before starting the worker (WorkerLaunchFile). */
  config: string;
  socket: string;
  log: string;
  /** Written by the worker as it ends: how and why (ExitRecord). */
  exitRecord: string;
  savedState: string;
}

export function workerFiles(vmDir: string): WorkerFiles {
  return {
    dir: vmDir,
    config: join(vmDir, 'worker.json'),
    socket: join(vmDir, 'worker.sock'),
    log: join(vmDir, 'worker.log'),
    exitRecord: join(vmDir, 'exit.json'),
    savedState: join(vmDir, 'saved-state.bin'),
  };
}
