/**
 * A split virtqueue (virtio 1.2, 2.7): descriptor table, available ring (driver area) and used
 * ring (device area) in guest RAM. The transport programs the size and addresses; devices pop
 * descriptor chains and push used entries.
 *
 * Everything read from the rings is hostile (design rule 4). A descriptor loop, a chain longer
 * than the queue, a bad or nested indirect table, a buffer outside RAM, a readable buffer after a
 * writable one, an available index that jumps by more than the queue size, or a head handed out
 * twice: each calls owner.fail(), which puts the whole device into DEVICE_NEEDS_RESET. Nothing
 * is thrown and nothing outside guest RAM is touched.
 *
 * Hot path: the rings are read through the RAM region's own views resolved when the queue is
 * enabled; walking a chain allocates nothing (visit stamps and DescriptorChain arrays are reused).
 * Ring indices are read and published with Atomics so vCPUs on other threads see ordered updates.
 */
import type { GuestMemory, RamRegion } from '../../hv/memory/guest-memory.js';
import { AVAIL_F_NO_INTERRUPT, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, NO_VECTOR } from './virtio-constants.js';
import { DescriptorChain } from './descriptor-chain.js';
import { hex, isGuestRam, regionHolding } from './guest-ram.js';
import { QueueRings, resolveRings } from './queue-rings.js';

export interface VirtqueueOwner {
  readonly memory: GuestMemory;
  /** False once the device is reset, failed or not yet DRIVER_OK: nothing may be consumed. */
  readonly live: boolean;
  fail(reason: string): void;
  signalQueue(index: number): void;
}

const TWO_POW_32 = 4294967296;

export class Virtqueue {
  /** Driver-programmed configuration (common configuration structure). */
  size: number;
  enabled = false;
  msixVector = NO_VECTOR;
  /** desc lo/hi, driver lo/hi, device lo/hi: 64-bit fields kept exactly as written. */
  readonly addrs = new Uint32Array(6);
  /** Negotiated ring features, set by the transport at FEATURES_OK. */
  eventIdx = false;
  indirect = false;

  lastAvailIdx = 0;
  usedIdx = 0;
  signalledUsed = 0;
  signalledValid = false;

  private rings: QueueRings | undefined;
  private readonly visited: Uint32Array;
  private readonly visitedIndirect: Uint32Array;
  private stamp = 0;
  /** 1 while the device holds the chain with this head (popped, not yet pushed). */
  private readonly inUse: Uint8Array;
  private inUseCount = 0;

  constructor(readonly index: number, readonly maxSize: number, private readonly owner: VirtqueueOwner) {
    this.size = maxSize;
    this.visited = new Uint32Array(maxSize);
    this.visitedIndirect = new Uint32Array(maxSize);
    this.inUse = new Uint8Array(maxSize);
  }

  get descAddr(): number { return this.addrs[0]! + this.addrs[1]! * TWO_POW_32; }
  get driverAddr(): number { return this.addrs[2]! + this.addrs[3]! * TWO_POW_32; }
  get deviceAddr(): number { return this.addrs[4]! + this.addrs[5]! * TWO_POW_32; }
  /** Chains popped and not yet returned. */
  get inFlight(): number { return this.inUseCount; }

  reset(): void {
    this.size = this.maxSize;
    this.enabled = false;
    this.msixVector = NO_VECTOR;
    this.addrs.fill(0);
    this.eventIdx = false;
    this.indirect = false;
    this.rings = undefined;
    this.resetProgress();
  }

  private resetProgress(): void {
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
    this.signalledUsed = 0;
    this.signalledValid = false;
    this.inUse.fill(0);
    this.inUseCount = 0;
  }

  /** queue_enable = 1: checks the programmed rings; returns why they are unusable, or undefined. */
  enable(): string | undefined {
    const r = resolveRings(this.owner.memory, this.index, this.size, this.maxSize, this.descAddr, this.driverAddr, this.deviceAddr);
    if (typeof r === 'string') return r;
    this.rings = r;
    this.resetProgress();
    this.enabled = true;
    return undefined;
  }

  /** After a restore: re-resolve the ring views without touching the ring progress. */
  reattach(): string | undefined {
    if (!this.enabled) { this.rings = undefined; return undefined; }
    const r = resolveRings(this.owner.memory, this.index, this.size, this.maxSize, this.descAddr, this.driverAddr, this.deviceAddr);
    if (typeof r === 'string') return r;
    this.rings = r;
    return undefined;
  }

