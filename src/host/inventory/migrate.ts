/**
 * Brings an inventory database to the current schema. Each migration runs in its own transaction
 * together with its row in schema_migrations, so a crash leaves the database at a whole version.
 */
import { FormatError } from '../../common/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { RowReader, type SqliteDb } from './sqlite.js';

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

export function currentVersion(db: SqliteDb): number {
  const exists = db.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (exists === null) return 0;
  const row = db.get('SELECT max(version) AS v FROM schema_migrations');
  if (row === null || row['v'] === null) return 0;
  return new RowReader(db.file, 'schema_migrations').int(row, 'v');
}

export function migrate(db: SqliteDb, migrations: readonly Migration[] = MIGRATIONS): MigrationReport {
  checkOrdered(migrations);
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const from = currentVersion(db);
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  if (from > latest) {
    throw new FormatError(db.file, `inventory schema version ${from} is newer than this viridian knows (${latest}); use a newer viridian or restore a backup`);
  }
  const applied: string[] = [];
  for (const m of migrations) {
    if (m.version <= from) continue;
    db.transaction(() => {
      m.up(db);
      db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
    });
    applied.push(`${m.version}: ${m.name}`);
  }
  return { from, to: Math.max(from, latest), applied };
}

function checkOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is not dense: entry ${i} has version ${m.version}`);
  });
}
