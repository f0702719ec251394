/**
 * How two processes meet on one Unix socket path without deciding in advance who listens
 * (decision 011): connect first; if nobody answers, listen.
 *
 * 1. connect(path). Accepted: we are the client.
 * 2. ENOENT: nobody has the path. ECONNREFUSED twice, 50 ms apart: the file is a socket nobody
 *    listens on — its process died (stale); it is removed, but only if it really is a socket.
 *    (The second look spares a peer such as QEMU that binds and listens in two steps.)
 * 3. Listen without a window: bind and listen on a private name beside the path, then link() that
 *    name to the path. link() fails with EEXIST if anyone created the path meanwhile, so the path
 *    only ever appears already accepting; on EEXIST we go back to step 1.
 *
 * Two processes that both found the same stale file can still end up each listening, the later
 * having replaced the earlier's name. The listener therefore remembers its inode and, while it
 * waits for a peer, checks that the path still names it (stream-socket-backend.ts); if not, it
 * joins again and connects to the other.
 */
import net from 'node:net';
import { promises as fsp } from 'node:fs';
import { UserError, errorMessage } from '../../common/errors.js';

export type Rendezvous =
  | { kind: 'connected'; socket: net.Socket }
  | { kind: 'listening'; server: net.Server; ino: number };

/** Linux sun_path holds 108 bytes including the terminating NUL. */
const SUN_PATH_MAX = 107;
/** How long a refusal is given to turn into a listener before the file counts as stale. */
const REFUSED_RECHECK_MS = 50;
let privateSeq = 0;

function errno(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function tryConnect(path: string): Promise<net.Socket | Error> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const failed = (e: Error): void => { s.destroy(); resolve(e); };
    s.once('error', failed);
    s.once('connect', () => {
      s.off('error', failed);
      // Until the owner attaches its own handlers an error must not be an uncaught exception.
      s.on('error', () => { /* the owner sees 'close' */ });
      resolve(s);
    });
  });
}

function listenOn(server: net.Server, path: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const failed = (e: Error): void => resolve(e);
    server.once('error', failed);
    server.listen(path, () => { server.off('error', failed); resolve(undefined); });
  });
}

async function removeStale(path: string): Promise<void> {
  let st;
  try { st = await fsp.lstat(path); } catch (e) { if (errno(e) === 'ENOENT') return; throw e; }
  if (!st.isSocket()) throw new UserError(`network socket path ${path} exists and is not a socket; remove it or choose another path`);
  try { await fsp.unlink(path); } catch (e) { if (errno(e) !== 'ENOENT') throw e; }
}

async function unlinkQuiet(path: string): Promise<void> {
  try { await fsp.unlink(path); } catch { /* already gone */ }
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Listens on `path`; 'taken' when someone else got the path first. */
async function tryListen(path: string, onConnection: (s: net.Socket) => void): Promise<{ server: net.Server; ino: number } | 'taken'> {
  const server = net.createServer(onConnection);
  const direct = Buffer.byteLength(`${path}.${process.pid}.${privateSeq}`) > SUN_PATH_MAX;
  if (direct) {
    // No room for a private name: bind the path itself (a peer could meet a brief refusal).
    const e = await listenOn(server, path);
    if (e !== undefined) {
      if (errno(e) === 'EADDRINUSE') return 'taken';
      throw new UserError(`cannot listen on network socket ${path}: ${errorMessage(e)}`);
    }
  } else {
    const temp = `${path}.${process.pid}.${privateSeq++}`;
    await unlinkQuiet(temp);
    const e = await listenOn(server, temp);
    if (e !== undefined) throw new UserError(`cannot listen on network socket ${path}: ${errorMessage(e)}`);
    try {
      await fsp.link(temp, path);
    } catch (le) {
      await closeServer(server);
      await unlinkQuiet(temp);
      if (errno(le) === 'EEXIST') return 'taken';
      throw new UserError(`cannot create network socket ${path}: ${errorMessage(le)}`);
    }
    await unlinkQuiet(temp);
  }
  server.on('error', () => { /* accept errors (EMFILE) drop that connection only */ });
  const st = await fsp.lstat(path);
  return { server, ino: st.ino };
}

/**
 * Connects to or listens on `path` by the rule above. Errors that retrying cannot fix (a
 * missing directory, no permission, a non-socket file) are UserErrors naming the path.
 */
export async function rendezvous(path: string, onConnection: (s: net.Socket) => void, attempts = 8): Promise<Rendezvous> {
  if (path.length === 0) throw new UserError('network socket path is empty');
  let refused = false;
  for (let i = 0; i < attempts; i++) {
    const c = await tryConnect(path);
    if (!(c instanceof Error)) return { kind: 'connected', socket: c };
    const code = errno(c);
    if (code === 'ECONNREFUSED' && !refused) {
      // A peer that binds and listens in two steps (QEMU) refuses for a moment: look again first.
      refused = true;
      await new Promise<void>((r) => setTimeout(r, REFUSED_RECHECK_MS));
      i--;
      continue;
    }
    if (code === 'ECONNREFUSED') await removeStale(path);
    else if (code === 'EAGAIN') continue; // a live listener with a full backlog
    else if (code !== 'ENOENT') throw new UserError(`cannot connect to network socket ${path}: ${errorMessage(c)}`);
    const l = await tryListen(path, onConnection);
    if (l !== 'taken') return { kind: 'listening', ...l };
  }
  throw new UserError(`network socket ${path}: could neither connect nor listen after ${attempts} attempts (another process keeps replacing it)`);
}

/** True while `path` still names the socket with inode `ino`. */
export async function stillOurs(path: string, ino: number): Promise<boolean> {
  try { return (await fsp.lstat(path)).ino === ino; } catch { return false; }
}

/** Closes a listener and removes its path if the path is still its own. */
export async function retireListener(path: string, server: net.Server, ino: number): Promise<void> {
  const ours = await stillOurs(path, ino);
  await closeServer(server);
  if (ours) await unlinkQuiet(path);
}
