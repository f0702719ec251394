/**
 * MMIO dispatch for guest-physical ranges that are holes in RAM (APIC, IOAPIC, HPET, ECAM, BARs).
 * Accesses arrive as byte buffers of 1..16 bytes, so every access size takes one path. Unclaimed
 * reads return all ones; unclaimed writes are dropped.
 */
export interface MmioDevice {
  /** `offset` is relative to the start of the registered range. Fill `data` completely. */
  mmioRead(offset: number, data: Uint8Array): void;
  mmioWrite(offset: number, data: Uint8Array): void;
}

interface Range { base: number; end: number; device: MmioDevice; name: string }

export class MmioBus {
  private ranges: Range[] = [];
  private last: Range | undefined;

  register(base: number, length: number, device: MmioDevice, name: string): void {
    const end = base + length;
    for (const r of this.ranges) {
      if (base < r.end && r.base < end) throw new Error(`${name}: MMIO range ${base.toString(16)}..${end.toString(16)} overlaps ${r.name}`);
    }
    this.ranges.push({ base, end, device, name });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  unregister(base: number): void {
    this.ranges = this.ranges.filter((r) => r.base !== base);
    this.last = undefined;
  }

  find(addr: number): Range | undefined {
    const l = this.last;
    if (l !== undefined && addr >= l.base && addr < l.end) return l;
    for (const r of this.ranges) {
      if (addr >= r.base && addr < r.end) { this.last = r; return r; }
    }
    return undefined;
  }

  read(addr: number, data: Uint8Array): void {
    const r = this.find(addr);
    if (r === undefined) { data.fill(0xff); return; }
    r.device.mmioRead(addr - r.base, data);
  }

  write(addr: number, data: Uint8Array): void {
    const r = this.find(addr);
    if (r !== undefined) r.device.mmioWrite(addr - r.base, data);
  }

  list(): { base: number; length: number; name: string }[] {
    return this.ranges.map((r) => ({ base: r.base, length: r.end - r.base, name: r.name }));
  }
}
