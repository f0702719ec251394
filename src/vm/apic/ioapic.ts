/**
 * The I/O APIC (Intel 82093AA datasheet): 24 interrupt pins, each with a 64-bit redirection entry,
 * reached through the indirect IOREGSEL (offset 0x00) / IOWIN (offset 0x10) window, plus the EOI
 * register (offset 0x40) of version-0x20 parts. Messages go out through the ApicBus; EOIs of
 * level-triggered vectors come back from it.
 *
 * Pins carry the logical assertion state (set(true) = interrupt requested); the board is
 * responsible for polarity, as in QEMU, so the polarity bit is stored but does not invert.
 */
import type { IrqLine } from '../bus/irq.js';
import type { MmioDevice } from '../bus/mmio-bus.js';
import { expectState, SavedStateError, stateBytes, stateNumber, type SavedState, type Saveable } from '../../common/saved-state.js';
import type { ApicBus } from './apic-bus.js';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
/** Version 0x20, maximum redirection entry 23 (bits 23:16). */
export const IOAPIC_VERSION_VALUE = 0x00170020;

const RTE_MASKED = 0x10000;
const RTE_REMOTE_IRR = 0x4000;
const RTE_LEVEL = 0x8000;
const RTE_DELIVERY_STATUS = 0x1000;
/** Writable bits of the low dword: all but delivery status (12) and remote IRR (14). */
const RTE_LOW_WRITABLE = 0x1afff;
const STATE_ID = 'vm.apic.ioapic';

class IoApicPin implements IrqLine {
  constructor(private readonly ioapic: IoApic, private readonly pin: number) {}
  set(level: boolean): void { this.ioapic.setPin(this.pin, level); }
  pulse(): void { this.ioapic.setPin(this.pin, true); this.ioapic.setPin(this.pin, false); }
}

export class IoApic implements MmioDevice, Saveable {
  private select = 0;
  private id = 0;
  /** Redirection entries: low dword at [2n], high dword at [2n+1]. */
  private readonly rte = new Uint32Array(IOAPIC_PINS * 2);
  private readonly level = new Uint8Array(IOAPIC_PINS);
  readonly pins: readonly IrqLine[];

  constructor(private readonly bus: ApicBus, id = 0) {
    this.id = id & 0xf;
    this.pins = Array.from({ length: IOAPIC_PINS }, (_, i) => new IoApicPin(this, i));
    bus.onEoi((v) => this.eoi(v));
    this.reset();
  }

  reset(): void {
    this.select = 0;
    for (let i = 0; i < IOAPIC_PINS; i++) { this.rte[2 * i] = RTE_MASKED; this.rte[2 * i + 1] = 0; }
  }

  pin(n: number): IrqLine {
    const p = this.pins[n];
    if (p === undefined) throw new RangeError(`IOAPIC pin ${n} does not exist (0..${IOAPIC_PINS - 1})`);
    return p;
  }

  setPin(pin: number, asserted: boolean): void {
    const was = this.level[pin] === 1;
    this.level[pin] = asserted ? 1 : 0;
    const lo = this.rte[2 * pin]!;
    if ((lo & RTE_LEVEL) !== 0) { if (asserted) this.service(pin); return; }
    if (asserted && !was) this.service(pin);
  }

  /** Delivers the pin's interrupt if its entry allows it now. */
  private service(pin: number): void {
    const lo = this.rte[2 * pin]!;
    if ((lo & RTE_MASKED) !== 0) return;
    const levelTriggered = (lo & RTE_LEVEL) !== 0;
    if (levelTriggered) {
      if ((lo & RTE_REMOTE_IRR) !== 0 || this.level[pin] !== 1) return;
    }
    const delivered = this.bus.deliver(this.rte[2 * pin + 1]! >>> 24, (lo & 0x800) !== 0, 0xff, (lo >>> 8) & 7, lo & 0xff, levelTriggered, true);
    // Remote IRR is set when a local APIC accepts the level interrupt; nobody accepting leaves it clear.
    if (levelTriggered && delivered > 0) this.rte[2 * pin] = lo | RTE_REMOTE_IRR;
  }