  private bad(reason: string): false {
    this.owner.fail(`queue ${this.index}: ${reason}`);
    return false;
  }

  /** Entries the driver has made available that the device has not taken yet. */
  availableCount(): number {
    const r = this.rings;
    if (r === undefined) return 0;
    return (Atomics.load(r.availU16, r.availIdxAt) - this.lastAvailIdx) & 0xffff;
  }

  /**
   * Takes the next available chain into `chain`. Returns false when there is none, the device
   * is not live, or the chain was malformed (the device has then been failed).
   */
  pop(chain: DescriptorChain): boolean {
    const r = this.rings;
    if (r === undefined || !this.owner.live) return false;
    let pending = (Atomics.load(r.availU16, r.availIdxAt) - this.lastAvailIdx) & 0xffff;
    if (pending === 0 && this.eventIdx) {
      // Ask for a kick at the next entry, then look again: the driver may have added one meanwhile.
      this.publishAvailEvent(r);
      pending = (Atomics.load(r.availU16, r.availIdxAt) - this.lastAvailIdx) & 0xffff;
    }
    if (pending === 0) return false;
    if (pending > this.size) {
      return this.bad(`available index ${Atomics.load(r.availU16, r.availIdxAt)} is ${pending} entries ahead of ${this.lastAvailIdx}, more than the queue size ${this.size}`);
    }
    const head = r.availView.getUint16(r.availRingOff + 2 * (this.lastAvailIdx & (this.size - 1)), true);
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    if (this.eventIdx) this.publishAvailEvent(r);
    return this.take(head, chain);
  }

  /** Re-takes a chain the device held when its state was saved (restore re-submits it). */
  retake(head: number, chain: DescriptorChain): boolean {
    if (this.rings === undefined) return this.bad(`in-flight head ${head} restored into a disabled queue`);
    return this.take(head, chain);
  }

  private take(head: number, chain: DescriptorChain): boolean {
    if (head >= this.size) return this.bad(`head descriptor ${head} is out of range (queue size ${this.size})`);
    if (this.inUse[head] !== 0) return this.bad(`head descriptor ${head} was made available again while the device still holds it`);
    if (!this.walk(head, chain)) return false;
    this.inUse[head] = 1;
    this.inUseCount++;
    return true;
  }

  private publishAvailEvent(r: QueueRings): void {
    Atomics.store(r.usedU16, r.availEventAt, this.lastAvailIdx);
    this.owner.memory.markDirty(r.usedRegion, r.usedOff);
  }

  private nextStamp(): number {
    if (this.stamp === 0xffffffff) { this.visited.fill(0); this.visitedIndirect.fill(0); this.stamp = 0; }
    return ++this.stamp;
  }

  private walk(head: number, chain: DescriptorChain): boolean {
    const r = this.rings!;
    chain.clear(head);
    const size = this.size;
    const stamp = this.nextStamp();
    const view = r.descView;
    let idx = head, steps = 0, total = 0;
    for (;;) {
      if (this.visited[idx] === stamp) return this.bad(`descriptor chain from head ${head} loops back to descriptor ${idx}`);
      this.visited[idx] = stamp;
      steps++;
      const o = r.descOff + idx * 16;
      const addr = view.getUint32(o, true) + view.getUint32(o + 4, true) * TWO_POW_32;
      const len = view.getUint32(o + 8, true);
      const flags = view.getUint16(o + 12, true);
      if ((flags & DESC_F_INDIRECT) !== 0) return this.walkIndirect(chain, head, idx, addr, len, flags, steps, total);
      if (!this.addBuffer(chain, addr, len, (flags & DESC_F_WRITE) !== 0, idx, -1)) return false;
      total += len;
      if ((flags & DESC_F_NEXT) === 0) break;
      const from = idx;
      idx = view.getUint16(o + 14, true);
      if (idx >= size) return this.bad(`descriptor ${from} links to ${idx}, past the queue size ${size}`);
    }
    if (total > TWO_POW_32) return this.bad(`descriptor chain from head ${head} describes ${total} bytes, more than 4 GiB`);
    return true;
  }

