/**
 * Intel 8254 programmable interval timer at 0x40-0x43, plus port 0x61 (NMI status and control:
 * channel 2 gate, speaker data, refresh toggle, OUT2), which the PC wires to this chip.
 *
 * Counts run at 1.193182 MHz of VM-clock time. Channel 0 drives IRQ0: modes 0/1 raise the line at
 * terminal count and hold it until reprogrammed; modes 2/3 pulse it at the start of each period and
 * modes 4/5 at terminal count. A timer callback that finds several periods passed (the host was
 * descheduled) delivers one interrupt, as lost ticks are on real hardware with masked interrupts.
 * Only channel 2 has a gate (port 0x61 bit 0): its rising edge starts modes 1/5 and restarts 2/3;
 * gate low stops modes 2/3 with OUT high (a read then shows the reload value rather than the
 * frozen count). Gate low does not pause modes 0/4.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { expectState, stateBool, type Saveable, type SavedState, type StateValue } from '../../common/saved-state.js';
import { PitChannel, fromBcd, toBcd } from './i8254-channel.js';
import { readBytes, writeBytes } from './io-width.js';
import { stateInt, stateRecordList, stateTime } from './state-fields.js';

const ID = 'pc.pit';
/** DRAM refresh requests toggle port 0x61 bit 4 every 15.085 µs. */
const REFRESH_NS = 15_085;

export class I8254Pit implements PortIoDevice, Saveable {
  static readonly PORT = 0x40;
  static readonly NMI_SC_PORT = 0x61;

  readonly channels: PitChannel[] = [new PitChannel(true), new PitChannel(true), new PitChannel(false)];
  private speakerData = false;
  /** Port 0x61 bits 2-3 (parity and channel-check enables): stored and read back; no NMI source exists. */
  private nmiEnables = 0;
  private irqHigh = false;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (now: number): void => this.fire(now);

  constructor(private readonly clock: VmClock, private readonly irq0: IrqLine) {}

  ioRead(port: number, size: IoSize): number {
    return size === 1 ? this.readByte(port) : readBytes(port, size, (p) => this.readByte(p));
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (size === 1) this.writeByte(port, value & 0xff);
    else writeBytes(port, size, value, (p, v) => this.writeByte(p, v));
  }

  /** OUT of channel 2 (speaker), for a host that wants to play it. */
  speakerOn(): boolean { return this.speakerData && this.channels[2]!.out(this.clock.nowNs()); }

  private readByte(port: number): number {
    const now = this.clock.nowNs();
    if (port === 0x61) {
      const c2 = this.channels[2]!;
      return (c2.gate ? 1 : 0) | (this.speakerData ? 2 : 0) | this.nmiEnables | ((Math.floor(now / REFRESH_NS) & 1) << 4) | (c2.out(now) ? 0x20 : 0);
    }
    if (port < 0x40 || port > 0x42) return 0xff; // 0x43 is write-only
    return this.readCounter(this.channels[port - 0x40]!, now);
  }

  private readCounter(c: PitChannel, now: number): number {
    if (c.status >= 0) { const s = c.status; c.status = -1; return s; }
    if (c.latched >= 0) {
      const v = c.bcd ? toBcd(c.latched) : c.latched;
      if (c.access === 1) { c.latched = -1; return v & 0xff; }
      if (c.access === 2) { c.latched = -1; return (v >> 8) & 0xff; }
      if (!c.latchMsb) { c.latchMsb = true; return v & 0xff; }
      c.latchMsb = false; c.latched = -1;
      return (v >> 8) & 0xff;
    }
    const raw = c.count(now);
    const v = c.bcd ? toBcd(raw) : raw;
    if (c.access === 1) return v & 0xff;
    if (c.access === 2) return (v >> 8) & 0xff;
    c.readMsb = !c.readMsb;
    return c.readMsb ? v & 0xff : (v >> 8) & 0xff;
  }

  private writeByte(port: number, v: number): void {
    const now = this.clock.nowNs();
    if (port === 0x61) { this.writeControlB(v, now); return; }
    if (port === 0x43) { this.writeControlWord(v, now); return; }
    if (port < 0x40 || port > 0x42) return;
    const c = this.channels[port - 0x40]!;
    let value: number;
    if (c.access === 1) value = v;
    else if (c.access === 2) value = v << 8;
    else if (!c.writeMsb) {
      c.writeMsb = true; c.writeLatch = v;
      // Mode 0: writing the first byte stops the count and drives OUT low.
      if (c.mode === 0) { c.armed = false; this.updateIrq(port - 0x40, now); }
      return;
    } else { c.writeMsb = false; value = c.writeLatch | (v << 8); }
    this.load(port - 0x40, value, now);
  }

  private load(ch: number, value: number, now: number): void {
    const c = this.channels[ch]!;
    if (c.bcd) c.reload = fromBcd(value) % 10000 || 10000;
    else c.reload = value || 0x10000;
    c.loadNs = now;
    c.nullCount = false;
    // Modes 1 and 5 are gate-triggered: the count starts on the next rising edge of the gate.
    c.armed = c.mode !== 1 && c.mode !== 5 && (c.gate || c.mode === 0 || c.mode === 4);
    if (ch === 0) this.reschedule(now);
  }

