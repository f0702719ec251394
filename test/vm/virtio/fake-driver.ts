/**
 * A test driver that brings a virtio PCI function up the way Linux's virtio_pci_modern does:
 * capability scan through configuration space, BAR sizing and placement, MSI-X table
 * programming, reset (write 0, poll for 0), ACKNOWLEDGE, DRIVER, feature negotiation over the
 * select/window registers, FEATURES_OK read back, config vector, per-queue setup (size, ring
 * addresses as two 32-bit halves, notify offset, vector with read back), queue enable, DRIVER_OK.
 */
import type { PciFunction } from '../../../src/vm/pci/pci-function.js';
import { Guest, MSI_ADDRESS, MSI_DATA_BASE } from './fake-guest.js';
import { FakeVring } from './fake-vring.js';

export const ACK = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 0x40, FAILED = 0x80;
export const F_INDIRECT = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32, F_ACCESS_PLATFORM = 33;
export const bit = (n: number): bigint => 1n << BigInt(n);

export interface VirtioCaps {
  bar: number; common: number; commonLen: number; isr: number; device: number; deviceLen: number;
  notify: number; notifyLen: number; multiplier: number; pciCfg: number;
  msixCap: number; tableSize: number; table: number; pba: number;
}

export interface InitOptions {
  /** Which offered features to accept; default: all offered. */
  accept?: (offered: bigint) => bigint;
  /** Use MSI-X (default) or INTx. */
  msix?: boolean;
  /** Ask for smaller queues. */
  queueSize?: number;
  /** Set up only the first n queues. */
  queues?: number;
}

export class FakeVirtioDriver {
  caps!: VirtioCaps;
  readonly vrings: FakeVring[] = [];
  features = 0n;
  offered = 0n;
  private notifyOff: number[] = [];

  /** `msiBase`: MSI data of table entry 0, so several devices' messages can be told apart. */
  constructor(readonly guest: Guest, readonly fn: PciFunction, readonly barAddress: number, readonly msiBase = MSI_DATA_BASE) {}

  /** This driver's state carried over to a restored function in a copied guest. */
  moveTo(guest: Guest, fn: PciFunction): FakeVirtioDriver {
    const d = new FakeVirtioDriver(guest, fn, this.barAddress, this.msiBase);
    d.caps = this.caps;
    d.features = this.features;
    d.offered = this.offered;
    d.notifyOff = [...this.notifyOff];
    this.vrings.forEach((q, i) => { d.vrings[i] = q.moveTo(guest, () => d.notify(i)); });
    return d;
  }

  cfg(off: number, size: number): number { return this.fn.readConfig(off, size); }
  setCfg(off: number, size: number, v: number): void { this.fn.writeConfig(off, size, v); }

  /** Finds the capabilities, sizes and places the BAR, enables memory decoding and bus mastering. */
  probe(): VirtioCaps {
    const found: Partial<VirtioCaps> & { types: Set<number> } = { types: new Set() };
    for (let p = this.cfg(0x34, 1), guard = 0; p !== 0 && guard < 48; p = this.cfg(p + 1, 1), guard++) {
      const id = this.cfg(p, 1);
      if (id === 0x11) {
        found.msixCap = p;
        found.tableSize = (this.cfg(p + 2, 2) & 0x7ff) + 1;
        found.table = this.cfg(p + 4, 4) & ~7;
        found.pba = this.cfg(p + 8, 4) & ~7;
        continue;
      }
      if (id !== 0x09) continue;
      const type = this.cfg(p + 3, 1), bar = this.cfg(p + 4, 1), off = this.cfg(p + 8, 4), len = this.cfg(p + 12, 4);
      if (found.types.has(type)) continue; // the first of each type is the preferred one
      found.types.add(type);
      if (type === 1) { found.bar = bar; found.common = off; found.commonLen = len; }
      if (type === 2) { found.notify = off; found.notifyLen = len; found.multiplier = this.cfg(p + 16, 4); }
      if (type === 3) found.isr = off;
      if (type === 4) { found.device = off; found.deviceLen = len; }
      if (type === 5) found.pciCfg = p;
    }
    for (const t of [1, 2, 3, 5]) if (!found.types.has(t)) throw new Error(`virtio capability type ${t} missing`);
    found.device ??= 0;
    found.deviceLen ??= 0;
    this.caps = found as VirtioCaps;
    const barReg = 0x10 + 4 * this.caps.bar;
    this.setCfg(barReg, 4, 0xffffffff);
    this.setCfg(barReg + 4, 4, 0xffffffff);
    this.setCfg(barReg, 4, this.barAddress % 2 ** 32);
    this.setCfg(barReg + 4, 4, Math.floor(this.barAddress / 2 ** 32));
    this.setCfg(0x04, 2, this.cfg(0x04, 2) | 0x6);
    return this.caps;
  }

  barSize(): number {
    const barReg = 0x10 + 4 * this.caps.bar, saved = this.cfg(barReg, 4);
    this.setCfg(barReg, 4, 0xffffffff);
    const mask = this.cfg(barReg, 4) & ~0xf;
    this.setCfg(barReg, 4, saved);
    return (~mask >>> 0) + 1;
  }

