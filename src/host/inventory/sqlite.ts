/**
 * A thin typed layer over SQLite (node-sqlite3-wasm: the real SQLite compiled to WebAssembly, with a
 * file-system VFS, so no native build is needed; decision 009). It owns the one connection of the
 * service, runs transactions, and turns untyped rows into checked values so that a corrupt or
 * foreign database gives a clear error instead of undefined fields further up.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import sqlite from 'node-sqlite3-wasm';
import { FormatError, errorMessage } from '../../common/errors.js';

export type SqlValue = number | string | null;
/** Positional parameters only: the WASM binding wants ':name' keys for named ones, easy to get wrong. */
export type SqlParams = ReadonlyArray<SqlValue | boolean>;
export type Row = Record<string, unknown>;

export class SqliteDb {
  private readonly db: sqlite.Database;
  private depth = 0;

  private constructor(readonly file: string, db: sqlite.Database) {
    this.db = db;
  }

  /**
   * Opens (creating if needed) the database file. The caller must hold the data directory's
   * single-service lock: the WASM VFS locks with a `<file>.lock` directory that a killed process
   * leaves behind, and with the service lock held such a directory can only be stale.
   */
  static open(file: string): SqliteDb {
    const lockDir = `${file}.lock`;
    if (existsSync(lockDir) && statSync(lockDir).isDirectory()) rmSync(lockDir, { recursive: true, force: true });
    let db: sqlite.Database;
    try {
      db = new sqlite.Database(file);
      // DELETE journal (WAL needs shared memory the WASM VFS does not provide) with full syncs:
      // an inventory write is durable when the API answers.
      db.exec('PRAGMA foreign_keys = ON; PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;');
      db.get('SELECT count(*) AS n FROM sqlite_master');
    } catch (e) {
      throw new FormatError(file, `cannot open the inventory database: ${errorMessage(e)} (is it a SQLite file?)`);
    }
    return new SqliteDb(file, db);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  run(sql: string, params: SqlParams = []): { changes: number; lastInsertRowid: number } {
    const r = this.db.run(sql, [...params]);
    return { changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) };
  }

  all(sql: string, params: SqlParams = []): Row[] {
    return this.db.all(sql, [...params]) as Row[];
  }

  get(sql: string, params: SqlParams = []): Row | null {
    return this.db.get(sql, [...params]) as Row | null;
  }

  /** Runs fn atomically; nested calls join the outer transaction. fn must be synchronous. */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) {
      this.depth++;
      try {
        return fn();
      } finally {
        this.depth--;
      }
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.depth = 1;
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    } finally {
      this.depth = 0;
    }
  }
}

/** Typed column readers: a wrong type means the file was not written by this schema. */
export class RowReader {
  constructor(private readonly file: string, private readonly table: string) {}

  str(row: Row, col: string): string {
    const v = row[col];
    if (typeof v !== 'string') throw this.bad(col, 'text', v);
    return v;
  }

  strOrNull(row: Row, col: string): string | null {
    const v = row[col];
    if (v === null) return null;
    return this.str(row, col);
  }

  int(row: Row, col: string): number {
    const v = row[col];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw this.bad(col, 'integer', v);
    return n;
  }

  bool(row: Row, col: string): boolean {
    const n = this.int(row, col);
    if (n !== 0 && n !== 1) throw this.bad(col, '0 or 1', n);
    return n === 1;
  }

  private bad(col: string, want: string, got: unknown): FormatError {
    return new FormatError(this.file, `${this.table}.${col} holds ${typeof got} ${String(got).slice(0, 40)}, expected ${want}`);
  }
}