  /** EOI of a level-triggered vector, from an APIC broadcast or the EOI register. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.rte[2 * pin]!;
      if ((lo & 0xff) !== vector || (lo & RTE_REMOTE_IRR) === 0) continue;
      this.rte[2 * pin] = lo & ~RTE_REMOTE_IRR;
      this.service(pin);
    }
  }

  readRegister(index: number): number {
    if (index === 0) return this.id << 24;
    if (index === 1) return IOAPIC_VERSION_VALUE;
    if (index === 2) return this.id << 24; // arbitration ID follows the APIC ID
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) return (this.rte[index - 0x10]! & ~RTE_DELIVERY_STATUS) >>> 0;
    return 0;
  }

  writeRegister(index: number, value: number): void {
    if (index === 0) { this.id = (value >>> 24) & 0xf; return; }
    if (index < 0x10 || index >= 0x10 + 2 * IOAPIC_PINS) return;
    const i = index - 0x10, pin = i >>> 1;
    if ((i & 1) === 1) { this.rte[i] = value & 0xff000000; return; }
    const old = this.rte[i]!;
    let lo = (value & RTE_LOW_WRITABLE) | (old & RTE_REMOTE_IRR);
    if ((lo & RTE_LEVEL) === 0) lo &= ~RTE_REMOTE_IRR;
    this.rte[i] = lo;
    // Unmasking (or switching to level) with the line held delivers now: the 82093AA samples level pins continuously.
    if ((lo & RTE_LEVEL) !== 0 && this.level[pin] === 1) this.service(pin);
  }

  mmioRead(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i, reg = o & ~3;
      let v = 0;
      if (reg === 0x00) v = this.select;
      else if (reg === 0x10) v = this.readRegister(this.select);
      data[i] = (v >>> ((o & 3) * 8)) & 0xff;
    }
  }

  mmioWrite(offset: number, data: Uint8Array): void {
    // IOREGSEL takes a byte write too (only its low byte means anything); IOWIN and EOI need an aligned dword.
    if (offset === 0x00) { this.select = data[0]!; return; }
    if ((offset & 3) !== 0 || data.length < 4) return;
    const value = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
    if (offset === 0x10) this.writeRegister(this.select, value);
    else if (offset === 0x40) this.eoi(value & 0xff);
  }

  save(): SavedState {
    return { id: STATE_ID, version: 1, data: { select: this.select, id: this.id, rte: this.rte.slice(), level: this.level.slice() } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, STATE_ID, 1);
    const select = stateNumber(STATE_ID, d, 'select');
    const id = stateNumber(STATE_ID, d, 'id');
    const rte = d['rte'];
    if (!(rte instanceof Uint32Array) || rte.length !== IOAPIC_PINS * 2) throw new SavedStateError(STATE_ID, `field 'rte' must be ${IOAPIC_PINS * 2} 32-bit words`);
    const level = stateBytes(STATE_ID, d, 'level', IOAPIC_PINS);
    if (!Number.isInteger(select) || select < 0 || select > 0xff) throw new SavedStateError(STATE_ID, "field 'select' must be 0..255");
    if (!Number.isInteger(id) || id < 0 || id > 15) throw new SavedStateError(STATE_ID, "field 'id' must be 0..15");
    this.select = select;
    this.id = id;
    for (let i = 0; i < rte.length; i++) this.rte[i] = (i & 1) === 1 ? rte[i]! & 0xff000000 : rte[i]! & (RTE_LOW_WRITABLE | RTE_REMOTE_IRR);
    for (let i = 0; i < IOAPIC_PINS; i++) this.level[i] = level[i] === 0 ? 0 : 1;
  }
}
