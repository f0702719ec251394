/**
 * What the lifecycle operations share: the inventory, the event log, the workers, the config rules
 * and the in-memory side of each VM (the operation in progress, console hub, waiters for its
 * worker's end). State changes go through transition(), which writes the state and its event in
 * one transaction and then publishes the event.
 */
import type { Inventory } from '../inventory/inventory.js';
import type { VmRecord, VmState } from '../inventory/vm-record.js';
import type { WorkerManager } from '../workers/worker-manager.js';
import type { WorkerEnd } from '../workers/worker-handle.js';
import type { ConfigRules } from './config-rules.js';
import { ConsoleHub } from './console-hub.js';
import type { EventLog } from './event-log.js';
import { HostError } from './host-errors.js';
import { ALLOWED_IN, mayInterrupt, type VmOperation } from './vm-states.js';

export interface LiveVm {
  /** The operation in progress, or null. */
  busy: VmOperation | null;
  console: ConsoleHub;
  endWaiters: Array<(end: WorkerEnd) => void>;
  /** Set while a start restores a saved state: a failed restore keeps the VM 'saved'. */
  restoring: boolean;
  /** Reason to record when the worker ends as 'off' (e.g. a stop that timed out). */
  offReason: string | null;
  /** Set when the service killed the worker on purpose: its end means 'off', not 'failed'. */
  forceOff: boolean;
}

export class HostContext {
  private readonly live = new Map<string, LiveVm>();

  constructor(
    readonly inventory: Inventory,
    readonly events: EventLog,
    readonly workers: WorkerManager,
    readonly rules: ConfigRules,
    readonly vmsDir: string,
  ) {}

  liveOf(id: string): LiveVm {
    let l = this.live.get(id);
    if (l === undefined) {
      l = { busy: null, console: new ConsoleHub(), endWaiters: [], restoring: false, offReason: null, forceOff: false };
      this.live.set(id, l);
    }
    return l;
  }

  forget(id: string): void {
    this.live.get(id)?.console.end('the VM was deleted');
    this.live.delete(id);
  }

  vmByName(name: string): VmRecord {
    const vm = this.inventory.findVmByName(name);
    if (vm === null) throw new HostError('not-found', `no VM named '${name}'`);
    return vm;
  }

  /** Re-reads a VM after awaits (it may have been renamed, never deleted while busy). */
  fresh(id: string): VmRecord {
    const vm = this.inventory.getVm(id);
    if (vm === null) throw new HostError('not-found', `VM ${id} no longer exists`);
    return vm;
  }

  /** Checks the state and claims the VM for `op`; synchronous, so two requests cannot both pass. */
  claim(vm: VmRecord, op: VmOperation): LiveVm {
    const l = this.liveOf(vm.id);
    if (l.busy !== null && !mayInterrupt(op, l.busy)) {
      throw new HostError('busy', `VM '${vm.name}' is busy (${l.busy} in progress); try again when it is done`);
    }
    if (!ALLOWED_IN[op].includes(vm.state)) {
      throw new HostError('wrong-state', `cannot ${op} VM '${vm.name}': it is ${vm.state} (${op} needs ${ALLOWED_IN[op].join(' or ')})`);
    }
    if (l.busy === null) l.busy = op;
    return l;
  }

  release(id: string, op: VmOperation): void {
    const l = this.live.get(id);
    if (l !== undefined && l.busy === op) l.busy = null;
  }

  /** Moves the VM to a state (no-op if already there for the same reason); `also` joins the transaction. */
  transition(id: string, to: VmState, reason: string | null, also?: () => void): VmRecord {
    const events = this.inventory.transaction(() => {
      also?.();
      const vm = this.inventory.getVm(id);
      if (vm === null) return [];
      if (vm.state === to && vm.stateReason === reason) return [];
      this.inventory.setState(id, to, reason);
      return [this.events.record('vm.state', vm, { from: vm.state, to, reason })];
    });
    this.events.publish(...events);
    return this.fresh(id);
  }

  /** Resolves when the VM's current worker ends. */
  waitEnd(id: string): Promise<WorkerEnd> {
    return new Promise((resolve) => this.liveOf(id).endWaiters.push(resolve));
  }
}
