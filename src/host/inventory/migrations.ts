/**
 * The inventory schema as an ordered list of migrations. A migration is never edited once released:
 * changes are new entries. Version numbers are dense from 1; the runner (migrate.ts) refuses a
 * database whose version is newer than the last entry here.
 */
import type { SqliteDb } from './sqlite.js';

export interface Migration {
  version: number;
  name: string;
  up(db: SqliteDb): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'vms, disks, nics, workers, events',
    up(db) {
      db.exec(`
        CREATE TABLE vms (
          id               TEXT PRIMARY KEY,
          name             TEXT NOT NULL COLLATE NOCASE UNIQUE,
          cpus             INTEGER NOT NULL CHECK (cpus >= 1),
          memory_mib       INTEGER NOT NULL CHECK (memory_mib >= 1),
          boot_kernel      TEXT,
          boot_initrd      TEXT,
          boot_cmdline     TEXT NOT NULL DEFAULT '',
          notes            TEXT NOT NULL DEFAULT '',
          state            TEXT NOT NULL CHECK (state IN ('off','starting','running','paused','stopping','saving','saved','failed')),
          state_reason     TEXT,
          state_changed_at TEXT NOT NULL,
          created_at       TEXT NOT NULL,
          generation       INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE vm_disks (
          vm_id     TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
          slot      INTEGER NOT NULL,
          path      TEXT NOT NULL UNIQUE,
          read_only INTEGER NOT NULL CHECK (read_only IN (0, 1)),
          format    TEXT,
          PRIMARY KEY (vm_id, slot)
        );
        CREATE TABLE vm_nics (
          vm_id   TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
          slot    INTEGER NOT NULL,
          mac     TEXT NOT NULL UNIQUE,
          network TEXT NOT NULL,
          PRIMARY KEY (vm_id, slot)
        );
        CREATE TABLE vm_workers (
          vm_id      TEXT PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
          pid        INTEGER NOT NULL,
          instance   TEXT NOT NULL,
          socket     TEXT NOT NULL,
          started_at TEXT NOT NULL
        );
        -- No foreign key: a VM's history outlives the VM.
        CREATE TABLE events (
          id      INTEGER PRIMARY KEY AUTOINCREMENT,
          at      TEXT NOT NULL,
          vm_id   TEXT,
          vm_name TEXT,
          kind    TEXT NOT NULL,
          data    TEXT NOT NULL
        );
        CREATE INDEX events_by_vm ON events (vm_id, id);
      `);
    },
  },
];
