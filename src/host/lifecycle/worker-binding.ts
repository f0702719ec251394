/**
 * What a worker's notices mean for its VM: state notices move running/paused, console bytes go to
 * the VM's console hub, and the worker's end settles the VM's state (off, saved or failed with the
 * reason) and wakes whoever waits for it.
 */
import type { WorkerEnd, WorkerEvents } from '../workers/worker-handle.js';
import type { VmRuntimeConfig } from '../workers/vm-runtime.js';
import type { VmRecord, VmState } from '../inventory/vm-record.js';
import type { HostContext } from './host-context.js';

export function workerEventsFor(ctx: HostContext, vmId: string): WorkerEvents {
  return {
    onState: (s) => {
      const vm = ctx.inventory.getVm(vmId);
      // Transitional states belong to the operation in progress, which settles them itself.
      if (vm !== null && (vm.state === 'running' || vm.state === 'paused')) ctx.transition(vmId, s, null);
    },
    onConsole: (b) => ctx.liveOf(vmId).console.output(b),
    onEnd: (end) => applyEnd(ctx, vmId, end),
  };
}

export function applyEnd(ctx: HostContext, vmId: string, end: WorkerEnd): void {
  const l = ctx.liveOf(vmId);
  let state: VmState;
  let reason: string | null;
  if (end.outcome === 'off' || (end.outcome === 'failed' && l.forceOff)) {
    state = 'off';
    reason = l.offReason ?? end.reason;
  } else if (end.outcome === 'saved') {
    state = 'saved';
    reason = null;
  } else if (l.restoring) {
    state = 'saved';
    reason = `restoring the saved state failed: ${end.reason ?? 'unknown reason'}`;
  } else {
    state = 'failed';
    reason = end.reason ?? 'the worker failed';
  }
  l.offReason = null;
  l.forceOff = false;
  l.restoring = false;
  if (ctx.inventory.getVm(vmId) !== null) ctx.transition(vmId, state, reason, () => ctx.inventory.setWorker(vmId, null));
  l.console.end(`the VM is ${state}${reason !== null ? ` (${reason})` : ''}`);
  const waiters = l.endWaiters;
  l.endWaiters = [];
  for (const w of waiters) w(end);
}

export function machineOf(vm: VmRecord): Omit<VmRuntimeConfig, 'vmDir'> {
  return { vmId: vm.id, name: vm.name, cpus: vm.cpus, memoryMiB: vm.memoryMiB, boot: vm.boot, disks: vm.disks, nics: vm.nics };
}
