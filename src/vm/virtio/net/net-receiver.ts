/**
 * The receive side of virtio-net: frames from the backend into the guest's receive buffers.
 *
 * Buffers are taken from the receive queue only when a frame needs them, and a taken buffer the
 * current frame could not use stays held (in order) for the next one; the device never has to
 * give a buffer back unused. With VIRTIO_NET_F_MRG_RXBUF a frame spreads over as many held
 * buffers as it needs and the header's num_buffers says how many; without it the frame and its
 * header must fit one buffer (num_buffers = 1), and a frame that does not is dropped.
 *
 * A frame that finds too few buffers waits in a bounded backlog (frames and bytes) that drains
 * when the driver adds buffers; past the bound it is dropped and counted. A frame larger than
 * every buffer the ring could ever hold at once is dropped at once. Frames keep their order.
 *
 * Buffer rules checked as each is taken (a breach fails the device): receive buffers are
 * device-writable only and at least one header (12 bytes) long.
 */
import { DescriptorChain } from '../descriptor-chain.js';
import type { VirtioDeviceHost } from '../virtio-device.js';
import { HDR_NUM_BUFFERS, NET_HDR_SIZE, RX_QUEUE } from './net-config.js';

export interface NetRxStats {
  rxFrames: number;
  rxBytes: number;
  /** The backlog was full. */
  rxDroppedNoBuffers: number;
  /** Larger than the guest's buffers can take. */
  rxDroppedTooBig: number;
  /** The driver was not running (no DRIVER_OK, failed, or bus mastering off). */
  rxDroppedNotReady: number;
  /** Refused by the receive filter (destination not for this NIC). */
  rxFiltered: number;
}

const DONE = 0, WAIT = 1, DROPPED = 2;
type Outcome = typeof DONE | typeof WAIT | typeof DROPPED;

export class NetReceiver {
  readonly stats: NetRxStats = { rxFrames: 0, rxBytes: 0, rxDroppedNoBuffers: 0, rxDroppedTooBig: 0, rxDroppedNotReady: 0, rxFiltered: 0 };
  mergeable = false;
  /** Used entries were added since the driver was last notified. */
  pendingNotify = false;
  private host: VirtioDeviceHost | undefined;
  private readonly held: (DescriptorChain | undefined)[];
  private heldFirst = 0;
  private heldCount = 0;
  private heldBytes = 0;
  private readonly spare: DescriptorChain[] = [];
  private readonly backlog: (Uint8Array | undefined)[];
  private backlogFirst = 0;
  private backlogCount = 0;
  private backlogBytes = 0;
  private readonly header = new Uint8Array(NET_HDR_SIZE);

  constructor(private readonly queueMax: number, private readonly backlogFrames: number, private readonly backlogLimitBytes: number) {
    this.held = new Array<DescriptorChain | undefined>(queueMax).fill(undefined);
    this.backlog = new Array<Uint8Array | undefined>(backlogFrames).fill(undefined);
  }

  attach(host: VirtioDeviceHost): void { this.host = host; }

  /** Frames waiting for buffers. */
  get backlogged(): number { return this.backlogCount; }
  /** Receive buffers taken from the ring and not yet used. */
  get heldBuffers(): number { return this.heldCount; }

  /** A frame for the guest (the device checked it is live and the filter passed it). */
  arrive(frame: Uint8Array): void {
    if (this.backlogCount === 0 && this.deliver(frame) !== WAIT) return;
    if (this.backlogCount >= this.backlogFrames || this.backlogBytes + frame.length > this.backlogLimitBytes) {
      this.stats.rxDroppedNoBuffers++;
      return;
    }
    this.backlog[(this.backlogFirst + this.backlogCount) % this.backlogFrames] = frame.slice();
    this.backlogCount++;
    this.backlogBytes += frame.length;
    if (this.backlogCount > 1) this.drain();
  }

  /** Delivers backlogged frames while buffers last (the driver added some, or a restore). */
  drain(): void {
    while (this.backlogCount > 0) {
      const i = this.backlogFirst, f = this.backlog[i]!;
      if (this.deliver(f) === WAIT) return;
      this.backlog[i] = undefined;
      this.backlogFirst = (i + 1) % this.backlogFrames;
      this.backlogCount--;
      this.backlogBytes -= f.length;
    }
  }

