/**
 * One 8254 counter channel. The count is never stored as a running value: it is computed from the
 * VM clock (ticks since the count was loaded), so reads are exact and no polling timer is needed.
 */
import { nsToTicks, ticksToNs } from './ticks.js';

export const PIT_HZ = 1_193_182;

export class PitChannel {
  /** Reload value in ticks: 1..65536 (binary) or 1..10000 (BCD); a written 0 means the maximum. */
  reload = 0x10000;
  mode = 0;
  bcd = false;
  /** 1 = LSB only, 2 = MSB only, 3 = LSB then MSB. */
  access = 3;
  /** Word access: true when the next read/write is the MSB. */
  readMsb = false;
  writeMsb = false;
  writeLatch = 0;
  /** Latched count (counter latch / read-back), or -1. latchMsb: next latched byte is the MSB. */
  latched = -1;
  latchMsb = false;
  /** Latched status byte, or -1. */
  status = -1;
  gate = false;
  /** VM-clock time the count was loaded (or re-triggered by the gate). */
  loadNs = 0;
  nullCount = true;
  /** False between a control word and the first count write (mode 0 output held low). */
  armed = false;

  constructor(gate: boolean) { this.gate = gate; }

  elapsedTicks(nowNs: number): number { return nsToTicks(nowNs - this.loadNs, PIT_HZ); }

  /** The counting element's value now (in binary; BCD conversion happens on read). */
  count(nowNs: number): number {
    if (!this.armed) return this.reload & 0xffff;
    const d = this.elapsedTicks(nowNs);
    const n = this.reload;
    switch (this.mode) {
      case 2: return n - (d % n);
      case 3: return n - ((2 * d) % n); // decrements by two each clock, reloads on reaching 0
      default: { // modes 0, 1, 4, 5 wrap past zero and keep counting
        const mod = this.bcd ? 10000 : 0x10000;
        return (((n - d) % mod) + mod) % mod;
      }
    }
  }

  /** The OUT pin now. */
  out(nowNs: number): boolean {
    if (!this.armed) return this.mode !== 0;
    const d = this.elapsedTicks(nowNs);
    const n = this.reload;
    switch (this.mode) {
      case 0: return d >= n;
      case 1: return d >= n;
      case 2: return n === 1 || d % n !== n - 1;
      case 3: return d % n < ((n + 1) >> 1);
      default: return d !== n; // 4, 5: a one-clock low strobe at terminal count
    }
  }

  /**
   * Tick (since load) of the next interrupt event after tick `d`, or -1 if none: the terminal count
   * in modes 0/1/4/5 and the start of each period in modes 2/3.
   */
  nextEventTick(d: number): number {
    if (!this.armed) return -1;
    const n = this.reload;
    if (this.mode === 2 || this.mode === 3) return (Math.floor(d / n) + 1) * n;
    return d < n ? n : -1;
  }

  eventNs(tick: number): number { return this.loadNs + ticksToNs(tick, PIT_HZ); }

  /** Status byte for read-back: OUT, null count, access, mode, BCD. */
  statusByte(nowNs: number): number {
    return (this.out(nowNs) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.access << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }
}

export function toBcd(v: number): number {
  const x = v % 10000;
  return (x % 10) | ((Math.floor(x / 10) % 10) << 4) | ((Math.floor(x / 100) % 10) << 8) | (Math.floor(x / 1000) << 12);
}

/** Nibbles above 9 are taken at face value (a hostile count still yields a defined number). */
export function fromBcd(v: number): number {
  return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}