  private walkIndirect(chain: DescriptorChain, head: number, at: number, tableAddr: number, tableLen: number, flags: number, steps: number, total: number): boolean {
    if (!this.indirect) return this.bad(`descriptor ${at} is indirect but VIRTIO_F_RING_INDIRECT_DESC was not negotiated`);
    if ((flags & DESC_F_NEXT) !== 0) return this.bad(`descriptor ${at} sets both INDIRECT and NEXT`);
    if (tableLen === 0 || tableLen % 16 !== 0) return this.bad(`indirect table at descriptor ${at} has length ${tableLen}, not a non-zero multiple of 16`);
    const n = tableLen / 16;
    if (steps - 1 + n > this.size) return this.bad(`descriptor chain from head ${head} is longer than the queue size ${this.size} (indirect table of ${n} entries)`);
    const mem = this.owner.memory;
    const ri = regionHolding(mem, tableAddr, tableLen);
    if (ri < 0) return this.bad(`indirect table ${hex(tableAddr)}+${tableLen} at descriptor ${at} is not inside one RAM region`);
    const region: RamRegion = mem.regions[ri]!;
    const view = region.view, base = tableAddr - region.base;
    const stamp = this.stamp;
    let i = 0;
    for (;;) {
      if (this.visitedIndirect[i] === stamp) return this.bad(`indirect table at descriptor ${at} loops back to entry ${i}`);
      this.visitedIndirect[i] = stamp;
      const o = base + i * 16;
      const addr = view.getUint32(o, true) + view.getUint32(o + 4, true) * TWO_POW_32;
      const len = view.getUint32(o + 8, true);
      const f = view.getUint16(o + 12, true);
      if ((f & DESC_F_INDIRECT) !== 0) return this.bad(`indirect table at descriptor ${at} holds a nested indirect descriptor (entry ${i})`);
      if (!this.addBuffer(chain, addr, len, (f & DESC_F_WRITE) !== 0, at, i)) return false;
      total += len;
      if ((f & DESC_F_NEXT) === 0) break;
      i = view.getUint16(o + 14, true);
      if (i >= n) return this.bad(`indirect table at descriptor ${at} links to entry ${i}, past its ${n} entries`);
    }
    if (total > TWO_POW_32) return this.bad(`descriptor chain from head ${head} describes ${total} bytes, more than 4 GiB`);
    return true;
  }

  private addBuffer(chain: DescriptorChain, addr: number, len: number, writable: boolean, desc: number, entry: number): boolean {
    if (len === 0) return true;
    if (!writable && chain.writableBytes > 0) return this.bad(`${where(desc, entry)} is device-readable but follows a device-writable one`);
    if (!isGuestRam(this.owner.memory, addr, len)) return this.bad(`${where(desc, entry)} buffer ${hex(addr)}+${len} is outside guest RAM`);
    chain.add(addr, len, writable);
    return true;
  }

  /** Returns a chain to the driver with `written` bytes placed in its writable buffers. */
  push(head: number, written: number): void {
    const r = this.rings;
    if (r === undefined || head >= this.size || this.inUse[head] === 0) return;
    this.inUse[head] = 0;
    this.inUseCount--;
    const slot = r.usedRingOff + 8 * (this.usedIdx & (this.size - 1));
    r.usedView.setUint32(slot, head, true);
    r.usedView.setUint32(slot + 4, written, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    Atomics.store(r.usedU16, r.usedIdxAt, this.usedIdx);
    const mem = this.owner.memory;
    mem.markDirty(r.usedRegion, slot);
    mem.markDirty(r.usedRegion, r.usedOff);
  }

  /** After one or more push(): interrupts the driver unless it suppressed the notification. */
  notifyDriver(): void {
    const r = this.rings;
    if (r === undefined) return;
    if (!this.eventIdx) {
      if ((r.availView.getUint16(r.availOff, true) & AVAIL_F_NO_INTERRUPT) !== 0) return;
      this.owner.signalQueue(this.index);
      return;
    }
    const now = this.usedIdx, before = this.signalledUsed, valid = this.signalledValid;
    this.signalledUsed = now;
    this.signalledValid = true;
    const usedEvent = Atomics.load(r.availU16, r.usedEventAt);
    // vring_need_event: did used idx move past used_event since the last notification?
    if (valid && ((now - usedEvent - 1) & 0xffff) >= ((now - before) & 0xffff)) return;
    this.owner.signalQueue(this.index);
  }
}

function where(desc: number, entry: number): string {
  return entry < 0 ? `descriptor ${desc}` : `indirect entry ${entry} of descriptor ${desc}`;
}
