/**
 * The host's inventory: VM definitions, their state, their worker process and their history, kept
 * in SQLite in the data directory. Every method is synchronous and every multi-row change is one
 * transaction, so concurrent API requests (interleaved only at awaits) never see half a change.
 */
import type { DiskFormat } from '../../storage/disk-image.js';
import { ALL_FORMATS } from '../../storage/registry.js';
import { migrate, type MigrationReport } from './migrate.js';
import { RowReader, SqliteDb, type Row } from './sqlite.js';
import { isVmState, type EventRecord, type VmConfig, type VmRecord, type VmState, type WorkerInfo } from './vm-record.js';

/** A uniqueness rule the change would break; `field` names the offending input. */
function diskFormat(f: string | null): DiskFormat | null {
  if (f === null) return null;
  if (!(ALL_FORMATS as readonly string[]).includes(f)) throw new Error(`vm_disks.format '${f}' is not a known disk format`);
  return f as DiskFormat;
}

export class InventoryConflict extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'InventoryConflict';
  }
}

export interface EventQuery {
  since?: number;
  vmId?: string;
  limit?: number;
}

export class Inventory {
  readonly migration: MigrationReport;
  private readonly vmsR: RowReader;
  private readonly evR: RowReader;

  private constructor(private readonly db: SqliteDb) {
    this.migration = migrate(db);
    this.vmsR = new RowReader(db.file, 'vms');
    this.evR = new RowReader(db.file, 'events');
  }

