/**
 * Device DMA into guest RAM (design rule 4): the checks a device makes before touching memory on
 * the guest's say-so — a buffer must lie entirely in RAM (never MMIO, never past the end),
 * possibly across adjacent regions; ring structures inside one region so they can be read
 * through that region's views — and the copies themselves, which go straight to the region
 * arrays (no per-call views when a buffer sits in one region) and mark every page written dirty.
 */
import { PAGE_SIZE, type GuestMemory } from '../../hv/memory/guest-memory.js';

/** True when [addr, addr+len) is all RAM. `len` 0 is always true. */
export function isGuestRam(memory: GuestMemory, addr: number, len: number): boolean {
  if (len === 0) return true;
  if (!(addr >= 0) || addr + len > Number.MAX_SAFE_INTEGER) return false;
  let a = addr, left = len;
  while (left > 0) {
    const i = memory.regionIndex(a);
    if (i < 0) return false;
    const r = memory.regions[i]!;
    const n = Math.min(left, r.end - a);
    a += n;
    left -= n;
  }
  return true;
}

/** Index of the one region holding all of [addr, addr+len), or -1. */
export function regionHolding(memory: GuestMemory, addr: number, len: number): number {
  if (!(addr >= 0) || addr + len > Number.MAX_SAFE_INTEGER) return -1;
  const i = memory.regionIndex(addr);
  if (i < 0 || addr + len > memory.regions[i]!.end) return -1;
  return i;
}

export function hex(n: number): string { return '0x' + n.toString(16); }

/** Marks the pages of [off, off+len) in region `region` dirty (migration, code invalidation). */
export function markDirtyRange(memory: GuestMemory, region: number, off: number, len: number): void {
  if (len <= 0) return;
  const last = Math.floor((off + len - 1) / PAGE_SIZE);
  for (let p = Math.floor(off / PAGE_SIZE); p <= last; p++) memory.markDirty(region, p * PAGE_SIZE);
}

/** Copies `data` to guest RAM at `addr`, which the caller checked with isGuestRam. */
export function copyToGuest(memory: GuestMemory, addr: number, data: Uint8Array): void {
  for (let done = 0; done < data.length;) {
    const a = addr + done, i = memory.regionIndex(a);
    if (i < 0) return;
    const r = memory.regions[i]!, off = a - r.base, n = Math.min(data.length - done, r.size - off);
    r.u8.set(n === data.length ? data : data.subarray(done, done + n), off);
    markDirtyRange(memory, i, off, n);
    done += n;
  }
}

/** Copies guest RAM at `addr` (checked with isGuestRam) into `out`. */
export function copyFromGuest(memory: GuestMemory, addr: number, out: Uint8Array): void {
  for (let done = 0; done < out.length;) {
    const a = addr + done, i = memory.regionIndex(a);
    if (i < 0) return;
    const r = memory.regions[i]!, off = a - r.base, n = Math.min(out.length - done, r.size - off);
    out.set(r.u8.subarray(off, off + n), done);
    done += n;
  }
}
