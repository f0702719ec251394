/**
 * One PCI function's configuration space (PCI Local Bus 3.0 ch. 6; PCIe base spec 7.5 for the
 * 4 KiB extended space): a byte array with a per-byte writable mask and write-1-to-clear mask, a
 * type-0 header, BARs with sizing, and the capability list. The owner of the function learns about
 * BAR and command changes through callbacks and maps or unmaps its MMIO / port ranges there.
 *
 * `config`, `wmask` and `w1cmask` are public so capability helpers in this folder can lay out
 * their registers; guest writes only ever go through writeConfig().
 */
import { expectState, SavedStateError, stateBytes, type SavedState, type Saveable } from '../../common/saved-state.js';

export const CMD_IO = 1 << 0, CMD_MEMORY = 1 << 1, CMD_BUS_MASTER = 1 << 2, CMD_INTX_DISABLE = 1 << 10;
export const STATUS_INTX = 1 << 3, STATUS_CAP_LIST = 1 << 4;

export type BarKind = 'mem32' | 'mem64' | 'io';

export interface BarDefinition {
  kind: BarKind;
  /** Power of two; at least 16 for memory, 4..256 for I/O. */
  size: number;
  prefetchable?: boolean;
  /** Called when the decoded address changes; undefined = not decoded (disabled or unassigned). */
  onMap?: (base: number | undefined, previous: number | undefined) => void;
}

export interface PciFunctionOptions {
  vendorId: number;
  deviceId: number;
  /** class << 16 | subclass << 8 | programming interface */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 = none, 1..4 = INTA#..INTD# */
  interruptPin?: number;
  /** 4 KiB extended configuration space (PCIe). */
  pcie?: boolean;
  /** A name for error messages and saved-state records. */
  name: string;
}

interface Bar { def: BarDefinition; mapped: number | undefined }

export class PciFunction implements Saveable {
  readonly name: string;
  readonly config: Uint8Array;
  readonly wmask: Uint8Array;
  readonly w1cmask: Uint8Array;
  private readonly bars: (Bar | undefined)[] = new Array(6).fill(undefined);
  /** BAR slots in use, including the upper halves of 64-bit BARs. */
  private readonly barSlotTaken: boolean[] = new Array(6).fill(false);
  private readonly writeListeners: ((offset: number, size: number) => void)[] = [];
  private lastCap = 0;
  private nextCapOffset = 0x40;
  private lastExtCap = 0;
  private nextExtCapOffset = 0x100;
  private intxLevel = false;
  /** Set by the INTx router: receives the effective (not disabled) INTx level. */
  intxSink: ((level: boolean) => void) | undefined;

  constructor(o: PciFunctionOptions) {
    this.name = o.name;
    const size = o.pcie === true ? 4096 : 256;
    this.config = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1cmask = new Uint8Array(size);
    this.put16(0x00, o.vendorId);
    this.put16(0x02, o.deviceId);
    this.config[0x08] = (o.revision ?? 0) & 0xff;
    this.put16(0x0a, o.classCode >>> 8);
    this.config[0x09] = o.classCode & 0xff;
    this.put16(0x2c, o.subsystemVendorId ?? 0);
    this.put16(0x2e, o.subsystemId ?? 0);
    const pin = o.interruptPin ?? 0;
    if (!Number.isInteger(pin) || pin < 0 || pin > 4) throw new RangeError(`${o.name}: interrupt pin ${pin} must be 0..4`);
    this.config[0x3d] = pin;
    this.config[0x3c] = 0xff; // "unknown / not connected" until firmware assigns a line
    this.setWritable(0x04, 2, 0x0547); // I/O, memory, bus master, parity, SERR#, INTx disable
    this.w1cmask[0x07] = 0xf9; // status bits 15:11 and 8 are write-1-to-clear
    this.w1cmask[0x06] = 0x00;
    this.wmask[0x0c] = 0xff; // cache line size
    this.wmask[0x0d] = 0xff; // latency timer
    this.wmask[0x3c] = 0xff; // interrupt line
  }

