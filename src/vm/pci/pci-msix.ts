/**
 * The MSI-X capability (PCI Local Bus 3.0 6.8.2): the capability registers in configuration space,
 * and the vector table and pending-bit array as MMIO the owner places inside one of its BARs
 * (it forwards accesses to `table` / `pba` at the offsets given here). Entries start masked.
 */
import type { MsiTarget } from '../bus/irq.js';
import type { MmioDevice } from '../bus/mmio-bus.js';
import { expectState, SavedStateError, type SavedState, type Saveable } from '../../common/saved-state.js';
import type { PciFunction } from './pci-function.js';

export const PCI_CAP_MSIX = 0x11;
const STATE_ID = 'vm.pci.msix';
const CTRL_FUNCTION_MASK = 0x4000, CTRL_ENABLE = 0x8000;

export interface MsixOptions {
  /** 1..2048 table entries. */
  vectors: number;
  tableBar: number;
  /** Byte offset of the table in its BAR; 8-byte aligned. */
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

export class MsixCapability implements Saveable {
  readonly offset: number;
  readonly vectors: number;
  /** Four dwords per entry: address low, address high, data, vector control. */
  private readonly entries: Uint32Array;
  private readonly pending: Uint8Array;
  readonly table: MmioDevice;
  readonly pba: MmioDevice;
  readonly tableSize: number;
  readonly pbaSize: number;

  constructor(private readonly fn: PciFunction, private readonly target: MsiTarget, o: MsixOptions) {
    if (!Number.isInteger(o.vectors) || o.vectors < 1 || o.vectors > 2048) throw new RangeError(`${fn.name}: MSI-X vector count ${o.vectors} must be 1..2048`);
    for (const [what, v] of [['table', o.tableOffset], ['PBA', o.pbaOffset]] as const) {
      if (!Number.isInteger(v) || v < 0 || v % 8 !== 0 || v > 0xfffffff8) throw new RangeError(`${fn.name}: MSI-X ${what} offset ${v} must be 8-byte aligned`);
    }
    for (const bir of [o.tableBar, o.pbaBar]) if (!Number.isInteger(bir) || bir < 0 || bir > 5) throw new RangeError(`${fn.name}: MSI-X BAR indicator ${bir} must be 0..5`);
    this.vectors = o.vectors;
    this.entries = new Uint32Array(o.vectors * 4);
    for (let i = 0; i < o.vectors; i++) this.entries[i * 4 + 3] = 1;
    this.pending = new Uint8Array(Math.ceil(o.vectors / 64) * 8);
    this.tableSize = o.vectors * 16;
    this.pbaSize = this.pending.length;
    this.offset = fn.addCapability(PCI_CAP_MSIX, 12);
    fn.setConfig(this.offset + 2, 2, o.vectors - 1);
    fn.setWritable(this.offset + 2, 2, CTRL_FUNCTION_MASK | CTRL_ENABLE);
    fn.setConfig(this.offset + 4, 4, o.tableOffset + o.tableBar);
    fn.setConfig(this.offset + 8, 4, o.pbaOffset + o.pbaBar);
    fn.onConfigWrite((off, size) => { if (off <= this.offset + 3 && off + size > this.offset + 2) this.flushPending(); });
    this.table = { mmioRead: (off, data) => this.tableRead(off, data), mmioWrite: (off, data) => this.tableWrite(off, data) };
    this.pba = {
      mmioRead: (off, data) => { for (let i = 0; i < data.length; i++) data[i] = off + i < this.pending.length ? this.pending[off + i]! : 0; },
      mmioWrite: () => { /* the PBA is read-only */ },
    };
  }

  private control(): number { return this.fn.getConfig(this.offset + 2, 2); }
  enabled(): boolean { return (this.control() & CTRL_ENABLE) !== 0; }
  functionMasked(): boolean { return (this.control() & CTRL_FUNCTION_MASK) !== 0; }
  isPending(vector: number): boolean { return (this.pending[vector >>> 3]! & (1 << (vector & 7))) !== 0; }

  /** Raises table entry `vector`; returns false when MSI-X is off or no such entry. */
  notify(vector: number): boolean {
    if (!this.enabled() || !Number.isInteger(vector) || vector < 0 || vector >= this.vectors) return false;
    if (this.functionMasked() || (this.entries[vector * 4 + 3]! & 1) !== 0) {
      this.pending[vector >>> 3]! |= 1 << (vector & 7);
      return true;
    }
    this.send(vector);
    return true;
  }

  private send(vector: number): void {
    if (!this.fn.busMasterEnabled()) return;
    const e = vector * 4;
    if (this.entries[e + 1] !== 0) return; // above 4 GiB: not the APIC window
    this.target.signalMsi(this.entries[e]!, this.entries[e + 2]!);
  }

  private flushPending(): void {
    if (!this.enabled() || this.functionMasked()) return;
    for (let v = 0; v < this.vectors; v++) {
      if (!this.isPending(v) || (this.entries[v * 4 + 3]! & 1) !== 0) continue;
      this.pending[v >>> 3]! &= ~(1 << (v & 7));
      this.send(v);
    }
  }

  private tableRead(off: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = off + i;
      data[i] = o >= 0 && o < this.tableSize ? (this.entries[o >>> 2]! >>> ((o & 3) * 8)) & 0xff : 0;
    }
  }

  /** Dword or qword aligned writes only (spec 6.8.2); others are dropped. */
  private tableWrite(off: number, data: Uint8Array): void {
    if ((off & 3) !== 0 || (data.length !== 4 && data.length !== 8) || off < 0 || off + data.length > this.tableSize) return;
    for (let k = 0; k < data.length; k += 4) {
      const idx = (off + k) >>> 2;
      const v = (data[k]! | (data[k + 1]! << 8) | (data[k + 2]! << 16) | (data[k + 3]! << 24)) >>> 0;
      const field = idx & 3;
      this.entries[idx] = field === 0 ? v & 0xfffffffc : field === 3 ? v & 1 : v;
      if (field === 3 && (v & 1) === 0) this.flushPending();
    }
  }

  /** The table and PBA live outside configuration space, so they are saved here, next to the function's record. */
  save(): SavedState { return { id: STATE_ID, version: 1, data: { vectors: this.vectors, entries: this.entries.slice(), pending: this.pending.slice() } }; }

  restore(state: SavedState): void {
    const id = STATE_ID;
    const d = expectState(state, id, 1);
    if (d['vectors'] !== this.vectors) throw new SavedStateError(id, `${this.fn.name}: saved table has ${String(d['vectors'])} vectors, this device has ${this.vectors}`);
    const entries = d['entries'], pending = d['pending'];
    if (!(entries instanceof Uint32Array) || entries.length !== this.entries.length) throw new SavedStateError(id, `field 'entries' must be ${this.entries.length} 32-bit words`);
    if (!(pending instanceof Uint8Array) || pending.length !== this.pending.length) throw new SavedStateError(id, `field 'pending' must be ${this.pending.length} bytes`);
    this.entries.set(entries);
    for (let i = 0; i < this.vectors; i++) { this.entries[i * 4] = this.entries[i * 4]! & 0xfffffffc; this.entries[i * 4 + 3] = this.entries[i * 4 + 3]! & 1; }
    this.pending.set(pending);
  }
}
