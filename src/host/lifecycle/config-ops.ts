/**
 * Creating, reading, changing and deleting VM definitions. Names, notes and renames are allowed
 * in any state; hardware changes only while the VM is off (or failed). Deleting removes the VM's
 * directory and, when asked, its disk files, after the inventory row is gone.
 */
import { randomUUID } from 'node:crypto';
import { lstatSync, rmSync, unlinkSync } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import { InventoryConflict } from '../inventory/inventory.js';
import type { EventRecord, VmConfig, VmRecord } from '../inventory/vm-record.js';
import type { VmConfigInput, VmConfigPatch } from './config-rules.js';
import type { HostContext } from './host-context.js';
import { HostError } from './host-errors.js';

export interface DeleteResult {
  id: string;
  name: string;
  deletedDisks: string[];
  diskErrors: string[];
}

const HARDWARE: ReadonlyArray<keyof VmConfigPatch> = ['cpus', 'memoryMiB', 'boot', 'disks', 'nics'];

export class ConfigOps {
  constructor(private readonly ctx: HostContext) {}

  list(): VmRecord[] {
    return this.ctx.inventory.listVms();
  }

  get(name: string): VmRecord {
    return this.ctx.vmByName(name);
  }

  create(input: VmConfigInput): VmRecord {
    const config = this.ctx.rules.forCreate(input);
    const id = randomUUID();
    const [vm, ev] = this.write(() => {
      const created = this.ctx.inventory.insertVm(id, config, 'off');
      return [created, [this.ctx.events.record('vm.created', created, { config })]];
    });
    this.ctx.events.publish(...ev);
    return vm;
  }

  update(name: string, patch: VmConfigPatch): VmRecord {
    const vm = this.ctx.vmByName(name);
    const hardware = HARDWARE.filter((k) => patch[k] !== undefined);
    if (hardware.length > 0) {
      // Claimed and released synchronously: no await in between, so no other request interleaves.
      this.ctx.claim(vm, 'reconfigure');
      this.ctx.release(vm.id, 'reconfigure');
    }
    const next = this.ctx.rules.forUpdate(vm, patch);
    const changed = (Object.keys(next) as Array<keyof VmConfig>).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(vm[k]));
    if (changed.length === 0) return vm;
    const [updated, ev] = this.write(() => {
      const u = this.ctx.inventory.updateConfig(vm.id, next);
      const events: EventRecord[] = [];
      if (next.name !== vm.name) events.push(this.ctx.events.record('vm.renamed', u, { from: vm.name, to: next.name }));
      events.push(this.ctx.events.record('vm.updated', u, { changed }));
      return [u, events];
    });
    this.ctx.events.publish(...ev);
    return updated;
  }

  delete(name: string, withDisks: boolean): DeleteResult {
    const vm = this.ctx.vmByName(name);
    this.ctx.claim(vm, 'delete');
    try {
      const [, ev] = this.write(() => {
        this.ctx.inventory.deleteVm(vm.id);
        return [null, [this.ctx.events.record('vm.deleted', vm, { withDisks })]];
      });
      this.ctx.events.publish(...ev);
    } finally {
      this.ctx.release(vm.id, 'delete');
    }
    this.ctx.forget(vm.id);
    rmSync(this.ctx.workers.files(vm.id).dir, { recursive: true, force: true });
    const result: DeleteResult = { id: vm.id, name: vm.name, deletedDisks: [], diskErrors: [] };
    if (withDisks) {
      for (const d of vm.disks) {
        try {
          // Stored paths are canonical; a symlink there now was put in place since: leave it.
          if (!lstatSync(d.path).isFile()) throw new Error('no longer a regular file; left in place');
          unlinkSync(d.path);
          result.deletedDisks.push(d.path);
        } catch (e) {
          result.diskErrors.push(`${d.path}: ${errorMessage(e)}`);
        }
      }
    }
    return result;
  }

  /** Runs an inventory change, turning uniqueness conflicts into 409s naming the field. */
  private write<T>(fn: () => [T, EventRecord[]]): [T, EventRecord[]] {
    try {
      return this.ctx.inventory.transaction(fn);
    } catch (e) {
      if (e instanceof InventoryConflict) throw new HostError('conflict', e.message, e.field, e.message);
      throw e;
    }
  }
}