  static open(file: string): Inventory {
    const db = SqliteDb.open(file);
    try {
      return new Inventory(db);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  listVms(): VmRecord[] {
    return this.db.all('SELECT * FROM vms ORDER BY name').map((r) => this.toVm(r));
  }

  getVm(id: string): VmRecord | null {
    const r = this.db.get('SELECT * FROM vms WHERE id = ?', [id]);
    return r === null ? null : this.toVm(r);
  }

  findVmByName(name: string): VmRecord | null {
    const r = this.db.get('SELECT * FROM vms WHERE name = ?', [name]);
    return r === null ? null : this.toVm(r);
  }

  insertVm(id: string, config: VmConfig, state: VmState): VmRecord {
    return this.transaction(() => {
      this.checkUnique(id, config);
      const now = new Date().toISOString();
      this.db.run(
        `INSERT INTO vms (id, name, cpus, memory_mib, boot_kernel, boot_initrd, boot_cmdline, notes, state, state_reason, state_changed_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
        [id, config.name, config.cpus, config.memoryMiB, config.boot.kernel, config.boot.initrd, config.boot.cmdline, config.notes, state, now, now],
      );
      this.writeDevices(id, config);
      return this.getVm(id)!;
    });
  }

  /** Replaces the whole configuration (rename included) and bumps the generation. */
  updateConfig(id: string, config: VmConfig): VmRecord {
    return this.transaction(() => {
      this.checkUnique(id, config);
      const r = this.db.run(
        `UPDATE vms SET name = ?, cpus = ?, memory_mib = ?, boot_kernel = ?, boot_initrd = ?, boot_cmdline = ?, notes = ?, generation = generation + 1
         WHERE id = ?`,
        [config.name, config.cpus, config.memoryMiB, config.boot.kernel, config.boot.initrd, config.boot.cmdline, config.notes, id],
      );
      if (r.changes !== 1) throw new Error(`VM ${id} vanished during an update`);
      this.db.run('DELETE FROM vm_disks WHERE vm_id = ?', [id]);
      this.db.run('DELETE FROM vm_nics WHERE vm_id = ?', [id]);
      this.writeDevices(id, config);
      return this.getVm(id)!;
    });
  }

  setState(id: string, state: VmState, reason: string | null): void {
    this.db.run('UPDATE vms SET state = ?, state_reason = ?, state_changed_at = ? WHERE id = ?', [state, reason, new Date().toISOString(), id]);
  }

  setWorker(id: string, w: WorkerInfo | null): void {
    this.transaction(() => {
      this.db.run('DELETE FROM vm_workers WHERE vm_id = ?', [id]);
      if (w !== null) {
        this.db.run('INSERT INTO vm_workers (vm_id, pid, instance, socket, started_at) VALUES (?, ?, ?, ?, ?)', [id, w.pid, w.instance, w.socket, w.startedAt]);
      }
    });
  }

  deleteVm(id: string): boolean {
    return this.db.run('DELETE FROM vms WHERE id = ?', [id]).changes === 1;
  }

  appendEvent(kind: string, vm: { id: string; name: string } | null, data: Record<string, unknown>): EventRecord {
    const at = new Date().toISOString();
    const r = this.db.run('INSERT INTO events (at, vm_id, vm_name, kind, data) VALUES (?, ?, ?, ?, ?)', [at, vm?.id ?? null, vm?.name ?? null, kind, JSON.stringify(data)]);
    return { id: r.lastInsertRowid, at, vmId: vm?.id ?? null, vmName: vm?.name ?? null, kind, data };
  }

  events(q: EventQuery = {}): EventRecord[] {
    const limit = Math.min(Math.max(q.limit ?? 1000, 1), 10000);
    const rows = q.vmId === undefined
      ? this.db.all('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?', [q.since ?? 0, limit])
      : this.db.all('SELECT * FROM events WHERE id > ? AND vm_id = ? ORDER BY id LIMIT ?', [q.since ?? 0, q.vmId, limit]);
    return rows.map((r) => this.toEvent(r));
  }

  /** Keeps the newest `keep` events; history is for diagnosis, not an audit log of unbounded size. */
  pruneEvents(keep: number): number {
    return this.db.run('DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?', [keep]).changes;
  }

  /** Row counts per table, for consistency checks and metrics. */
  counts(): Record<'vms' | 'disks' | 'nics' | 'workers' | 'events', number> {
    const n = (t: string): number => this.vmsR.int(this.db.get(`SELECT count(*) AS n FROM ${t}`)!, 'n');
    return { vms: n('vms'), disks: n('vm_disks'), nics: n('vm_nics'), workers: n('vm_workers'), events: n('events') };
  }

  private checkUnique(id: string, c: VmConfig): void {
    const byName = this.db.get('SELECT id FROM vms WHERE name = ? AND id <> ?', [c.name, id]);
    if (byName !== null) throw new InventoryConflict('name', `a VM named '${c.name}' already exists`);
    c.disks.forEach((d, i) => {
      const r = this.db.get('SELECT v.name AS name FROM vm_disks d JOIN vms v ON v.id = d.vm_id WHERE d.path = ? AND d.vm_id <> ?', [d.path, id]);
      if (r !== null) throw new InventoryConflict(`disks[${i}].path`, `${d.path} is already attached to VM '${this.vmsR.str(r, 'name')}'`);
    });
    c.nics.forEach((n, i) => {
      const r = this.db.get('SELECT v.name AS name FROM vm_nics n JOIN vms v ON v.id = n.vm_id WHERE n.mac = ? AND n.vm_id <> ?', [n.mac, id]);
      if (r !== null) throw new InventoryConflict(`nics[${i}].mac`, `MAC address ${n.mac} is already used by VM '${this.vmsR.str(r, 'name')}'`);
    });
  }

  private writeDevices(id: string, c: VmConfig): void {
    c.disks.forEach((d, i) => this.db.run('INSERT INTO vm_disks (vm_id, slot, path, read_only, format) VALUES (?, ?, ?, ?, ?)', [id, i, d.path, d.readOnly ? 1 : 0, d.format]));
    c.nics.forEach((n, i) => this.db.run('INSERT INTO vm_nics (vm_id, slot, mac, network) VALUES (?, ?, ?, ?)', [id, i, n.mac, n.network]));
  }

  private toVm(r: Row): VmRecord {
    const R = this.vmsR;
    const id = R.str(r, 'id');
    const state = R.str(r, 'state');
    if (!isVmState(state)) throw new Error(`${this.db.file}: vms.state '${state}' is not a known state`);
    const disks = this.db.all('SELECT * FROM vm_disks WHERE vm_id = ? ORDER BY slot', [id]).map((d) => ({ path: R.str(d, 'path'), readOnly: R.bool(d, 'read_only'), format: diskFormat(R.strOrNull(d, 'format')) }));
    const nics = this.db.all('SELECT * FROM vm_nics WHERE vm_id = ? ORDER BY slot', [id]).map((n) => ({ mac: R.str(n, 'mac'), network: R.str(n, 'network') }));
    const w = this.db.get('SELECT * FROM vm_workers WHERE vm_id = ?', [id]);
    return {
      id,
      name: R.str(r, 'name'),
      cpus: R.int(r, 'cpus'),
      memoryMiB: R.int(r, 'memory_mib'),
      boot: { kernel: R.strOrNull(r, 'boot_kernel'), initrd: R.strOrNull(r, 'boot_initrd'), cmdline: R.str(r, 'boot_cmdline') },
      disks,
      nics,
      notes: R.str(r, 'notes'),
      state,
      stateReason: R.strOrNull(r, 'state_reason'),
      stateChangedAt: R.str(r, 'state_changed_at'),
      createdAt: R.str(r, 'created_at'),
      generation: R.int(r, 'generation'),
      worker: w === null ? null : { pid: R.int(w, 'pid'), instance: R.str(w, 'instance'), socket: R.str(w, 'socket'), startedAt: R.str(w, 'started_at') },
    };
  }

  private toEvent(r: Row): EventRecord {
    const R = this.evR;
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(R.str(r, 'data'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
    } catch {
      data = { unreadable: true };
    }
    return { id: R.int(r, 'id'), at: R.str(r, 'at'), vmId: R.strOrNull(r, 'vm_id'), vmName: R.strOrNull(r, 'vm_name'), kind: R.str(r, 'kind'), data };
  }
}
