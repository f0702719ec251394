/**
 * The SQLite inventory on its own: migrations from an empty file, reopening without re-applying,
 * refusing a newer schema, a corrupt file, uniqueness rules, cascades and event history.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/common/errors.js';
import { Inventory, InventoryConflict } from '../../src/host/inventory/inventory.js';
import { currentVersion, migrate } from '../../src/host/inventory/migrate.js';
import { MIGRATIONS } from '../../src/host/inventory/migrations.js';
import { SqliteDb } from '../../src/host/inventory/sqlite.js';
import type { VmConfig } from '../../src/host/inventory/vm-record.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vinv-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const config = (name: string, disk: string, mac: string): VmConfig => ({
  name, cpus: 2, memoryMiB: 512, boot: { kernel: '/k', initrd: null, cmdline: 'quiet' },
  disks: [{ path: disk, readOnly: false, format: null }], nics: [{ mac, network: 'default' }], notes: '',
});

test('migrations run once from an empty file, and a newer schema is refused', (t) => {
  const file = join(dir(t), 'inv.sqlite');
  const inv = Inventory.open(file);
  assert.deepEqual(inv.migration, { from: 0, to: MIGRATIONS.length, applied: MIGRATIONS.map((m) => `${m.version}: ${m.name}`) });
  inv.close();
  const again = Inventory.open(file);
  assert.deepEqual(again.migration.applied, []);
  again.close();

  const db = SqliteDb.open(file);
  db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [MIGRATIONS.length + 1, 'from the future', 'now']);
  assert.equal(currentVersion(db), MIGRATIONS.length + 1);
  db.close();
  assert.throws(() => Inventory.open(file), (e: unknown) => e instanceof FormatError && /newer than this viridian knows/.test(e.message));
});

test('a failing migration leaves the database at the previous version', (t) => {
  const db = SqliteDb.open(join(dir(t), 'inv.sqlite'));
  const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', up: (d: SqliteDb) => { d.exec('CREATE TABLE half (x)'); d.exec('THIS IS NOT SQL'); } }];
  assert.throws(() => migrate(db, broken));
  assert.equal(currentVersion(db), MIGRATIONS.length);
  assert.equal(db.get("SELECT name FROM sqlite_master WHERE name = 'half'"), null, 'the half-done migration was rolled back');
  db.close();
});

test('a file that is not SQLite gets a clear error', (t) => {
  const file = join(dir(t), 'inv.sqlite');
  writeFileSync(file, 'this is not a database '.repeat(100));
  assert.throws(() => Inventory.open(file), (e: unknown) => e instanceof FormatError && e.message.includes(file) && /SQLite/.test(e.message));
});

test('a stale lock directory from a killed service is cleared on open', (t) => {
  const file = join(dir(t), 'inv.sqlite');
  Inventory.open(file).close();
  // What a SIGKILL mid-transaction leaves behind with the WASM VFS's directory locks.
  mkdirSync(`${file}.lock`);
  const inv = Inventory.open(file);
  inv.insertVm('00000000-0000-4000-8000-000000000001', config('a', '/d/a', '02:00:00:00:00:01'), 'off');
  assert.equal(inv.listVms().length, 1);
  inv.close();
});

test('names, disks and MACs are unique; deleting a VM cascades; events outlive it', (t) => {
  const inv = Inventory.open(join(dir(t), 'inv.sqlite'));
  t.after(() => inv.close());
  const a = inv.insertVm('00000000-0000-4000-8000-00000000000a', config('alpha', '/d/a', '02:00:00:00:00:01'), 'off');
  inv.appendEvent('vm.created', a, { x: 1 });
  assert.throws(() => inv.insertVm('00000000-0000-4000-8000-00000000000b', config('ALPHA', '/d/b', '02:00:00:00:00:02'), 'off'),
    (e: unknown) => e instanceof InventoryConflict && e.field === 'name');
  assert.throws(() => inv.insertVm('00000000-0000-4000-8000-00000000000b', config('beta', '/d/a', '02:00:00:00:00:02'), 'off'),
    (e: unknown) => e instanceof InventoryConflict && e.field === 'disks[0].path');
  assert.throws(() => inv.insertVm('00000000-0000-4000-8000-00000000000b', config('beta', '/d/b', '02:00:00:00:00:01'), 'off'),
    (e: unknown) => e instanceof InventoryConflict && e.field === 'nics[0].mac');
  assert.equal(inv.counts().vms, 1, 'refused inserts left nothing behind');

  const b = inv.updateConfig(a.id, { ...config('alpha2', '/d/a2', '02:00:00:00:00:01'), cpus: 8 });
  assert.equal(b.generation, 2);
  assert.equal(b.cpus, 8);
  assert.deepEqual(b.disks, [{ path: '/d/a2', readOnly: false, format: null }]);
  inv.setWorker(a.id, { pid: 123, instance: 'abc', socket: '/s', startedAt: 'now' });
  inv.setState(a.id, 'running', null);
  assert.equal(inv.getVm(a.id)!.worker!.pid, 123);
  assert.equal(inv.findVmByName('ALPHA2')!.id, a.id, 'names match case-insensitively');

  assert.ok(inv.deleteVm(a.id));
  assert.deepEqual(inv.counts(), { vms: 0, disks: 0, nics: 0, workers: 0, events: 1 });
  assert.equal(inv.events({ vmId: a.id })[0]!.kind, 'vm.created');
  for (let i = 0; i < 20; i++) inv.appendEvent('tick', null, { i });
  assert.equal(inv.pruneEvents(5), 16);
  assert.deepEqual(inv.events().map((e) => e.data['i']), [15, 16, 17, 18, 19]);
});
