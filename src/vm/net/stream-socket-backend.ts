/**
 * A NIC cable made of a Unix stream socket: two `viridian run` processes (or Viridian and a QEMU
 * started with `-netdev stream,addr.type=unix,addr.path=PATH`) exchange Ethernet frames, each
 * prefixed by its 4-byte big-endian length (frame-stream.ts). Whoever comes first listens, the
 * other connects (socket-rendezvous.ts); the link is up while the two are connected.
 *
 * - Peer exit: the link goes down. A listener keeps listening for the peer's return; a client
 *   joins again after `retryMs` (usually becoming the listener, since the path went away with
 *   the peer), backing off to 2 s while joins fail or connections end without a byte.
 * - One peer at a time: a listener refuses further connections while it has one.
 * - Backpressure: frames from the guest are batched per flush() into one write. When more than
 *   `highWaterBytes` wait in the socket, `congested` is set until the socket drains, and the
 *   device stops taking frames from the guest meanwhile (nothing blocks, nothing is dropped).
 * - Frames in either direction outside MIN_FRAME..MAX_FRAME are dropped and counted; the stream
 *   stays in step because lengths are read, not guessed.
 */
import type net from 'node:net';
import { errorMessage } from '../../common/errors.js';
import { FrameDecoder, FrameEncoder } from './frame-stream.js';
import { emptyBackendStats, MAX_FRAME, MIN_FRAME, type NetBackend, type NetFrameSink } from './net-backend.js';
import { rendezvous, retireListener, stillOurs } from './socket-rendezvous.js';

export interface StreamSocketOptions {
  /** The socket path both sides name. */
  path: string;
  /** Bytes waiting in the socket before the backend reports congestion; default 1 MiB. */
  highWaterBytes?: number;
  /** First delay before joining again after a failure (doubles up to 2 s); default 100 ms. */
  retryMs?: number;
  /** How often a listener without a peer checks that the path still names its socket; default 1 s. */
  watchMs?: number;
  /** Connection events and errors, one line each (for the VM's log). */
  log?: (message: string) => void;
}

export type StreamSocketState = 'joining' | 'listening' | 'connected' | 'closed';

const MAX_RETRY_MS = 2000;

export class StreamSocketBackend implements NetBackend {
  readonly path: string;
  readonly stats = emptyBackendStats();
  state: StreamSocketState = 'joining';
  /** How the current or last connection was made. */
  role: 'client' | 'server' | undefined;
  /** Connections made since start (diagnostics; a reconnect makes it 2). */
  connections = 0;
  private sink: NetFrameSink | undefined;
  private socket: net.Socket | undefined;
  private server: { server: net.Server; ino: number } | undefined;
  private blocked = false;
  private readonly encoder = new FrameEncoder();
  private readonly decoder: FrameDecoder;
  private readonly highWater: number;
  private readonly retryMs: number;
  private readonly watchMs: number;
  private readonly log: (message: string) => void;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private joining = false;

  private constructor(o: StreamSocketOptions) {
    this.path = o.path;
    this.highWater = o.highWaterBytes ?? 1 << 20;
    this.retryMs = o.retryMs ?? 100;
    this.watchMs = o.watchMs ?? 1000;
    this.retryDelay = this.retryMs;
    this.log = o.log ?? (() => { /* quiet */ });
    this.decoder = new FrameDecoder(
      (f) => { this.stats.rxFrames++; this.stats.rxBytes += f.length; this.sink?.receiveFrame(f); },
      (len) => { if (len < MIN_FRAME) this.stats.rxDroppedUndersized++; else this.stats.rxDroppedOversized++; },
    );
  }

  /**
   * Joins the path (connecting or listening) and returns the backend. Rejects with a UserError
   * when the path cannot work at all (missing directory, no permission, not a socket); later
   * failures while reconnecting are logged and retried.
   */
  static async open(o: StreamSocketOptions): Promise<StreamSocketBackend> {
    const b = new StreamSocketBackend(o);
    await b.join(true);
    return b;
  }

  get linkUp(): boolean { return this.socket !== undefined; }
  get congested(): boolean { return this.blocked; }

  attach(sink: NetFrameSink | undefined): void { this.sink = sink; }

  send(frame: Uint8Array): void {
    const n = frame.length;
    if (n < MIN_FRAME || n > MAX_FRAME) { this.stats.txDroppedInvalid++; return; }
    if (this.socket === undefined) { this.stats.txDroppedNoLink++; return; }
    if (!this.encoder.fits(n)) this.flush();
    this.encoder.append(frame);
    this.stats.txFrames++;
    this.stats.txBytes += n;
  }