  // ---- BAR registers ----
  read(off: number, size: number): number { return this.guest.mmioRead(this.barAddress + off, size); }
  write(off: number, size: number, v: number): void { this.guest.mmioWrite(this.barAddress + off, size, v); }
  common(off: number, size: number): number { return this.read(this.caps.common + off, size); }
  setCommon(off: number, size: number, v: number): void { this.write(this.caps.common + off, size, v); }
  status(): number { return this.common(0x14, 1); }
  setStatus(v: number): void { this.setCommon(0x14, 1, v); }
  addStatus(v: number): void { this.setStatus(this.status() | v); }
  isr(): number { return this.read(this.caps.isr, 1); }

  /** Device configuration read with the config_generation retry loop. */
  deviceConfig(off: number, size: number): number {
    for (;;) {
      const before = this.common(0x15, 1);
      const v = this.read(this.caps.device + off, size);
      if (this.common(0x15, 1) === before) return v;
    }
  }

  enableMsix(): void {
    const c = this.caps.msixCap;
    this.setCfg(c + 2, 2, 0xc000); // enable + function mask while programming
    for (let i = 0; i < this.caps.tableSize; i++) {
      const e = this.caps.table + 16 * i;
      this.write(e, 4, MSI_ADDRESS);
      this.write(e + 4, 4, 0);
      this.write(e + 8, 4, this.msiBase + i);
      this.write(e + 12, 4, 0);
    }
    this.setCfg(c + 2, 2, 0x8000);
  }

  disableMsix(): void { this.setCfg(this.caps.msixCap + 2, 2, 0); }

  reset(): void {
    this.setStatus(0);
    for (let i = 0; this.status() !== 0; i++) if (i > 1000) throw new Error('device never finished its reset');
    this.vrings.length = 0;
    this.notifyOff = [];
  }

  readOffered(): bigint {
    this.setCommon(0x00, 4, 0);
    const lo = this.common(0x04, 4);
    this.setCommon(0x00, 4, 1);
    const hi = this.common(0x04, 4);
    return BigInt(lo) | (BigInt(hi) << 32n);
  }

  writeFeatures(f: bigint): void {
    this.setCommon(0x08, 4, 0);
    this.setCommon(0x0c, 4, Number(f & 0xffffffffn));
    this.setCommon(0x08, 4, 1);
    this.setCommon(0x0c, 4, Number((f >> 32n) & 0xffffffffn));
  }

  /** Feature negotiation up to FEATURES_OK; returns whether the device accepted. */
  negotiate(accept: (offered: bigint) => bigint): boolean {
    this.reset();
    this.addStatus(ACK);
    this.addStatus(DRIVER);
    this.offered = this.readOffered();
    this.features = accept(this.offered);
    this.writeFeatures(this.features);
    this.addStatus(FEATURES_OK);
    return (this.status() & FEATURES_OK) !== 0;
  }

  setupQueue(i: number, msix: boolean, wantSize?: number): FakeVring {
    this.setCommon(0x16, 2, i);
    let size = this.common(0x18, 2);
    if (size === 0) throw new Error(`queue ${i} does not exist`);
    if (this.common(0x1c, 2) !== 0) throw new Error(`queue ${i} is already enabled`);
    if (wantSize !== undefined && wantSize < size) { size = wantSize; this.setCommon(0x18, 2, size); }
    const q = new FakeVring(this.guest, i, size, (this.features & bit(F_EVENT_IDX)) !== 0n, () => this.notify(i));
    for (const [reg, addr] of [[0x20, q.desc], [0x28, q.avail], [0x30, q.used]] as const) {
      this.setCommon(reg, 4, addr % 2 ** 32);
      this.setCommon(reg + 4, 4, Math.floor(addr / 2 ** 32));
    }
    this.notifyOff[i] = this.common(0x1e, 2);
    if (this.notifyOff[i]! * this.caps.multiplier + 2 > this.caps.notifyLen) throw new Error(`queue ${i}: notify offset outside the notify region`);
    if (msix) {
      this.setCommon(0x1a, 2, i + 1);
      if (this.common(0x1a, 2) !== i + 1) throw new Error(`queue ${i}: MSI-X vector ${i + 1} refused`);
    }
    this.vrings[i] = q;
    return q;
  }

  notify(i: number): void { this.write(this.caps.notify + this.notifyOff[i]! * this.caps.multiplier, 2, i); }

  /** The whole bring-up; throws when the device refuses a step. */
  init(o: InitOptions = {}): void {
    const msix = o.msix ?? true;
    if (!this.negotiate(o.accept ?? ((f) => f))) throw new Error('device refused the features');
    if (msix) {
      this.enableMsix();
      this.setCommon(0x10, 2, 0);
      if (this.common(0x10, 2) !== 0) throw new Error('config vector refused');
    } else this.disableMsix();
    const n = o.queues ?? this.common(0x12, 2);
    for (let i = 0; i < n; i++) this.setupQueue(i, msix, o.queueSize);
    for (let i = 0; i < n; i++) { this.setCommon(0x16, 2, i); this.setCommon(0x1c, 2, 1); }
    this.addStatus(DRIVER_OK);
  }
}
