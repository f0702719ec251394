/**
 * In-process network backends: a loopback (every frame sent comes back in) and a pair of NICs
 * joined by a virtual cable (two VMs in one process, and tests). Frames travel asynchronously,
 * one batch per flush(), like a real wire: the sender's send() never re-enters its own device.
 *
 * `capacity` bounds the frames in flight toward the peer; at the bound the backend reports itself
 * congested until the batch is delivered. `hold` keeps batches back until release() (tests use
 * it to see congestion). setLink() pulls and re-plugs the cable.
 */
import { emptyBackendStats, MAX_FRAME, MIN_FRAME, type NetBackend, type NetFrameSink } from './net-backend.js';

export interface MemoryBackendOptions {
  /** Frames queued toward the peer before the backend reports congestion; default 256. */
  capacity?: number;
}

export class MemoryNetBackend implements NetBackend {
  readonly stats = emptyBackendStats();
  /** Hold delivered batches until release() (tests). */
  hold = false;
  private peer: MemoryNetBackend | undefined;
  private sink: NetFrameSink | undefined;
  private plugged = true;
  private closed = false;
  private readonly capacity: number;
  /** Frames sent, not yet flushed into flight. */
  private outbox: Uint8Array[] = [];
  /** Frames flushed, on their way to the peer. */
  private inFlight: Uint8Array[] = [];
  private scheduled = false;
  private wasCongested = false;

  constructor(o: MemoryBackendOptions = {}) {
    const c = o.capacity ?? 256;
    if (!Number.isInteger(c) || c < 1) throw new RangeError(`memory backend capacity ${c} must be a positive integer`);
    this.capacity = c;
  }

  /** A backend whose frames come straight back to its own sink. */
  static loopback(o?: MemoryBackendOptions): MemoryNetBackend {
    const b = new MemoryNetBackend(o);
    b.peer = b;
    return b;
  }

  /** Two backends joined by a cable. */
  static pair(o?: MemoryBackendOptions): [MemoryNetBackend, MemoryNetBackend] {
    const a = new MemoryNetBackend(o), b = new MemoryNetBackend(o);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get linkUp(): boolean { return this.plugged && !this.closed && this.peer !== undefined && !this.peer.closed && this.peer.plugged; }
  get congested(): boolean { return this.outbox.length + this.inFlight.length >= this.capacity; }

  attach(sink: NetFrameSink | undefined): void { this.sink = sink; }

  /** Unplugs (false) or re-plugs (true) this end; both ends see the link change. */
  setLink(up: boolean): void {
    const before = this.linkUp, peerBefore = this.peer?.linkUp ?? false;
    this.plugged = up;
    if (this.linkUp !== before) this.sink?.linkChanged(this.linkUp);
    const p = this.peer;
    if (p !== undefined && p !== this && p.linkUp !== peerBefore) p.sink?.linkChanged(p.linkUp);
  }

  send(frame: Uint8Array): void {
    if (frame.length < MIN_FRAME || frame.length > MAX_FRAME) { this.stats.txDroppedInvalid++; return; }
    if (!this.linkUp) { this.stats.txDroppedNoLink++; return; }
    this.outbox.push(frame.slice());
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    if (this.congested) this.wasCongested = true;
  }

  flush(): void {
    if (this.outbox.length === 0) return;
    for (const f of this.outbox) this.inFlight.push(f);
    this.outbox = [];
    this.schedule();
  }

  /** Delivers batches held back by `hold`. */
  release(): void { this.hold = false; this.schedule(); }

  private schedule(): void {
    if (this.scheduled || this.hold) return;
    this.scheduled = true;
    setImmediate(() => { this.scheduled = false; this.deliver(); });
  }

  private deliver(): void {
    if (this.hold) return;
    const frames = this.inFlight;
    this.inFlight = [];
    const p = this.peer;
    if (p !== undefined && this.linkUp) {
      for (const f of frames) {
        p.stats.rxFrames++;
        p.stats.rxBytes += f.length;
        p.sink?.receiveFrame(f);
      }
    }
    if (this.wasCongested && !this.congested) { this.wasCongested = false; this.sink?.writable(); }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const before = this.linkUp, peerBefore = this.peer?.linkUp ?? false;
    this.closed = true;
    this.outbox = [];
    this.inFlight = [];
    if (before) this.sink?.linkChanged(false);
    const p = this.peer;
    if (p !== undefined && p !== this && peerBefore) p.sink?.linkChanged(false);
  }
}
