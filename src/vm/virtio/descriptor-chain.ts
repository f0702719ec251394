/**
 * One request as the device sees it: the buffers of a descriptor chain, device-readable ones
 * first, then device-writable ones (the virtqueue has already checked every buffer lies in guest
 * RAM and that the order holds). Objects are reused from request to request: the arrays grow to
 * the longest chain seen and are never reallocated per descriptor.
 *
 * The copy helpers view the readable part, and separately the writable part, as one contiguous
 * byte stream, so devices never care how the driver split a request into descriptors.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import { copyFromGuest, copyToGuest } from './guest-ram.js';

export class DescriptorChain {
  /** Head descriptor index: the id reported in the used ring. */
  head = 0;
  /** Number of buffers (zero-length descriptors are dropped). */
  count = 0;
  /** Buffers [0, readable) are device-readable, [readable, count) device-writable. */
  readable = 0;
  readableBytes = 0;
  writableBytes = 0;
  addr: Float64Array;
  len: Uint32Array;

  constructor(initialCapacity = 8) {
    this.addr = new Float64Array(initialCapacity);
    this.len = new Uint32Array(initialCapacity);
  }

  clear(head: number): void {
    this.head = head;
    this.count = 0;
    this.readable = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
  }

  /** Appends a buffer; the caller guarantees readable buffers never follow writable ones. */
  add(addr: number, len: number, writable: boolean): void {
    if (this.count === this.addr.length) this.grow();
    this.addr[this.count] = addr;
    this.len[this.count] = len;
    this.count++;
    if (writable) this.writableBytes += len;
    else { this.readable++; this.readableBytes += len; }
  }

  private grow(): void {
    const addr = new Float64Array(this.addr.length * 2);
    const len = new Uint32Array(this.len.length * 2);
    addr.set(this.addr);
    len.set(this.len);
    this.addr = addr;
    this.len = len;
  }

  /** Copies readable bytes starting `offset` bytes into the readable stream; returns bytes copied. */
  readFrom(memory: GuestMemory, offset: number, out: Uint8Array): number {
    return this.transfer(memory, 0, this.readable, offset, out, false);
  }

  /** Copies `data` into the writable stream starting `offset` bytes in; returns bytes copied. */
  writeTo(memory: GuestMemory, offset: number, data: Uint8Array): number {
    return this.transfer(memory, this.readable, this.count, offset, data, true);
  }

  private transfer(memory: GuestMemory, first: number, end: number, offset: number, buf: Uint8Array, toGuest: boolean): number {
    let skip = offset, done = 0;
    for (let i = first; i < end && done < buf.length; i++) {
      const len = this.len[i]!;
      if (skip >= len) { skip -= len; continue; }
      const n = Math.min(len - skip, buf.length - done);
      const at = this.addr[i]! + skip;
      // The whole buffer in one descriptor is the common case: no view object needed then.
      const part = n === buf.length ? buf : buf.subarray(done, done + n);
      if (toGuest) copyToGuest(memory, at, part); else copyFromGuest(memory, at, part);
      done += n;
      skip = 0;
    }
    return done;
  }
}
