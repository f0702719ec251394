/**
 * Port I/O dispatch. Devices claim port ranges; the guest may touch any port, so unclaimed reads
 * return all ones (as an empty ISA bus does) and unclaimed writes are dropped.
 */
export type IoSize = 1 | 2 | 4;

export interface PortIoDevice {
  ioRead(port: number, size: IoSize): number;
  ioWrite(port: number, size: IoSize, value: number): void;
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

export class PortIoBus {
  /** One slot per port (65536): a flat table keeps dispatch a single indexed load. */
  private readonly table: (PortIoDevice | undefined)[] = new Array(0x10000).fill(undefined);
  private readonly names: (string | undefined)[] = new Array(0x10000).fill(undefined);

  register(base: number, length: number, device: PortIoDevice, name: string): void {
    if (base < 0 || length <= 0 || base + length > 0x10000) throw new Error(`${name}: port range ${base.toString(16)}+${length} is outside 0..ffff`);
    for (let p = base; p < base + length; p++) {
      const owner = this.names[p];
      if (owner !== undefined) throw new Error(`${name}: port ${p.toString(16)} already belongs to ${owner}`);
    }
    for (let p = base; p < base + length; p++) { this.table[p] = device; this.names[p] = name; }
  }

  unregister(base: number, length: number): void {
    for (let p = base; p < base + length && p < 0x10000; p++) { this.table[p] = undefined; this.names[p] = undefined; }
  }

  read(port: number, size: IoSize): number {
    const dev = this.table[port & 0xffff];
    if (dev === undefined) return ALL_ONES[size];
    return dev.ioRead(port & 0xffff, size) >>> 0;
  }

  write(port: number, size: IoSize, value: number): void {
    const dev = this.table[port & 0xffff];
    if (dev !== undefined) dev.ioWrite(port & 0xffff, size, value >>> 0);
  }

  ownerOf(port: number): string | undefined { return this.names[port & 0xffff]; }
}