  private writeControlWord(v: number, now: number): void {
    const sel = v >> 6;
    if (sel === 3) { // read-back: bit 5 clear latches counts, bit 4 clear latches status
      for (let i = 0; i < 3; i++) {
        if ((v & (2 << i)) === 0) continue;
        const c = this.channels[i]!;
        if ((v & 0x10) === 0 && c.status < 0) c.status = c.statusByte(now);
        if ((v & 0x20) === 0 && c.latched < 0) { c.latched = c.count(now); c.latchMsb = false; }
      }
      return;
    }
    const c = this.channels[sel]!;
    const access = (v >> 4) & 3;
    if (access === 0) { // counter latch command; a second latch before the read is ignored
      if (c.latched < 0) { c.latched = c.count(now); c.latchMsb = false; }
      return;
    }
    c.access = access;
    c.mode = (v >> 1) & 7;
    if (c.mode > 5) c.mode -= 4; // 6 and 7 are aliases of 2 and 3
    c.bcd = (v & 1) !== 0;
    c.readMsb = false; c.writeMsb = false;
    c.latched = -1; c.status = -1;
    c.nullCount = true;
    c.armed = false;
    if (sel === 0) { this.cancel(); this.updateIrq(0, now); }
  }

  private writeControlB(v: number, now: number): void {
    const c2 = this.channels[2]!;
    const gate = (v & 1) !== 0;
    this.speakerData = (v & 2) !== 0;
    this.nmiEnables = v & 0x0c;
    const m = c2.mode;
    if (gate && !c2.gate && !c2.nullCount && m !== 0 && m !== 4) {
      c2.loadNs = now; // a rising edge (re)starts modes 1, 2, 3 and 5 from the reload value
      c2.armed = true;
    } else if (!gate && c2.gate && (m === 2 || m === 3)) {
      c2.armed = false; // gate low stops modes 2/3 with OUT high until the next rising edge
    }
    c2.gate = gate;
  }

  /** IRQ0 level for the steady states: high after terminal count in modes 0/1, low otherwise. */
  private updateIrq(ch: number, now: number): void {
    if (ch !== 0) return;
    const c = this.channels[0]!;
    const high = (c.mode === 0 || c.mode === 1) && c.armed && c.out(now);
    if (high !== this.irqHigh) { this.irqHigh = high; this.irq0.set(high); }
  }

  private cancel(): void { this.clock.cancel(this.timer); this.timer = undefined; }

  private reschedule(now: number): void {
    this.cancel();
    const c = this.channels[0]!;
    this.updateIrq(0, now);
    const next = c.nextEventTick(c.elapsedTicks(now));
    if (next >= 0) this.timer = this.clock.schedule(c.eventNs(next), this.onTimer);
  }

  private fire(now: number): void {
    this.timer = undefined;
    const c = this.channels[0]!;
    if (c.mode === 0 || c.mode === 1) this.updateIrq(0, now);
    else this.irq0.pulse();
    this.reschedule(now);
  }

  save(): SavedState {
    const chans: StateValue[] = this.channels.map((c) => ({
      reload: c.reload, mode: c.mode, bcd: c.bcd, access: c.access, readMsb: c.readMsb, writeMsb: c.writeMsb,
      writeLatch: c.writeLatch, latched: c.latched, latchMsb: c.latchMsb, status: c.status, gate: c.gate,
      loadNs: c.loadNs, nullCount: c.nullCount, armed: c.armed,
    }));
    return { id: ID, version: 1, data: { channels: chans, speakerData: this.speakerData, nmiEnables: this.nmiEnables, irqHigh: this.irqHigh } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const recs = stateRecordList(ID, d, 'channels', 3);
    const loaded = recs.map((r) => {
      const c = new PitChannel(true);
      c.mode = stateInt(ID, r, 'mode', 0, 5);
      c.bcd = stateBool(ID, r, 'bcd');
      c.reload = stateInt(ID, r, 'reload', 1, c.bcd ? 10000 : 0x10000);
      c.access = stateInt(ID, r, 'access', 1, 3);
      c.readMsb = stateBool(ID, r, 'readMsb');
      c.writeMsb = stateBool(ID, r, 'writeMsb');
      c.writeLatch = stateInt(ID, r, 'writeLatch', 0, 0xff);
      c.latched = stateInt(ID, r, 'latched', -1, 0x10000);
      c.latchMsb = stateBool(ID, r, 'latchMsb');
      c.status = stateInt(ID, r, 'status', -1, 0xff);
      c.gate = stateBool(ID, r, 'gate');
      c.loadNs = stateTime(ID, r, 'loadNs');
      c.nullCount = stateBool(ID, r, 'nullCount');
      c.armed = stateBool(ID, r, 'armed');
      return c;
    });
    const speakerData = stateBool(ID, d, 'speakerData');
    const nmiEnables = stateInt(ID, d, 'nmiEnables', 0, 0xff) & 0x0c;
    const irqHigh = stateBool(ID, d, 'irqHigh');
    for (let i = 0; i < 3; i++) this.channels[i] = loaded[i]!;
    this.speakerData = speakerData;
    this.nmiEnables = nmiEnables;
    this.irqHigh = irqHigh;
    this.irq0.set(irqHigh);
    this.reschedule(this.clock.nowNs());
  }
}
