/**
 * MC146818 real-time clock and CMOS RAM: index/data at 0x70/0x71 (bit 7 of an index write is the
 * NMI mask), upper 128 bytes at 0x72/0x73. IRQ8 is raised when IRQF (register C bit 7) becomes set
 * and lowered when register C is read.
 *
 * The time is never ticked: it is `baseSec` at the VM-clock instant `baseNs` (a second boundary)
 * and advances with the VM clock. Flags (PF, AF, UF) are computed for the interval since the last
 * look, on a register C read or a timer, which is scheduled only while an interrupt is enabled.
 * The update cycle is modelled as UIP high for the 2228 µs (244 µs setup + 1984 µs update) before
 * each second boundary; the registers change at the boundary, when UIP falls.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { expectState, SavedStateError, stateBool, stateBytes, stateNumber, type Saveable, type SavedState } from '../../common/saved-state.js';
import { decodeField, decodeHour, regsToSeconds, secondsToRegs, type RtcFormat } from './rtc-calendar.js';
import { nsToTicks, ticksToNs } from './ticks.js';
import { readBytes, writeBytes } from './io-width.js';
import { stateInt } from './state-fields.js';

const ID = 'pc.rtc';
const NS = 1_000_000_000;
const UIP_WINDOW_NS = 2_228_000;
const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
export const CMOS_CENTURY = 0x32;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;

export class Mc146818Rtc implements PortIoDevice, Saveable {
  static readonly PORT = 0x70;

  private readonly cmos = new Uint8Array(256);
  private index = 0;
  private upperIndex = 0x80;
  private nmiMask = false;
  private baseSec: number;
  private baseNs: number;
  /** Flags have been computed for every event up to this instant. */
  private seenNs: number;
  private periodicBaseNs: number;
  private irqHigh = false;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (now: number): void => { this.timer = undefined; this.catchUp(now); this.reschedule(now); };

  /** `startEpochMs` is the guest's wall-clock time at this moment (the VM passes the host's). */
  constructor(private readonly clock: VmClock, private readonly irq8: IrqLine, startEpochMs: number) {
    const now = clock.nowNs();
    // Clamp to the range a JS Date can represent (about ±270,000 years).
    const ms = Number.isFinite(startEpochMs) ? Math.max(-8.64e15, Math.min(8.64e15, startEpochMs)) : 0;
    this.baseSec = Math.floor(ms / 1000);
    this.baseNs = now - Math.round((ms - this.baseSec * 1000) * 1_000_000);
    this.seenNs = now;
    this.periodicBaseNs = now;
    this.cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = 0x80;
  }

  nmiMasked(): boolean { return this.nmiMask; }

  /** Platform setup of CMOS bytes outside the clock registers (0x0e..0xff). */
  setCmosByte(index: number, value: number): void {
    if (!Number.isInteger(index) || index < 0x0e || index > 0xff) throw new RangeError(`CMOS byte ${index} is not platform-settable (0x0e..0xff)`);
    this.cmos[index] = value & 0xff;
  }

  cmosByte(index: number): number { return this.cmos[index & 0xff]!; }

  /**
   * The memory-size bytes SeaBIOS and QEMU use: 0x15/0x16 base KiB, 0x17/0x18 and 0x30/0x31
   * KiB above 1 MiB (capped at 0xffff), 0x34/0x35 64-KiB units above 16 MiB below 4 GiB,
   * 0x5b..0x5d 64-KiB units above 4 GiB.
   */
  setMemorySize(bytesBelow4G: number, bytesAbove4G: number): void {
    const put16 = (at: number, v: number): void => { this.cmos[at] = v & 0xff; this.cmos[at + 1] = (v >> 8) & 0xff; };
    put16(0x15, 640);
    const extKb = Math.min(0xffff, Math.max(0, Math.floor((bytesBelow4G - 0x100000) / 1024)));
    put16(0x17, extKb);
    put16(0x30, extKb);
    put16(0x34, Math.min(0xffff, Math.max(0, Math.floor((bytesBelow4G - 0x1000000) / 65536))));
    const high = Math.min(0xffffff, Math.max(0, Math.floor(bytesAbove4G / 65536)));
    this.cmos[0x5b] = high & 0xff; this.cmos[0x5c] = (high >> 8) & 0xff; this.cmos[0x5d] = (high >> 16) & 0xff;
  }

  /** Current RTC time as seconds since 1970 (for tests and the host UI). */
  epochSeconds(): number {
    if (this.frozen()) return regsToSeconds(this.regs(), this.format());
    return this.secondsAt(this.clock.nowNs());
  }

  ioRead(port: number, size: IoSize): number {
    return size === 1 ? this.readByte(port) : readBytes(port, size, (p) => this.readByte(p));
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (size === 1) this.writeByte(port, value & 0xff);
    else writeBytes(port, size, value, (p, v) => this.writeByte(p, v));
  }

  private format(): RtcFormat {
    const b = this.cmos[REG_B]!;
    return { binary: (b & B_DM) !== 0, hours24: (b & B_24H) !== 0 };
  }

  private dividerReset(): boolean { return ((this.cmos[REG_A]! >> 4) & 7) >= 6; }
  private frozen(): boolean { return (this.cmos[REG_B]! & B_SET) !== 0 || this.dividerReset(); }
  private secondsAt(now: number): number { return this.baseSec + Math.floor((now - this.baseNs) / NS); }

  private regs(): { sec: number; min: number; hour: number; wday: number; mday: number; month: number; year: number; century: number } {
    const c = this.cmos;
    return { sec: c[0]!, min: c[2]!, hour: c[4]!, wday: c[6]!, mday: c[7]!, month: c[8]!, year: c[9]!, century: c[CMOS_CENTURY]! };
  }

  /** Writes the running time into the time registers. */
  private materialize(now: number): void {
    const r = secondsToRegs(this.secondsAt(now), this.format());
    const c = this.cmos;
    c[0] = r.sec; c[2] = r.min; c[4] = r.hour; c[6] = r.wday; c[7] = r.mday; c[8] = r.month; c[9] = r.year; c[CMOS_CENTURY] = r.century;
  }

  /** Takes the time registers as the new time, keeping the phase of the running second. */
  private rebase(now: number, restartSecond: boolean): void {
    const s = regsToSeconds(this.regs(), this.format());
    if (Number.isNaN(s)) return;
    if (restartSecond) this.baseNs = now;
    else this.baseNs += Math.floor((now - this.baseNs) / NS) * NS;
    this.baseSec = s;
    this.seenNs = now;
  }

  private readByte(port: number): number {
    const now = this.clock.nowNs();
    if (port === 0x71) return this.readReg(this.index, now);
    if (port === 0x73) return this.cmos[this.upperIndex]!;
    return 0xff; // index registers are write-only
  }

  private readReg(i: number, now: number): number {
    if (i <= 9 || i === CMOS_CENTURY) {
      if (!this.frozen()) this.materialize(now);
      return this.cmos[i]!;
    }
    if (i === REG_A) {
      const phase = (((now - this.baseNs) % NS) + NS) % NS;
      const uip = !this.frozen() && phase >= NS - UIP_WINDOW_NS;
      return (this.cmos[REG_A]! & 0x7f) | (uip ? 0x80 : 0);
    }
    if (i === REG_C) {
      this.catchUp(now);
      const v = this.cmos[REG_C]!;
      this.cmos[REG_C] = 0;
      this.setIrq(false);
      this.reschedule(now);
      return v;
    }
    if (i === REG_D) return 0x80;
    return this.cmos[i]!;
  }

  private writeByte(port: number, v: number): void {
    const now = this.clock.nowNs();
    if (port === 0x70) { this.nmiMask = (v & 0x80) !== 0; this.index = v & 0x7f; return; }
    if (port === 0x72) { this.upperIndex = 0x80 | (v & 0x7f); return; }
    if (port === 0x73) { this.cmos[this.upperIndex] = v; return; }
    if (port === 0x71) this.writeReg(this.index, v, now);
  }

  private writeReg(i: number, v: number, now: number): void {
    if (i <= 9 || i === CMOS_CENTURY) {
      const isTime = i !== 1 && i !== 3 && i !== 5; // 1, 3, 5 are the alarm registers
      if (isTime && !this.frozen()) {
        this.catchUp(now);
        this.materialize(now);
        this.cmos[i] = v;
        this.rebase(now, false);
        this.reschedule(now);
      } else {
        this.cmos[i] = v;
      }
      return;
    }
    if (i === REG_A) {
      this.catchUp(now);
      const wasReset = this.dividerReset();
      const wasFrozen = this.frozen();
      if (!wasFrozen) this.materialize(now);
      if ((this.cmos[REG_A]! ^ v) & 0x7f) this.periodicBaseNs = now;
      this.cmos[REG_A] = v & 0x7f;
      if (wasReset && !this.dividerReset() && !this.frozen()) {
        this.rebase(now, true);
        this.baseNs = now - NS / 2; // the first update comes 500 ms after the divider leaves reset
      }
      this.reschedule(now);
      return;
    }
    if (i === REG_B) {
      this.catchUp(now);
      const wasFrozen = this.frozen();
      if (!wasFrozen) this.materialize(now);
      this.cmos[REG_B] = v & B_SET ? v & ~B_UIE : v; // SET clears UIE
      if (wasFrozen && !this.frozen()) this.rebase(now, true);
      this.updateIrqf();
      this.reschedule(now);
      return;
    }
    if (i === REG_C || i === REG_D) return; // read-only
    this.cmos[i] = v;
  }

  /** Sets PF/UF/AF for every event in (seenNs, now]. */
  private catchUp(now: number): void {
    const from = this.seenNs;
    if (now <= from) return;
    this.seenNs = now;
    let flags = 0;
    if (!this.dividerReset()) {
      const shift = this.periodShift();
      if (shift >= 0 && this.periodIndex(now, shift) > this.periodIndex(from, shift)) flags |= C_PF;
    }
    if (!this.frozen()) {
      const s0 = this.secondsAt(from), s1 = this.secondsAt(now);
      if (s1 > s0) {
        flags |= C_UF;
        if (this.alarmMatches(s0, s1)) flags |= C_AF;
      }
    }
    if (flags !== 0) { this.cmos[REG_C] |= flags; this.updateIrqf(); }
  }

  /** Rates 1 and 2 behave as 8 and 9 with the 32.768 kHz base; the period is 2^(rate-1) base ticks. */
  private periodShift(): number {
    const rate = this.cmos[REG_A]! & 0xf;
    if (rate === 0) return -1;
    return (rate <= 2 ? rate + 7 : rate) - 1;
  }

  private periodIndex(t: number, shift: number): number {
    if (t <= this.periodicBaseNs) return 0;
    return Math.floor(nsToTicks(t - this.periodicBaseNs, 32768) / 2 ** shift);
  }

  /** Whether any second in (s0, s1] matches the alarm (0xC0..0xFF in a field means "any"). */
  private alarmMatches(s0: number, s1: number): boolean {
    const f = this.format();
    const c = this.cmos;
    const any = (v: number): boolean => (v & 0xc0) === 0xc0;
    const aSec = any(c[1]!) ? -1 : decodeField(c[1]!, f.binary);
    const aMin = any(c[3]!) ? -1 : decodeField(c[3]!, f.binary);
    const aHour = any(c[5]!) ? -1 : decodeHour(c[5]!, f);
    // A day covers every time of day; counting by offset keeps the loop bounded for any s0, s1.
    const n = Math.min(s1 - s0, 86400);
    const sod1 = ((s1 % 86400) + 86400) % 86400;
    for (let k = 0; k < n; k++) {
      const sod = (sod1 - k + 86400 * 2) % 86400;
      if ((aSec < 0 || sod % 60 === aSec) && (aMin < 0 || Math.floor(sod / 60) % 60 === aMin) && (aHour < 0 || Math.floor(sod / 3600) === aHour)) return true;
    }
    return false;
  }

  private updateIrqf(): void {
    const c = this.cmos[REG_C]! & 0x70;
    if (c & this.cmos[REG_B]! & 0x70) {
      this.cmos[REG_C] = c | C_IRQF;
      this.setIrq(true);
    } else {
      this.cmos[REG_C] = c;
    }
  }

  private setIrq(level: boolean): void {
    if (level === this.irqHigh) return;
    this.irqHigh = level;
    this.irq8.set(level);
  }

  private reschedule(now: number): void {
    this.clock.cancel(this.timer);
    this.timer = undefined;
    const b = this.cmos[REG_B]!;
    let next = Infinity;
    const shift = this.periodShift();
    if ((b & B_PIE) && shift >= 0 && !this.dividerReset()) {
      const k = this.periodIndex(now, shift) + 1;
      next = this.periodicBaseNs + ticksToNs(k * 2 ** shift, 32768);
    }
    if ((b & (B_UIE | B_AIE)) && !this.frozen()) {
      next = Math.min(next, this.baseNs + (Math.floor((now - this.baseNs) / NS) + 1) * NS);
    }
    if (next < Infinity) this.timer = this.clock.schedule(next, this.onTimer);
  }

  save(): SavedState {
    return {
      id: ID, version: 1,
      data: {
        cmos: this.cmos.slice(), index: this.index, upperIndex: this.upperIndex, nmiMask: this.nmiMask,
        baseSec: this.baseSec, baseNs: this.baseNs, seenNs: this.seenNs, periodicBaseNs: this.periodicBaseNs, irqHigh: this.irqHigh,
      },
    };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const cmos = stateBytes(ID, d, 'cmos', 256);
    const index = stateInt(ID, d, 'index', 0, 0x7f);
    const upperIndex = stateInt(ID, d, 'upperIndex', 0x80, 0xff);
    const nmiMask = stateBool(ID, d, 'nmiMask');
    // Bounds keep every derived second count exact (below 2^53), so no loop can stall on rounding.
    const baseSec = stateInt(ID, d, 'baseSec', -8.64e12, 8.64e12);
    const time = (f: string): number => {
      const v = stateNumber(ID, d, f);
      if (Math.abs(v) > 2 ** 53) throw new SavedStateError(ID, `field '${f}' is not a plausible VM-clock time: ${v}`);
      return v;
    };
    const baseNs = time('baseNs');
    const seenNs = time('seenNs');
    const periodicBaseNs = time('periodicBaseNs');
    const irqHigh = stateBool(ID, d, 'irqHigh');
    this.cmos.set(cmos);
    this.cmos[REG_D] = 0x80;
    this.index = index; this.upperIndex = upperIndex; this.nmiMask = nmiMask;
    this.baseSec = baseSec; this.baseNs = baseNs; this.seenNs = seenNs; this.periodicBaseNs = periodicBaseNs;
    this.irqHigh = irqHigh;
    this.irq8.set(irqHigh);
    this.reschedule(this.clock.nowNs());
  }
}
