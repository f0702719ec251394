/**
 * The MSI capability (PCI Local Bus 3.0 6.8.1): message address/data registers, multiple-message
 * enable, and optional per-vector masking with pending bits. The device calls notify(vector);
 * the message goes to the MsiTarget (the APIC bus) or is held pending while masked.
 */
import type { MsiTarget } from '../bus/irq.js';
import type { PciFunction } from './pci-function.js';

export const PCI_CAP_MSI = 0x05;

export interface MsiOptions {
  /** Vectors the function can use: 1, 2, 4, 8, 16 or 32. */
  vectors: number;
  is64bit?: boolean;
  perVectorMasking?: boolean;
}

export class MsiCapability {
  readonly offset: number;
  private readonly log2Vectors: number;
  private readonly is64: boolean;
  private readonly masking: boolean;

  constructor(private readonly fn: PciFunction, private readonly target: MsiTarget, o: MsiOptions) {
    const log2 = Math.log2(o.vectors);
    if (!Number.isInteger(log2) || log2 < 0 || log2 > 5) throw new RangeError(`${fn.name}: MSI vector count ${o.vectors} must be 1, 2, 4, 8, 16 or 32`);
    this.log2Vectors = log2;
    this.is64 = o.is64bit ?? true;
    this.masking = o.perVectorMasking ?? false;
    const length = 10 + (this.is64 ? 4 : 0) + (this.masking ? 10 : 0);
    this.offset = fn.addCapability(PCI_CAP_MSI, length);
    const control = (log2 << 1) | (this.is64 ? 0x80 : 0) | (this.masking ? 0x100 : 0);
    fn.setConfig(this.offset + 2, 2, control);
    fn.setWritable(this.offset + 2, 2, 0x71); // enable, multiple message enable
    fn.setWritable(this.offset + 4, 4, 0xfffffffc);
    if (this.is64) fn.setWritable(this.offset + 8, 4, 0xffffffff);
    fn.setWritable(this.dataOffset(), 2, 0xffff);
    if (this.masking) fn.setWritable(this.maskOffset(), 4, o.vectors === 32 ? 0xffffffff : (1 << o.vectors) - 1);
    fn.onConfigWrite((off, size) => { if (off < this.offset + length && off + size > this.offset) this.flushPending(); });
  }

  private dataOffset(): number { return this.offset + (this.is64 ? 0x0c : 0x08); }
  private maskOffset(): number { return this.offset + (this.is64 ? 0x10 : 0x0c); }
  private pendingOffset(): number { return this.maskOffset() + 4; }

  enabled(): boolean { return (this.fn.config[this.offset + 2]! & 1) !== 0; }

  /** Vectors the guest enabled (1 << MME, never more than the function offers). */
  enabledVectors(): number { return 1 << Math.min((this.fn.config[this.offset + 2]! >>> 4) & 7, this.log2Vectors); }

  /** Raises message `vector`; returns false when MSI is off or the vector is beyond what is enabled. */
  notify(vector = 0): boolean {
    if (!this.enabled() || vector < 0 || vector >= this.enabledVectors()) return false;
    if (this.masking && (this.fn.getConfig(this.maskOffset(), 4) & (2 ** vector)) !== 0) {
      this.fn.setConfig(this.pendingOffset(), 4, (this.fn.getConfig(this.pendingOffset(), 4) | (1 << vector)) >>> 0);
      return true;
    }
    this.send(vector);
    return true;
  }

  private send(vector: number): void {
    const lo = this.fn.getConfig(this.offset + 4, 4);
    const hi = this.is64 ? this.fn.getConfig(this.offset + 8, 4) : 0;
    // A 64-bit address with a nonzero upper half is not the APIC window: the write goes nowhere we model.
    if (hi !== 0) return;
    const n = this.enabledVectors();
    const data = (this.fn.getConfig(this.dataOffset(), 2) & ~(n - 1)) | vector;
    if (!this.fn.busMasterEnabled()) return;
    this.target.signalMsi(lo, data & 0xffff);
  }

  private flushPending(): void {
    if (!this.masking || !this.enabled()) return;
    const pending = this.fn.getConfig(this.pendingOffset(), 4);
    if (pending === 0) return;
    const mask = this.fn.getConfig(this.maskOffset(), 4);
    for (let v = 0; v < this.enabledVectors(); v++) {
      const bit = 2 ** v;
      if ((pending & bit) === 0 || (mask & bit) !== 0) continue;
      this.fn.setConfig(this.pendingOffset(), 4, (this.fn.getConfig(this.pendingOffset(), 4) & ~bit) >>> 0);
      this.send(v);
    }
  }
}
