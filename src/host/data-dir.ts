/**
 * The service's data directory: inventory, access token, Unix socket, one directory per VM, and the
 * lock that keeps a second service off the same directory (the inventory has one writer, and
 * workers one manager). The lock is a pid file; a stale one (its process gone) is taken over.
 */
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../common/errors.js';

export interface DataDir {
  root: string;
  inventory: string;
  token: string;
  socket: string;
  vms: string;
  lock: string;
}

/** Linux's sun_path holds 107 bytes plus the terminator. */
const MAX_SOCKET_PATH = 107;

export function defaultDataDir(): string {
  const env = process.env['VIRIDIAN_DATA_DIR'];
  if (env !== undefined && env !== '') return resolve(env);
  if (process.getuid?.() === 0) return '/var/lib/viridian';
  const xdg = process.env['XDG_DATA_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'share'), 'viridian');
}

export function dataDirLayout(dir: string): DataDir {
  const root = resolve(dir);
  return {
    root,
    inventory: join(root, 'inventory.sqlite'),
    token: join(root, 'access-token'),
    socket: join(root, 'viridian.sock'),
    vms: join(root, 'vms'),
    lock: join(root, 'service.pid'),
  };
}

export function prepareDataDir(dir: string): DataDir {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const d = dataDirLayout(realpathSync(dir));
  mkdirSync(d.vms, { recursive: true, mode: 0o700 });
  const longest = join(d.vms, '00000000-0000-0000-0000-000000000000', 'worker.sock');
  for (const p of [d.socket, longest]) {
    if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
      throw new UserError(`data directory ${d.root} is too deep: Unix socket paths in it (${p}) exceed ${MAX_SOCKET_PATH} bytes; choose a shorter --data-dir`);
    }
  }
  return d;
}

/** Takes the data directory for this process; returns the release function. */
export function lockDataDir(d: DataDir): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(d.lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(d.lock, 'utf8').trim() === String(process.pid)) rmSync(d.lock, { force: true });
        } catch {
          // Already gone.
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(d.lock, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UserError(`another viridian service (pid ${pid}) is using ${d.root}; stop it first`);
      }
      rmSync(d.lock, { force: true });
    }
  }
  throw new UserError(`cannot take the lock ${d.lock}`);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}
