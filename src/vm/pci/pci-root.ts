/**
 * The PCI hierarchy's configuration-space map: which function answers at bus/device/function.
 * Both configuration mechanisms (ports 0xCF8/0xCFC and ECAM) route here. Absent functions read
 * all ones, which is how software detects an empty slot.
 */
import type { PciFunction } from './pci-function.js';
import type { PciIntxRouter } from './pci-intx.js';

export class PciRoot {
  private readonly functions = new Map<number, PciFunction>();

  constructor(private readonly intx?: PciIntxRouter) {}

  static bdf(bus: number, device: number, fn: number): number { return (bus << 8) | (device << 3) | fn; }

  add(bus: number, device: number, fn: number, func: PciFunction): void {
    if (!Number.isInteger(bus) || bus < 0 || bus > 255 || !Number.isInteger(device) || device < 0 || device > 31 || !Number.isInteger(fn) || fn < 0 || fn > 7) {
      throw new RangeError(`${func.name}: PCI address ${bus}:${device}.${fn} is out of range (bus 0..255, device 0..31, function 0..7)`);
    }
    const key = PciRoot.bdf(bus, device, fn);
    const other = this.functions.get(key);
    if (other !== undefined) throw new RangeError(`${func.name}: PCI address ${bus}:${device}.${fn} is taken by ${other.name}`);
    this.functions.set(key, func);
    // Software scans functions 1..7 only when function 0 says it is multi-function (header type bit 7).
    const f0 = this.functions.get(PciRoot.bdf(bus, device, 0));
    if (f0 !== undefined && (fn !== 0 || this.hasSiblings(bus, device))) f0.config[0x0e]! |= 0x80;
    if (bus === 0) this.intx?.connect(device, func);
  }

  private hasSiblings(bus: number, device: number): boolean {
    for (let f = 1; f < 8; f++) if (this.functions.has(PciRoot.bdf(bus, device, f))) return true;
    return false;
  }

  get(bdf: number): PciFunction | undefined { return this.functions.get(bdf); }

  list(): { bdf: number; fn: PciFunction }[] {
    return [...this.functions.entries()].sort((a, b) => a[0] - b[0]).map(([bdf, fn]) => ({ bdf, fn }));
  }

  readConfig(bdf: number, offset: number, size: number): number {
    const f = this.functions.get(bdf);
    if (f === undefined) return size === 4 ? 0xffffffff : (2 ** (8 * size)) - 1;
    return f.readConfig(offset, size);
  }

  writeConfig(bdf: number, offset: number, size: number, value: number): void {
    this.functions.get(bdf)?.writeConfig(offset, size, value);
  }
}
