/**
 * Where a split virtqueue's three parts sit in guest RAM, resolved once when the queue is enabled
 * (or restored): each part must be aligned as the spec requires and lie inside one RAM region, so
 * the hot path reads it through that region's DataView and a 16-bit view for the atomic indices.
 */
import type { GuestMemory, RamRegion } from '../../hv/memory/guest-memory.js';
import { hex, regionHolding } from './guest-ram.js';

export interface QueueRings {
  descView: DataView;
  descOff: number;
  availView: DataView;
  availU16: Uint16Array;
  /** Byte offset of the available ring (its flags field) in its region. */
  availOff: number;
  availRingOff: number;
  /** Uint16 index of avail.idx and of used_event. */
  availIdxAt: number;
  usedEventAt: number;
  usedView: DataView;
  usedU16: Uint16Array;
  usedRegion: number;
  usedOff: number;
  usedRingOff: number;
  usedIdxAt: number;
  availEventAt: number;
}

const u16Views = new WeakMap<RamRegion, Uint16Array>();

function u16Of(region: RamRegion): Uint16Array {
  let v = u16Views.get(region);
  if (v === undefined) { v = new Uint16Array(region.buffer); u16Views.set(region, v); }
  return v;
}

function place(memory: GuestMemory, what: string, addr: number, len: number, align: number): { region: RamRegion; index: number; off: number } | string {
  if (addr % align !== 0) return `${what} at ${hex(addr)} is not ${align}-byte aligned`;
  const i = regionHolding(memory, addr, len);
  if (i < 0) return `${what} ${hex(addr)}+${len} is not inside one guest RAM region`;
  const region = memory.regions[i]!;
  return { region, index: i, off: addr - region.base };
}

/** The rings of a queue of `size` entries, or a sentence saying what is wrong with them. */
export function resolveRings(memory: GuestMemory, queue: number, size: number, maxSize: number, desc: number, driver: number, device: number): QueueRings | string {
  if (size < 1 || size > maxSize || (size & (size - 1)) !== 0) return `queue ${queue}: size ${size} is not a power of two in 1..${maxSize}`;
  const d = place(memory, 'descriptor table', desc, 16 * size, 16);
  if (typeof d === 'string') return `queue ${queue}: ${d}`;
  const a = place(memory, 'available ring', driver, 6 + 2 * size, 2);
  if (typeof a === 'string') return `queue ${queue}: ${a}`;
  const u = place(memory, 'used ring', device, 6 + 8 * size, 4);
  if (typeof u === 'string') return `queue ${queue}: ${u}`;
  return {
    descView: d.region.view, descOff: d.off,
    availView: a.region.view, availU16: u16Of(a.region), availOff: a.off, availRingOff: a.off + 4,
    availIdxAt: (a.off + 2) / 2, usedEventAt: (a.off + 4 + 2 * size) / 2,
    usedView: u.region.view, usedU16: u16Of(u.region), usedRegion: u.index, usedOff: u.off, usedRingOff: u.off + 4,
    usedIdxAt: (u.off + 2) / 2, availEventAt: (u.off + 4 + 8 * size) / 2,
  };
}
