/**
 * The guest side of the virtio tests: RAM with a bump allocator, an MMIO bus, an MSI sink that
 * records messages, an INTx line that records its level, and a loop helper that lets the event
 * loop run until asynchronous completions arrive (bounded, never timed).
 */
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { MmioBus } from '../../../src/vm/bus/mmio-bus.js';
import type { MsiTarget } from '../../../src/vm/bus/irq.js';

export const RAM_SIZE = 32 * 1024 * 1024;
export const MSI_ADDRESS = 0xfee00000;
export const MSI_DATA_BASE = 0x30;

export class FakeMsi implements MsiTarget {
  readonly messages: { address: number; data: number }[] = [];
  signalMsi(address: number, data: number): void { this.messages.push({ address, data }); }
  /** Messages with MSI-X table entry `vector` (the driver programs data = MSI_DATA_BASE + vector). */
  count(vector: number, base = MSI_DATA_BASE): number { return this.messages.filter((m) => m.data === base + vector).length; }
  clear(): void { this.messages.length = 0; }
}

export class Guest {
  readonly memory = new GuestMemory();
  readonly mmio = new MmioBus();
  readonly msi = new FakeMsi();
  private next = 0x10000;

  constructor(ramSize = RAM_SIZE) {
    this.memory.addRegion(0, ramSize);
  }

  /** Zeroed guest RAM (drivers zero their rings). */
  alloc(size: number, align = 16): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + size > this.memory.regions[0]!.size) throw new Error('test guest out of RAM');
    this.next = at + size;
    this.memory.regions[0]!.u8.fill(0, at, at + size);
    return at;
  }

  /** A new guest whose RAM is a copy of this one's (the destination of a migration). */
  clone(): Guest {
    const g = new Guest(this.memory.regions[0]!.size);
    g.memory.regions[0]!.u8.set(this.memory.regions[0]!.u8);
    g.next = this.next;
    return g;
  }

  write(addr: number, data: Uint8Array): void { this.memory.writeBytes(addr, data); }
  read(addr: number, len: number): Uint8Array { const b = new Uint8Array(len); this.memory.readBytes(addr, b); return b; }
  r16(addr: number): number { return this.memory.regions[0]!.view.getUint16(addr, true); }
  w16(addr: number, v: number): void { this.memory.regions[0]!.view.setUint16(addr, v, true); }
  r32(addr: number): number { return this.memory.read32(addr); }
  w32(addr: number, v: number): void { this.memory.write32(addr, v); }

  // ---- MMIO as a vCPU would issue it ----
  mmioRead(addr: number, size: number): number {
    const b = new Uint8Array(size);
    this.mmio.read(addr, b);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
    return v;
  }

  mmioWrite(addr: number, size: number, value: number): void {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    this.mmio.write(addr, b);
  }
}

/** Lets the event loop turn until `cond` holds; fails after `turns` turns (no wall clock). */
export async function until(cond: () => boolean, what: string, turns = 200_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A few event-loop turns, to show that something does NOT happen. */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