  private put16(o: number, v: number): void { this.config[o] = v & 0xff; this.config[o + 1] = (v >>> 8) & 0xff; }
  private get32(o: number): number { return (this.config[o]! | (this.config[o + 1]! << 8) | (this.config[o + 2]! << 16) | (this.config[o + 3]! << 24)) >>> 0; }

  /** Marks `bytes` bytes at `offset` writable according to `mask` (little-endian). */
  setWritable(offset: number, bytes: number, mask: number): void {
    for (let i = 0; i < bytes; i++) this.wmask[offset + i] = Math.floor(mask / 2 ** (8 * i)) & 0xff;
  }

  /** Device-side store (not masked); for the function model itself, never for guest writes. */
  setConfig(offset: number, bytes: number, value: number): void {
    for (let i = 0; i < bytes; i++) this.config[offset + i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  }

  getConfig(offset: number, bytes: number): number {
    let v = 0;
    for (let i = bytes - 1; i >= 0; i--) v = v * 256 + this.config[offset + i]!;
    return v;
  }

  command(): number { return this.config[0x04]! | (this.config[0x05]! << 8); }
  busMasterEnabled(): boolean { return (this.command() & CMD_BUS_MASTER) !== 0; }

  defineBar(index: number, def: BarDefinition): void {
    const slots = def.kind === 'mem64' ? 2 : 1;
    if (!Number.isInteger(index) || index < 0 || index + slots > 6) throw new RangeError(`${this.name}: BAR ${index} does not fit in BAR0..BAR5`);
    if (this.barSlotTaken[index] === true || (slots === 2 && this.barSlotTaken[index + 1] === true)) throw new RangeError(`${this.name}: BAR ${index} is already defined`);
    const min = def.kind === 'io' ? 4 : 16, max = def.kind === 'io' ? 256 : def.kind === 'mem32' ? 2 ** 31 : 2 ** 48;
    if (!Number.isInteger(Math.log2(def.size)) || def.size < min || def.size > max) throw new RangeError(`${this.name}: BAR ${index} size ${def.size} must be a power of two in ${min}..${max}`);
    const off = 0x10 + index * 4;
    let flags = 0;
    if (def.kind === 'io') flags = 1;
    else flags = (def.kind === 'mem64' ? 4 : 0) | (def.prefetchable === true ? 8 : 0);
    this.setConfig(off, 4, flags);
    const lowMask = def.size >= 2 ** 32 ? 0 : (0x100000000 - def.size) >>> 0;
    this.setWritable(off, 4, (lowMask & (def.kind === 'io' ? ~3 : ~0xf)) >>> 0);
    if (slots === 2) this.setWritable(off + 4, 4, def.size > 2 ** 32 ? (0x100000000 - def.size / 2 ** 32) >>> 0 : 0xffffffff);
    this.bars[index] = { def, mapped: undefined };
    this.barSlotTaken[index] = true;
    if (slots === 2) this.barSlotTaken[index + 1] = true;
  }

  /** Address programmed into BAR `index` (whether or not decoding is on), or undefined when no BAR. */
  barAddress(index: number): number | undefined {
    const b = this.bars[index];
    if (b === undefined) return undefined;
    const off = 0x10 + index * 4, lo = this.get32(off);
    if (b.def.kind === 'io') return (lo & 0xfffffffc) >>> 0;
    const low = (lo & 0xfffffff0) >>> 0;
    return b.def.kind === 'mem64' ? this.get32(off + 4) * 2 ** 32 + low : low;
  }

  /** Decoded base of BAR `index`, or undefined when decoding is off or the address is unusable. */
  barMapping(index: number): number | undefined { return this.bars[index]?.mapped; }

  private decodedAddress(index: number, b: Bar): number | undefined {
    const cmd = this.command();
    const on = b.def.kind === 'io' ? (cmd & CMD_IO) !== 0 : (cmd & CMD_MEMORY) !== 0;
    if (!on) return undefined;
    const a = this.barAddress(index)!;
    const limit = b.def.kind === 'io' ? 0x10000 : b.def.kind === 'mem32' ? 2 ** 32 : 2 ** 52;
    if (a === 0 || a + b.def.size > limit) return undefined;
    return a;
  }

  private updateMappings(): void {
    for (let i = 0; i < 6; i++) {
      const b = this.bars[i];
      if (b === undefined) continue;
      const next = this.decodedAddress(i, b);
      if (next === b.mapped) continue;
      const prev = b.mapped;
      b.mapped = next;
      b.def.onMap?.(next, prev);
    }
  }

  /** Guest configuration read: any offset and size, little-endian, past the end reads as 0xff. */
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = v * 256 + (o >= 0 && o < this.config.length ? this.config[o]! : 0xff);
    }
    return v >>> 0;
  }

  /** Guest configuration write through the writable and write-1-to-clear masks. */
  writeConfig(offset: number, size: number, value: number): void {
    if (offset < 0 || offset >= this.config.length) return;
    const n = Math.min(size, this.config.length - offset);
    for (let i = 0; i < n; i++) {
      const o = offset + i, b = (value >>> (8 * i)) & 0xff, m = this.wmask[o]!;
      this.config[o] = ((this.config[o]! & ~m) | (b & m)) & ~(b & this.w1cmask[o]!);
    }
    if (offset < 0x28 && offset + n > 0x04) { this.updateMappings(); this.updateIntx(); }
    for (const l of this.writeListeners) l(offset, n);
  }

  /** Capability helpers watch their registers here. */
  onConfigWrite(listener: (offset: number, size: number) => void): void { this.writeListeners.push(listener); }

  /** Appends a capability of `length` bytes to the list; returns its offset. */
  addCapability(id: number, length: number): number {
    const off = (this.nextCapOffset + 3) & ~3;
    if (length < 2 || off + length > 0x100) throw new RangeError(`${this.name}: no room for a ${length}-byte capability`);
    this.config[off] = id & 0xff;
    this.config[off + 1] = 0;
    if (this.lastCap === 0) this.config[0x34] = off; else this.config[this.lastCap + 1] = off;
    this.config[0x06]! |= STATUS_CAP_LIST;
    this.lastCap = off;
    this.nextCapOffset = off + length;
    return off;
  }

  /** Appends a PCIe extended capability (offset >= 0x100); returns its offset. */
  addExtendedCapability(id: number, version: number, length: number): number {
    const off = (this.nextExtCapOffset + 3) & ~3;
    if (this.config.length < 4096 || length < 4 || off + length > 4096) throw new RangeError(`${this.name}: no room for a ${length}-byte extended capability`);
    this.setConfig(off, 4, (id & 0xffff) | ((version & 0xf) << 16));
    if (this.lastExtCap !== 0) this.setConfig(this.lastExtCap, 4, (this.getConfig(this.lastExtCap, 4) & 0xfffff) + off * 2 ** 20);
    this.lastExtCap = off;
    this.nextExtCapOffset = off + length;
    return off;
  }

  /** The device asserts (true) or releases its INTx# pin. */
  setIntx(level: boolean): void {
    this.intxLevel = level;
    this.updateIntx();
  }

  private updateIntx(): void {
    if (this.intxLevel) this.config[0x06]! |= STATUS_INTX; else this.config[0x06]! &= ~STATUS_INTX;
    this.intxSink?.(this.intxLevel && (this.command() & CMD_INTX_DISABLE) === 0);
  }

  save(): SavedState {
    return { id: 'vm.pci.function', version: 1, data: { name: this.name, config: this.config.slice(), intx: this.intxLevel } };
  }

  /** Restores the configuration bytes and re-announces BAR mappings. Read-only bytes must match. */
  restore(state: SavedState): void {
    const id = 'vm.pci.function';
    const d = expectState(state, id, 1);
    const config = stateBytes(id, d, 'config', this.config.length);
    const intx = d['intx'];
    if (typeof intx !== 'boolean') throw new SavedStateError(id, "field 'intx' must be a boolean");
    for (const o of [0, 1, 2, 3, 8, 9, 10, 11, 0x3d]) {
      if (config[o] !== this.config[o]) throw new SavedStateError(id, `${this.name}: identity byte at config offset 0x${o.toString(16)} differs (saved from another device?)`);
    }
    this.config.set(config);
    this.intxLevel = intx;
    this.updateMappings();
    this.updateIntx();
    for (const l of this.writeListeners) l(0, this.config.length);
  }
}
