/**
 * A Unix socket that `viridian run` listens on for the operator (the control socket, agent
 * channels). The path must be free: a file that is not a socket is never touched, and a socket
 * someone still answers on is refused (two VMs must not share a control path); a socket nobody
 * answers on is left over from a process that died and is replaced. The socket is made 0600
 * before anyone can use it — it controls the VM — and removed on close if it is still ours.
 */
import net from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { UserError, errorMessage } from '../../common/errors.js';

/** Linux sun_path holds 108 bytes including the terminating NUL. */
const SUN_PATH_MAX = 107;

function errnoOf(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Whether a process listens on the socket file `path`: only a refusal proves nobody does (EAGAIN is a live listener with a full backlog). */
type SocketState = { kind: 'live' | 'stale' | 'gone' } | { kind: 'unknown'; why: string };

function probe(path: string): Promise<SocketState> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve({ kind: 'live' }); });
    s.once('error', (e) => {
      s.destroy();
      const code = errnoOf(e);
      resolve(code === 'ECONNREFUSED' ? { kind: 'stale' } : code === 'ENOENT' ? { kind: 'gone' } : code === 'EAGAIN' ? { kind: 'live' } : { kind: 'unknown', why: errorMessage(e) });
    });
  });
}

export class UnixListener {
  private closed = false;

  private constructor(readonly path: string, private readonly server: net.Server, private readonly ino: number) {}

  /** Listens on `path` for `what` (named in errors, e.g. "--control"); each connection goes to `onConnection`. */
  static async open(what: string, path: string, onConnection: (socket: net.Socket) => void): Promise<UnixListener> {
    if (path.length === 0) throw new UserError(`${what}: the socket path is empty`);
    if (Buffer.byteLength(path) > SUN_PATH_MAX) throw new UserError(`${what}: socket path ${path} is longer than ${SUN_PATH_MAX} bytes (a Unix socket limit); use a shorter one`);
    let st;
    try { st = lstatSync(path); } catch (e) { if (errnoOf(e) !== 'ENOENT') throw new UserError(`${what}: cannot look at ${path}: ${errorMessage(e)}`); }
    if (st !== undefined) {
      if (!st.isSocket()) throw new UserError(`${what}: ${path} exists and is not a socket; remove it or choose another path`);
      const state = await probe(path);
      if (state.kind === 'live') throw new UserError(`${what}: ${path} is in use by another process`);
      if (state.kind === 'unknown') throw new UserError(`${what}: cannot check whether ${path} is in use: ${state.why}`);
      if (state.kind === 'stale') {
        try { unlinkSync(path); } catch (e) { if (errnoOf(e) !== 'ENOENT') throw new UserError(`${what}: cannot remove the stale socket ${path}: ${errorMessage(e)}`); }
      }
    }
    const server = net.createServer({ pauseOnConnect: true }, (s) => {
      // Sockets are paused until the owner has its handlers on; errors end only that connection.
      s.on('error', () => s.destroy());
      onConnection(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new UserError(`${what}: cannot listen on ${path}: ${errorMessage(e)}`)));
      // Node binds a path synchronously inside listen(): the umask keeps the file 0600 from its first moment.
      const umask = process.umask(0o177);
      try { server.listen(path, () => resolve()); } finally { process.umask(umask); }
    });
    server.on('error', () => { /* accept errors (EMFILE) drop that connection only */ });
    try {
      chmodSync(path, 0o600); // in case the bind was not synchronous after all
    } catch (e) {
      server.close();
      throw new UserError(`${what}: cannot restrict ${path} to its owner: ${errorMessage(e)}`);
    }
    return new UnixListener(path, server, lstatSync(path).ino);
  }

  /** Stops listening and removes the path if it still names this socket; open connections are the owner's to end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try { if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path); } catch { /* already gone */ }
  }
}