  flush(): void {
    const s = this.socket;
    if (s === undefined || this.encoder.pending === 0) return;
    s.write(this.encoder.take());
    // Past the socket's own high-water mark write() returned false, so 'drain' will follow.
    if (s.writableLength >= this.highWater) this.blocked = true;
  }

  private async join(first: boolean): Promise<void> {
    if (this.joining) return;
    this.joining = true;
    this.state = 'joining';
    let r;
    try {
      r = await rendezvous(this.path, (s) => this.incoming(s));
    } catch (e) {
      if (first) { this.state = 'closed'; throw e; }
      this.log(`${this.path}: ${errorMessage(e)}; retrying`);
      this.retryLater();
      return;
    } finally {
      this.joining = false;
    }
    if (this.isClosed()) {
      if (r.kind === 'connected') r.socket.destroy(); else await retireListener(this.path, r.server, r.ino);
      return;
    }
    if (r.kind === 'connected') { this.adopt(r.socket, 'client'); return; }
    this.server = { server: r.server, ino: r.ino };
    if (this.socket === undefined) this.state = 'listening';
    this.log(`${this.path}: listening for the peer`);
    this.watch();
  }

  /** Re-reads the state after an await (close() may have run meanwhile). */
  private isClosed(): boolean { return this.state === 'closed'; }

  private retryLater(): void {
    if (this.state === 'closed' || this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(MAX_RETRY_MS, this.retryDelay * 2);
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; void this.join(false); }, delay);
    this.retryTimer.unref();
  }

  private incoming(s: net.Socket): void {
    if (this.state === 'closed' || this.socket !== undefined) {
      this.log(`${this.path}: refused another peer (one is connected)`);
      s.destroy();
      return;
    }
    this.adopt(s, 'server');
  }

  private adopt(s: net.Socket, role: 'client' | 'server'): void {
    this.socket = s;
    this.role = role;
    this.state = 'connected';
    this.connections++;
    this.blocked = false;
    this.encoder.clear();
    this.decoder.reset();
    s.on('data', (chunk: Buffer) => {
      if (this.socket !== s) return;
      // A peer that talks is a real one: the next reconnect may be quick again.
      this.retryDelay = this.retryMs;
      this.decoder.push(chunk);
    });
    s.on('drain', () => { if (this.socket === s && this.blocked) { this.blocked = false; this.sink?.writable(); } });
    s.on('error', (e) => this.log(`${this.path}: ${errorMessage(e)}`));
    s.on('close', () => this.peerGone(s));
    this.log(`${this.path}: connected (${role})`);
    this.sink?.linkChanged(true);
  }

  private peerGone(s: net.Socket): void {
    if (this.socket !== s) return;
    this.socket = undefined;
    const wasBlocked = this.blocked;
    this.blocked = false;
    this.encoder.clear();
    if (this.state === 'closed') return;
    this.log(`${this.path}: peer gone`);
    this.sink?.linkChanged(false);
    if (wasBlocked) this.sink?.writable();
    if (this.server !== undefined) { this.state = 'listening'; this.watch(); return; }
    this.state = 'joining';
    // The peer's path usually went with it: join again soon (and become the listener). The
    // delay grows while connections end without a byte, e.g. a listener refusing a third peer.
    this.retryLater();
  }

  /** While listening without a peer, make sure the path still leads here (see socket-rendezvous.ts). */
  private watch(): void {
    if (this.watchTimer !== undefined) return;
    this.watchTimer = setInterval(() => { void this.checkPath(); }, this.watchMs);
    this.watchTimer.unref();
  }

  private async checkPath(): Promise<void> {
    const l = this.server;
    if (l === undefined || this.socket !== undefined || this.watching || this.state === 'closed') return;
    this.watching = true;
    try {
      if (await stillOurs(this.path, l.ino)) return;
      if (this.server !== l || this.socket !== undefined || this.state !== 'listening') return;
      this.log(`${this.path}: the path no longer names this listener; joining again`);
      this.server = undefined;
      this.stopWatch();
      await retireListener(this.path, l.server, l.ino);
      if (this.state === 'listening') await this.join(false);
    } finally {
      this.watching = false;
    }
  }

  private stopWatch(): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.linkUp;
    this.state = 'closed';
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopWatch();
    const s = this.socket;
    this.socket = undefined;
    this.blocked = false;
    s?.destroy();
    const l = this.server;
    this.server = undefined;
    if (l !== undefined) await retireListener(this.path, l.server, l.ino);
    if (wasUp) this.sink?.linkChanged(false);
  }
}
