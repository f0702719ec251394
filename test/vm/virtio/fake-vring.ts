/**
 * The driver half of a split virtqueue, as Linux's virtio_ring.c keeps it: a free list of
 * descriptors, a shadow available index, used-ring consumption, used_event publication (event
 * index) and the kick decision (avail_event or the used ring's NO_NOTIFY flag). Raw accessors
 * let hostile tests write whatever they like into the rings.
 */
import type { Guest } from './fake-guest.js';

export interface Buf { addr: number; len: number; write: boolean }

export function needEvent(event: number, now: number, old: number): boolean {
  return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
}

export class FakeVring {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private readonly freeList: number[] = [];
  private readonly chainLen = new Map<number, number>();
  availIdx = 0;
  lastUsed = 0;
  /** Value of avail idx at the last kick decision (Linux: num_added bookkeeping). */
  private kickedAt = 0;
  kicks = 0;

  constructor(readonly guest: Guest, readonly index: number, readonly size: number, readonly eventIdx: boolean, private readonly notify: () => void) {
    this.desc = guest.alloc(16 * size, 4096);
    this.avail = guest.alloc(6 + 2 * size, 2);
    this.used = guest.alloc(6 + 8 * size, 4);
    for (let i = size - 1; i >= 0; i--) this.freeList.push(i);
  }

  /** The same driver state, now in `guest` (whose RAM is a copy) and kicking through `notify`. */
  moveTo(guest: Guest, notify: () => void): FakeVring {
    const q = Object.create(FakeVring.prototype) as FakeVring;
    Object.assign(q, this, { guest, notify, freeList: [...this.freeList], chainLen: new Map(this.chainLen) });
    return q;
  }

  writeDesc(i: number, addr: number, len: number, flags: number, next: number, table = this.desc): void {
    const g = this.guest, o = table + 16 * i;
    g.w32(o, addr % 2 ** 32);
    g.w32(o + 4, Math.floor(addr / 2 ** 32));
    g.w32(o + 8, len);
    g.w16(o + 12, flags);
    g.w16(o + 14, next);
  }

  /** Puts `head` in the next available slot and publishes the new index. */
  pushAvail(head: number): void {
    this.guest.w16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.guest.w16(this.avail + 2, this.availIdx);
  }

  setAvailFlags(flags: number): void { this.guest.w16(this.avail, flags); }
  setUsedEvent(v: number): void { this.guest.w16(this.avail + 4 + 2 * this.size, v); }
  availEvent(): number { return this.guest.r16(this.used + 4 + 8 * this.size); }
  usedIdx(): number { return this.guest.r16(this.used + 2); }
  usedFlags(): number { return this.guest.r16(this.used); }

  /** Adds a chain (readable buffers first) directly or through an indirect table; returns the head. */
  add(bufs: Buf[], indirect = false): number {
    if (indirect) {
      const table = this.guest.alloc(16 * bufs.length, 16);
      bufs.forEach((b, i) => this.writeDesc(i, b.addr, b.len, (b.write ? 2 : 0) | (i + 1 < bufs.length ? 1 : 0), i + 1, table));
      const head = this.take();
      this.writeDesc(head, table, 16 * bufs.length, 4, 0);
      this.chainLen.set(head, 1);
      this.pushAvail(head);
      return head;
    }
    if (bufs.length > this.freeList.length) throw new Error('fake vring full');
    const ids = bufs.map(() => this.take());
    bufs.forEach((b, i) => this.writeDesc(ids[i]!, b.addr, b.len, (b.write ? 2 : 0) | (i + 1 < bufs.length ? 1 : 0), ids[i + 1] ?? 0));
    this.chainLen.set(ids[0]!, ids.length);
    this.pushAvail(ids[0]!);
    return ids[0]!;
  }

  private take(): number {
    const i = this.freeList.pop();
    if (i === undefined) throw new Error('fake vring out of descriptors');
    return i;
  }

  /** Linux's virtqueue_kick_prepare + notify: kicks only when the device asked for it. */
  kick(): boolean {
    const old = this.kickedAt, now = this.availIdx;
    this.kickedAt = now;
    const needed = this.eventIdx ? needEvent(this.availEvent(), now, old) : (this.usedFlags() & 1) === 0;
    if (needed) { this.kicks++; this.notify(); }
    return needed;
  }

  /** Unconditional notification (hostile tests, or drivers that ignore suppression). */
  forceKick(): void { this.kickedAt = this.availIdx; this.kicks++; this.notify(); }

  /** Used entries since the last call; frees their descriptors; re-arms used_event like virtqueue_enable_cb. */
  takeUsed(): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    const end = this.usedIdx();
    while (this.lastUsed !== end) {
      const o = this.used + 4 + 8 * (this.lastUsed % this.size);
      const id = this.guest.r32(o), len = this.guest.r32(o + 4);
      out.push({ id, len });
      const n = this.chainLen.get(id) ?? 0;
      this.chainLen.delete(id);
      // Descriptors of a direct chain follow their next links; free them all.
      let d = id;
      for (let k = 0; k < n; k++) { this.freeList.push(d); d = this.guest.r16(this.desc + 16 * d + 14); }
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    if (this.eventIdx) this.setUsedEvent(this.lastUsed);
    return out;
  }
}