  private deliver(frame: Uint8Array): Outcome {
    const h = this.host!;
    if (!h.live) { this.stats.rxDroppedNotReady++; return DROPPED; }
    const need = NET_HDR_SIZE + frame.length;
    if (!this.mergeable) {
      if (this.heldCount === 0 && !this.take(h)) return h.live ? WAIT : DROPPED;
      const c = this.held[this.heldFirst]!;
      if (c.writableBytes < need) { this.stats.rxDroppedTooBig++; return DROPPED; }
      this.fill(h, c, 1, frame, 0, frame.length);
      this.release(1);
    } else {
      while (this.heldBytes < need && this.take(h)) { /* take buffers until the frame fits */ }
      if (!h.live) return DROPPED;
      if (this.heldBytes < need) {
        if (this.heldCount >= h.queue(RX_QUEUE).size) { this.stats.rxDroppedTooBig++; return DROPPED; }
        return WAIT;
      }
      let n = 0, room = 0;
      while (room < need) room += this.held[(this.heldFirst + n++) % this.queueMax]!.writableBytes;
      let pos = 0;
      for (let k = 0; k < n; k++) {
        const c = this.held[(this.heldFirst + k) % this.queueMax]!;
        const space = k === 0 ? c.writableBytes - NET_HDR_SIZE : c.writableBytes;
        const len = Math.min(space, frame.length - pos);
        this.fill(h, c, k === 0 ? n : 0, frame, pos, len);
        pos += len;
      }
      this.release(n);
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    this.pendingNotify = true;
    return DONE;
  }

  /** Writes the header (first buffer of a frame, numBuffers > 0) and frame[pos, pos+len), then returns the buffer. */
  private fill(h: VirtioDeviceHost, c: DescriptorChain, numBuffers: number, frame: Uint8Array, pos: number, len: number): void {
    let at = 0;
    if (numBuffers > 0) {
      this.header[HDR_NUM_BUFFERS] = numBuffers & 0xff;
      this.header[HDR_NUM_BUFFERS + 1] = numBuffers >>> 8;
      c.writeTo(h.memory, 0, this.header);
      at = NET_HDR_SIZE;
    }
    if (len > 0) c.writeTo(h.memory, at, pos === 0 && len === frame.length ? frame : frame.subarray(pos, pos + len));
    h.queue(RX_QUEUE).push(c.head, at + len);
  }

  /** Takes the next available receive buffer into the held list; false when none (or it was malformed). */
  private take(h: VirtioDeviceHost): boolean {
    if (this.heldCount >= this.queueMax) return false;
    const c = this.spare.pop() ?? new DescriptorChain(4);
    if (!h.queue(RX_QUEUE).pop(c)) { this.spare.push(c); return false; }
    return this.hold(h, c);
  }

  private hold(h: VirtioDeviceHost, c: DescriptorChain): boolean {
    if (c.readable > 0) { h.fail(`queue ${RX_QUEUE}: receive buffer at head ${c.head} has a device-readable part`); this.spare.push(c); return false; }
    if (c.writableBytes < NET_HDR_SIZE) { h.fail(`queue ${RX_QUEUE}: receive buffer at head ${c.head} has ${c.writableBytes} bytes, less than the ${NET_HDR_SIZE}-byte header`); this.spare.push(c); return false; }
    this.held[(this.heldFirst + this.heldCount) % this.queueMax] = c;
    this.heldCount++;
    this.heldBytes += c.writableBytes;
    return true;
  }

  private release(n: number): void {
    for (let k = 0; k < n; k++) {
      const c = this.held[this.heldFirst]!;
      this.held[this.heldFirst] = undefined;
      this.heldFirst = (this.heldFirst + 1) % this.queueMax;
      this.heldCount--;
      this.heldBytes -= c.writableBytes;
      this.spare.push(c);
    }
  }

  /** Drops held buffers (the queue was reset with them) and the backlog. */
  reset(): void {
    while (this.heldCount > 0) {
      const c = this.held[this.heldFirst]!;
      this.held[this.heldFirst] = undefined;
      this.heldFirst = (this.heldFirst + 1) % this.queueMax;
      this.heldCount--;
      this.spare.push(c);
    }
    this.heldFirst = 0;
    this.heldBytes = 0;
    this.backlog.fill(undefined);
    this.backlogFirst = 0;
    this.backlogCount = 0;
    this.backlogBytes = 0;
    this.pendingNotify = false;
  }

  /** Heads of the held buffers, oldest first (saved state). */
  heldHeads(): Uint32Array {
    const out = new Uint32Array(this.heldCount);
    for (let k = 0; k < this.heldCount; k++) out[k] = this.held[(this.heldFirst + k) % this.queueMax]!.head;
    return out;
  }

  /** Re-takes held buffers after a restore; false if the restored rings refused one (device failed). */
  retake(heads: Uint32Array): boolean {
    const h = this.host!, vq = h.queue(RX_QUEUE);
    for (const head of heads) {
      const c = this.spare.pop() ?? new DescriptorChain(4);
      if (!vq.retake(head, c)) { this.spare.push(c); return false; }
      if (!this.hold(h, c)) return false;
    }
    return true;
  }
}
