/**
 * One virtio-console port as the host sees it: a byte stream to and from the guest, plus the two
 * ends' open state. The host writes with write() (bytes wait in a bounded ring until the guest
 * has the port open and receive buffers to put them in), and hears the guest through a listener:
 * data it wrote, and the port opening or closing on its side.
 *
 * Open states: `guestOpen` follows the guest (VIRTIO_CONSOLE_PORT_OPEN from the driver; a
 * console is open as soon as the driver makes it a console). `hostOpen` is the host's end and is
 * what the guest is told (a guest write on a port the host has not opened blocks in Linux);
 * consoles start host-open, named ports when the host calls connect().
 *
 * Bytes the host wrote that the guest had not read when it closed the port are discarded (Linux
 * drops them too), so a new guest session never sees an old request.
 */
import type { GuestMemory } from '../../../hv/memory/guest-memory.js';
import type { DescriptorChain } from '../descriptor-chain.js';

export interface ConsolePortListener {
  /** Bytes the guest wrote; valid only during the call. */
  data?(bytes: Uint8Array): void;
  /** The guest opened its end. */
  open?(): void;
  /** The guest closed its end (or the driver went away). */
  close?(): void;
}

/** What a port needs from its device. */
export interface ConsolePortOwner {
  /** Bytes were written: deliver what the guest can take now. */
  portHasData(port: ConsolePort): void;
  /** The host end opened or closed: tell the guest. */
  portHostOpenChanged(port: ConsolePort): void;
}

export interface ConsolePortStats { toGuest: number; fromGuest: number; discarded: number }

export class ConsolePort {
  listener: ConsolePortListener | undefined;
  /** The driver has set this port up (PORT_READY, or a console without MULTIPORT). */
  ready = false;
  guestOpen = false;
  readonly stats: ConsolePortStats = { toGuest: 0, fromGuest: 0, discarded: 0 };
  private hostEnd: boolean;
  private readonly ring: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(readonly id: number, readonly name: string | undefined, readonly isConsole: boolean, capacity: number, private readonly owner: ConsolePortOwner) {
    this.ring = new Uint8Array(capacity);
    this.hostEnd = isConsole;
  }

  get hostOpen(): boolean { return this.hostEnd; }
  /** Bytes written by the host, not yet in the guest. */
  get pendingBytes(): number { return this.count; }
  /** Room left for write(). */
  get freeBytes(): number { return this.ring.length - this.count; }

  /** Opens the host end (the guest sees PORT_OPEN 1) and sets the listener if one is given. */
  connect(listener?: ConsolePortListener): void {
    if (listener !== undefined) this.listener = listener;
    if (this.hostEnd) return;
    this.hostEnd = true;
    this.owner.portHostOpenChanged(this);
  }

  /** Closes the host end (the guest sees PORT_OPEN 0); the listener stays for the next connect(). */
  disconnect(): void {
    if (!this.hostEnd) return;
    this.hostEnd = false;
    this.owner.portHostOpenChanged(this);
  }

  /** Queues bytes for the guest; returns how many fit (the rest is the caller's to retry). */
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.ring.length - this.count);
    if (n === 0) return 0;
    const cap = this.ring.length, tail = (this.head + this.count) % cap;
    const first = Math.min(n, cap - tail);
    this.ring.set(bytes.subarray(0, first), tail);
    if (n > first) this.ring.set(bytes.subarray(first, n), 0);
    this.count += n;
    this.owner.portHasData(this);
    return n;
  }

  /** Moves pending bytes into a receive buffer's writable part; returns the bytes moved. */
  drainInto(chain: DescriptorChain, memory: GuestMemory): number {
    const n = Math.min(this.count, chain.writableBytes);
    const cap = this.ring.length;
    const first = Math.min(n, cap - this.head);
    if (first > 0) chain.writeTo(memory, 0, this.ring.subarray(this.head, this.head + first));
    if (n > first) chain.writeTo(memory, first, this.ring.subarray(0, n - first));
    this.head = (this.head + n) % cap;
    this.count -= n;
    this.stats.toGuest += n;
    return n;
  }

  /** Drops pending bytes (the guest closed the port or the device was reset). */
  discardPending(): void {
    this.stats.discarded += this.count;
    this.head = 0;
    this.count = 0;
  }

  /** Pending bytes in order (saved state). */
  pendingCopy(): Uint8Array {
    const out = new Uint8Array(this.count), cap = this.ring.length;
    const first = Math.min(this.count, cap - this.head);
    out.set(this.ring.subarray(this.head, this.head + first));
    out.set(this.ring.subarray(0, this.count - first), first);
    return out;
  }

  /** Replaces the pending bytes (restore; the caller checked they fit). */
  setPending(bytes: Uint8Array): void {
    this.ring.set(bytes);
    this.head = 0;
    this.count = bytes.length;
  }

  get capacity(): number { return this.ring.length; }

  /** The guest end changed; tells the listener. */
  setGuestOpen(open: boolean): void {
    if (open === this.guestOpen) return;
    this.guestOpen = open;
    if (open) this.listener?.open?.();
    else { this.discardPending(); this.listener?.close?.(); }
  }
}
