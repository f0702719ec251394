/**
 * The power operations on a VM: start (fresh or from saved state), stop (ACPI power button, then
 * turn off after a timeout), turn off, restart, pause, resume and save. Each claims the VM (409 if
 * its state or another operation forbids it), drives the worker, and answers once the VM's state
 * is settled, so a client sees the result of what it asked.
 */
import { rmSync } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import type { VmRecord } from '../inventory/vm-record.js';
import type { WorkerEnd, WorkerHandle } from '../workers/worker-handle.js';
import type { HostContext, LiveVm } from './host-context.js';
import { HostError } from './host-errors.js';
import { machineOf, workerEventsFor } from './worker-binding.js';

export const DEFAULT_STOP_TIMEOUT_S = 60;
/** How long a worker gets to end after being told to; then it is killed. */
const END_GRACE_MS = 10_000;

export class PowerOps {
  constructor(private readonly ctx: HostContext) {}

  async start(name: string): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    const l = this.ctx.claim(vm, 'start');
    try {
      return await this.startClaimed(vm, l);
    } finally {
      this.ctx.release(vm.id, 'start');
    }
  }

  async stop(name: string, timeoutSeconds = DEFAULT_STOP_TIMEOUT_S): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    const l = this.ctx.claim(vm, 'stop');
    try {
      const h = this.handleOf(vm);
      const ended = this.ctx.waitEnd(vm.id);
      this.ctx.transition(vm.id, 'stopping', null);
      try {
        await h.request('power-button');
      } catch (e) {
        if (this.ctx.workers.get(vm.id) === h) this.ctx.transition(vm.id, 'running', null);
        throw new HostError('worker-failed', `cannot stop VM '${vm.name}': ${errorMessage(e)}`);
      }
      const timer = delay(timeoutSeconds * 1000);
      const first = await Promise.race([ended.then(() => 'ended' as const), timer.promise.then(() => 'timeout' as const)]);
      timer.cancel();
      if (first === 'timeout' && this.ctx.workers.get(vm.id) === h) {
        l.offReason = `the guest did not shut down within ${timeoutSeconds} s after the power button; it was turned off`;
        await this.endWorker(h, l, ended);
      }
      await ended;
      return this.ctx.fresh(vm.id);
    } finally {
      this.ctx.release(vm.id, 'stop');
    }
  }

  async turnOff(name: string): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    const l = this.ctx.claim(vm, 'turn-off');
    try {
      const h = this.ctx.workers.get(vm.id);
      if (h === undefined) {
        // Inconsistent (the worker vanished unnoticed): turning off is how the user clears it.
        return this.ctx.transition(vm.id, 'off', 'turned off (no worker was attached)', () => this.ctx.inventory.setWorker(vm.id, null));
      }
      const ended = this.ctx.waitEnd(vm.id);
      l.offReason ??= 'turned off';
      await this.endWorker(h, l, ended);
      return this.ctx.fresh(vm.id);
    } finally {
      this.ctx.release(vm.id, 'turn-off');
    }
  }

  async restart(name: string): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    const l = this.ctx.claim(vm, 'restart');
    try {
      const h = this.handleOf(vm);
      const ended = this.ctx.waitEnd(vm.id);
      l.offReason = 'restarting';
      await this.endWorker(h, l, ended);
      const off = this.ctx.fresh(vm.id);
      if (off.state !== 'off') throw new HostError('worker-failed', `VM '${vm.name}' did not turn off for the restart: it is ${off.state}`);
      return await this.startClaimed(off, l);
    } finally {
      this.ctx.release(vm.id, 'restart');
    }
  }

  pause(name: string): Promise<VmRecord> {
    return this.simple(name, 'pause', 'paused');
  }

  resume(name: string): Promise<VmRecord> {
    return this.simple(name, 'resume', 'running');
  }

  async save(name: string): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    this.ctx.claim(vm, 'save');
    try {
      const h = this.handleOf(vm);
      const before = vm.state as 'running' | 'paused';
      const ended = this.ctx.waitEnd(vm.id);
      this.ctx.transition(vm.id, 'saving', null);
      try {
        await h.request('save');
      } catch (e) {
        if (this.ctx.workers.get(vm.id) === h) this.ctx.transition(vm.id, before, `saving failed: ${errorMessage(e)}`);
        throw new HostError('worker-failed', `cannot save VM '${vm.name}': ${errorMessage(e)}`);
      }
      await ended;
      return this.ctx.fresh(vm.id);
    } finally {
      this.ctx.release(vm.id, 'save');
    }
  }

  private async simple(name: string, op: 'pause' | 'resume', to: 'paused' | 'running'): Promise<VmRecord> {
    const vm = this.ctx.vmByName(name);
    this.ctx.claim(vm, op);
    try {
      const h = this.handleOf(vm);
      try {
        await h.request(op);
      } catch (e) {
        throw new HostError('worker-failed', `cannot ${op} VM '${vm.name}': ${errorMessage(e)}`);
      }
      return this.ctx.workers.get(vm.id) === h ? this.ctx.transition(vm.id, to, null) : this.ctx.fresh(vm.id);
    } finally {
      this.ctx.release(vm.id, op);
    }
  }

  private async startClaimed(vm: VmRecord, l: LiveVm): Promise<VmRecord> {
    const fromSaved = vm.state === 'saved';
    const files = this.ctx.workers.files(vm.id);
    this.ctx.transition(vm.id, 'starting', null);
    l.restoring = fromSaved;
    l.offReason = null;
    l.forceOff = false;
    l.console.reset();
    // Waiting starts before the worker exists: one that dies at once must not end unobserved.
    const ended = this.ctx.waitEnd(vm.id);
    let h: WorkerHandle;
    try {
      const w = await this.ctx.workers.start(machineOf(vm), workerEventsFor(this.ctx, vm.id));
      h = w.handle;
      if (this.ctx.workers.get(vm.id) === h) {
        this.ctx.inventory.setWorker(vm.id, { pid: w.pid, instance: w.instance, socket: w.socket, startedAt: new Date().toISOString() });
      }
    } catch (e) {
      l.restoring = false;
      this.ctx.transition(vm.id, fromSaved ? 'saved' : 'failed', `the worker could not be started: ${errorMessage(e)}`);
      throw new HostError('worker-failed', `VM '${vm.name}' failed to start: ${errorMessage(e)}`);
    }
    l.console.input = (b) => h.writeConsole(b);
    try {
      await h.request('start', fromSaved ? 'saved-state' : 'boot');
    } catch (e) {
      // The worker ends itself after a failed start; answer once that has settled the state.
      await this.settle(h, ended);
      throw new HostError('worker-failed', `VM '${vm.name}' failed to start: ${errorMessage(e)}`);
    }
    l.restoring = false;
    if (fromSaved) rmSync(files.savedState, { force: true });
    if (this.ctx.workers.get(vm.id) !== h) return this.ctx.fresh(vm.id);
    return this.ctx.transition(vm.id, h.state === 'paused' ? 'paused' : 'running', null);
  }

  /** Asks the worker to turn off; kills it if it will not. Resolves when it has ended. */
  private async endWorker(h: WorkerHandle, l: LiveVm, ended: Promise<WorkerEnd>): Promise<void> {
    try {
      await h.request('turn-off');
    } catch {
      l.forceOff = true;
      h.kill();
    }
    await this.settle(h, ended);
  }

  private async settle(h: WorkerHandle, ended: Promise<WorkerEnd>): Promise<void> {
    const timer = delay(END_GRACE_MS);
    const first = await Promise.race([ended.then(() => 'ended' as const), timer.promise.then(() => 'timeout' as const)]);
    timer.cancel();
    if (first === 'timeout') {
      h.kill();
      await ended;
    }
  }

  private handleOf(vm: VmRecord): WorkerHandle {
    const h = this.ctx.workers.get(vm.id);
    if (h === undefined) throw new HostError('worker-failed', `VM '${vm.name}' is ${vm.state} but has no attached worker; turn it off`);
    return h;
  }
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let t: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((r) => { t = setTimeout(r, ms); });
  return { promise, cancel: () => clearTimeout(t) };
}
