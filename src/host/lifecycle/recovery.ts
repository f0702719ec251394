/**
 * Service start-up: re-attach to the workers a previous service instance left running, settle the
 * VMs whose workers ended meanwhile (from their exit records), and kill worker processes that no
 * VM accounts for. After this the inventory's states match the processes that exist.
 */
import { basename } from 'node:path';
import { ACTIVE_STATES } from '../inventory/vm-record.js';
import { findWorkerProcesses } from '../workers/process-scan.js';
import { WorkerHandle } from '../workers/worker-handle.js';
import type { HostContext } from './host-context.js';
import { applyEnd, workerEventsFor } from './worker-binding.js';

export interface RecoveryReport {
  reattached: string[];
  settled: string[];
  orphansKilled: number[];
}

export async function recover(ctx: HostContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { reattached: [], settled: [], orphansKilled: [] };
  await Promise.all(ctx.inventory.listVms().map(async (vm) => {
    if (!ACTIVE_STATES.includes(vm.state)) {
      if (vm.worker !== null) ctx.inventory.setWorker(vm.id, null);
      return;
    }
    if (vm.worker === null) {
      ctx.transition(vm.id, 'failed', 'the service stopped while the VM was starting, before its worker was recorded');
      report.settled.push(vm.name);
      return;
    }
    const r = await ctx.workers.reattach(vm.id, vm.worker, workerEventsFor(ctx, vm.id));
    if (!(r instanceof WorkerHandle)) {
      applyEnd(ctx, vm.id, r);
      report.settled.push(vm.name);
      return;
    }
    const l = ctx.liveOf(vm.id);
    l.console.input = (b) => r.writeConsole(b);
    report.reattached.push(vm.name);
    if (r.state === 'running' || r.state === 'paused') {
      // An operation that was under way (stop, save) lost its requester; the worker's own state
      // is the truth now, and a completion that still arrives (power-off, saved) applies as usual.
      ctx.transition(vm.id, r.state, vm.state === 'running' || vm.state === 'paused' ? vm.stateReason : `re-attached while ${vm.state}`);
    } else if (r.state === 'created' || r.state === 'starting') {
      l.forceOff = true;
      l.offReason = 'the service restarted while the VM was starting; start it again';
      r.kill();
    }
  }));
  const attached = new Set(ctx.inventory.listVms().filter((v) => v.worker !== null).map((v) => v.id));
  for (const w of findWorkerProcesses(ctx.vmsDir)) {
    if (attached.has(basename(w.vmDir))) continue;
    try {
      process.kill(w.pid, 'SIGKILL');
      report.orphansKilled.push(w.pid);
    } catch {
      // Ended on its own.
    }
  }
  return report;
}
