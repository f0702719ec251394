/**
 * The service's set of VM workers: starts them (launch, connect, verify), re-attaches to the ones a
 * previous service instance left running, and lets go of them all on service shutdown without
 * stopping them. What a worker's end means for its VM is the lifecycle layer's business.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readExitRecord } from './exit-record.js';
import { PROTOCOL_VERSION } from './ipc-protocol.js';
import type { RuntimeName } from './runtimes/select-runtime.js';
import { workerFiles, type WorkerFiles } from './worker-files.js';
import { WorkerHandle, workerProcessAlive, type WorkerEnd, type WorkerEvents } from './worker-handle.js';
import { launchWorker } from './worker-launcher.js';
import type { VmRuntimeConfig } from './vm-runtime.js';

export interface StartedWorker {
  handle: WorkerHandle;
  pid: number;
  instance: string;
  socket: string;
}

export interface KnownWorker {
  pid: number;
  instance: string;
}

export class WorkerManager {
  private readonly handles = new Map<string, WorkerHandle>();

  constructor(private readonly vmsDir: string, private readonly runtime: RuntimeName) {}

  files(vmId: string): WorkerFiles {
    return workerFiles(join(this.vmsDir, vmId));
  }

  get(vmId: string): WorkerHandle | undefined {
    return this.handles.get(vmId);
  }

  get size(): number {
    return this.handles.size;
  }

  entries(): IterableIterator<[string, WorkerHandle]> {
    return this.handles.entries();
  }

  /** Launches a worker for the VM and connects to it; the worker is created but not started. */
  async start(machine: Omit<VmRuntimeConfig, 'vmDir'>, events: WorkerEvents): Promise<StartedWorker> {
    const files = this.files(machine.vmId);
    const instance = randomBytes(12).toString('hex');
    const launched = await launchWorker(files, { protocol: PROTOCOL_VERSION, instance, machine: { ...machine, vmDir: files.dir } }, this.runtime);
    try {
      const handle = await WorkerHandle.connect(files, { vmId: machine.vmId, instance, pid: launched.pid }, this.track(machine.vmId, events), launched.child);
      this.handles.set(machine.vmId, handle);
      return { handle, pid: launched.pid, instance, socket: files.socket };
    } catch (e) {
      launched.child.kill('SIGKILL');
      throw e;
    }
  }

  /**
   * Re-attaches to a worker a previous service left running. Returns its handle, or how it ended
   * while no service was watching (its exit record, or failed when it left none).
   */
  async reattach(vmId: string, known: KnownWorker, events: WorkerEvents): Promise<WorkerHandle | WorkerEnd> {
    const files = this.files(vmId);
    try {
      const handle = await WorkerHandle.connect(files, { vmId, instance: known.instance, pid: known.pid }, this.track(vmId, events));
      this.handles.set(vmId, handle);
      return handle;
    } catch (e) {
      const rec = readExitRecord(files.exitRecord);
      if (rec !== null && rec.instance === known.instance) return { outcome: rec.outcome, reason: rec.reason };
      // A worker that is alive but does not answer as itself cannot be trusted with the VM.
      if (workerProcessAlive(known.pid, files.dir)) {
        try { process.kill(known.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
        return { outcome: 'failed', reason: `worker process ${known.pid} did not answer on re-attach (${(e as Error).message}); it was killed` };
      }
      return { outcome: 'failed', reason: `worker process ${known.pid} ended while the service was not running and left no exit record` };
    }
  }

  detachAll(): void {
    for (const h of this.handles.values()) h.detach();
    this.handles.clear();
  }

  private track(vmId: string, events: WorkerEvents): WorkerEvents {
    return {
      onState: (s) => events.onState(s),
      onConsole: (b) => events.onConsole(b),
      onEnd: (end) => {
        this.handles.delete(vmId);
        events.onEnd(end);
      },
    };
  }
}
