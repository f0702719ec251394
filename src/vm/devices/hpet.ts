/**
 * High Precision Event Timer (IA-PC HPET 1.0a) at 0xFED00000, 1 KiB: a 64-bit main counter at
 * 100 MHz (period 10 ns = 10,000,000 fs, as QEMU's, so periods are exact in VM-clock nanoseconds)
 * and three comparators, all 64-bit and periodic-capable.
 *
 * Routing: with LEG_RT_CNF, timer 0 goes to IOAPIC pin 2 (IRQ0 on the PIC side) and timer 1 to
 * pin 8; otherwise each timer uses its INT_ROUTE pin, which must be one its route capability
 * allows (default pins 20-23, free on the PC layout; other values are ignored). FSB delivery is not
 * offered. A timer is watched only while INT_ENB is set, so a level-mode status bit is set only for
 * enabled timers. The main counter is writable only while halted; writes while it runs are dropped.
 */
import type { MmioDevice } from '../bus/mmio-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { expectState, SavedStateError, stateBigInt, stateNumber, type Saveable, type SavedState, type StateValue } from '../../common/saved-state.js';
import { stateInt, stateRecordList } from './state-fields.js';

const ID = 'pc.hpet';
export const HPET_BASE = 0xfed00000;
export const HPET_SIZE = 0x400;
const TICK_NS = 10;
const PERIOD_FS = 10_000_000n;
const NUM_TIMERS = 3;
const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const GEN_ENABLE = 1, GEN_LEGACY = 2;
const TN_LEVEL = 0x2, TN_ENB = 0x4, TN_PERIODIC = 0x8, TN_PER_CAP = 0x10, TN_SIZE_CAP = 0x20, TN_VAL_SET = 0x40, TN_32 = 0x100;
const TN_WRITABLE = TN_LEVEL | TN_ENB | TN_PERIODIC | TN_VAL_SET | TN_32;

interface HpetTimer {
  config: number; // low 16 bits; capability bits are added on read
  route: number;
  cmp: bigint;
  period: bigint;
  assertedPin: number;
  handle: TimerHandle | undefined;
}

export interface HpetOptions {
  /** Bit n set: the timers may be routed to IOAPIC pin n. Default 0x00f00000 (pins 20-23). */
  routeCapability?: number;
  /** Told when LEG_RT_CNF changes, so the platform can disconnect the PIT and RTC interrupts. */
  onLegacyReplacement?: (enabled: boolean) => void;
}

export class Hpet implements MmioDevice, Saveable {
  private genConfig = 0;
  private isr = 0;
  /** Counter value when halted, or at `enableNs` while running. */
  private counterBase = 0n;
  private enableNs = 0;
  private readonly timers: HpetTimer[] = [];
  private readonly routeCap: number;
  private readonly onLegacy: ((enabled: boolean) => void) | undefined;
  private readonly onFire: ((now: number) => void)[] = [];

  constructor(private readonly clock: VmClock, private readonly irqForPin: (pin: number) => IrqLine, options: HpetOptions = {}) {
    this.routeCap = (options.routeCapability ?? 0x00f00000) >>> 0;
    this.onLegacy = options.onLegacyReplacement;
    const firstRoute = this.routeCap === 0 ? 0 : 31 - Math.clz32(this.routeCap & -this.routeCap);
    for (let i = 0; i < NUM_TIMERS; i++) {
      this.timers.push({ config: 0, route: firstRoute, cmp: M64, period: 0n, assertedPin: -1, handle: undefined });
      this.onFire.push((now) => this.fire(i, now));
    }
  }

  capabilities(): bigint {
    return (PERIOD_FS << 32n) | (0x8086n << 16n) | (1n << 15n) /* LEG_RT_CAP */ | (1n << 13n) /* 64-bit */ | (BigInt(NUM_TIMERS - 1) << 8n) | 1n;
  }

  counter(now: number): bigint {
    if (!(this.genConfig & GEN_ENABLE)) return this.counterBase;
    return (this.counterBase + BigInt(Math.floor((now - this.enableNs) / TICK_NS))) & M64;
  }

  mmioRead(offset: number, data: Uint8Array): void {
    const now = this.clock.nowNs();
    let i = 0;
    while (i < data.length) {
      const at = offset + i;
      const reg = at - (at % 8);
      const v = this.readReg(reg, now);
      for (let b = at % 8; b < 8 && i < data.length; b++, i++) data[i] = Number((v >> BigInt(8 * b)) & 0xffn);
    }
  }

  mmioWrite(offset: number, data: Uint8Array): void {
    const now = this.clock.nowNs();
    let i = 0;
    while (i < data.length) {
      const at = offset + i;
      const reg = at - (at % 8);
      let v = 0n, mask = 0n;
      for (let b = at % 8; b < 8 && i < data.length; b++, i++) {
        v |= BigInt(data[i]!) << BigInt(8 * b);
        mask |= 0xffn << BigInt(8 * b);
      }
      this.writeReg(reg, v, mask, now);
    }
  }

  private readReg(reg: number, now: number): bigint {
    if (reg === 0x000) return this.capabilities();
    if (reg === 0x010) return BigInt(this.genConfig);
    if (reg === 0x020) return BigInt(this.isr);
    if (reg === 0x0f0) return this.counter(now);
    const t = this.timerAt(reg);
    if (t === undefined) return 0n;
    switch ((reg - 0x100) % 0x20) {
      case 0: return (BigInt(this.routeCap) << 32n) | BigInt(t.config | TN_PER_CAP | TN_SIZE_CAP | (t.route << 9));
      case 8: return t.cmp;
      default: return 0n; // FSB route register: FSB delivery not offered
    }
  }

  private timerAt(reg: number): HpetTimer | undefined {
    if (reg < 0x100) return undefined;
    return this.timers[Math.floor((reg - 0x100) / 0x20)];
  }

  private writeReg(reg: number, v: bigint, mask: bigint, now: number): void {
    const merge = (old: bigint): bigint => (old & ~mask) | (v & mask);
    if (reg === 0x010) { this.writeGenConfig(Number(merge(BigInt(this.genConfig)) & 3n), now); return; }
    if (reg === 0x020) { this.clearStatus(Number(v & mask & 7n)); return; }
    if (reg === 0x0f0) {
      if (!(this.genConfig & GEN_ENABLE)) this.counterBase = merge(this.counterBase);
      return;
    }
    const idx = reg >= 0x100 ? Math.floor((reg - 0x100) / 0x20) : -1;
    const t = this.timers[idx];
    if (t === undefined) return;
    const sub = (reg - 0x100) % 0x20;
    if (sub === 0) {
      if ((mask & 0xffffn) === 0n) return; // only the read-only capability half was written
      const lo = Number(merge(BigInt(t.config | (t.route << 9))) & 0xffffn);
      t.config = lo & TN_WRITABLE;
      const route = (lo >> 9) & 0x1f;
      if ((this.routeCap >>> route) & 1) t.route = route;
      if (t.config & TN_32) { t.cmp &= M32; t.period &= M32; }
      this.refreshLine(idx);
      this.reschedule(idx, now, false);
    } else if (sub === 8) {
      const width = t.config & TN_32 ? M32 : M64;
      if (!(t.config & TN_PERIODIC) || (t.config & TN_VAL_SET)) t.cmp = merge(t.cmp) & width;
      t.period = merge(t.period) & width;
      // A 64-bit comparator set with two 32-bit writes needs VAL_SET to last until the high half.
      if ((t.config & TN_32) || (mask >> 63n) !== 0n) t.config &= ~TN_VAL_SET;
      this.reschedule(idx, now, false);
    }
  }

  private writeGenConfig(v: number, now: number): void {
    const old = this.genConfig;
    if ((old ^ v) & GEN_ENABLE) {
      if (v & GEN_ENABLE) { this.enableNs = now; } else { this.counterBase = this.counter(now); }
    }
    this.genConfig = v;
    if ((old ^ v) & GEN_LEGACY) {
      for (let i = 0; i < NUM_TIMERS; i++) this.refreshLine(i);
      this.onLegacy?.((v & GEN_LEGACY) !== 0);
    }
    for (let i = 0; i < NUM_TIMERS; i++) this.reschedule(i, now, false);
  }

  private clearStatus(bits: number): void {
    this.isr &= ~bits;
    for (let i = 0; i < NUM_TIMERS; i++) if (bits & (1 << i)) this.refreshLine(i);
  }

  private pinFor(i: number): number {
    if (this.genConfig & GEN_LEGACY) { if (i === 0) return 2; if (i === 1) return 8; }
    return this.timers[i]!.route;
  }

  /** Level mode: the line follows status & INT_ENB on the current route. */
  private refreshLine(i: number): void {
    const t = this.timers[i]!;
    const want = (t.config & TN_LEVEL) && (t.config & TN_ENB) && (this.isr & (1 << i)) ? this.pinFor(i) : -1;
    if (want === t.assertedPin) return;
    if (t.assertedPin >= 0) this.irqForPin(t.assertedPin).set(false);
    t.assertedPin = want;
    if (want >= 0) this.irqForPin(want).set(true);
  }

  private reschedule(i: number, now: number, justFired: boolean): void {
    const t = this.timers[i]!;
    this.clock.cancel(t.handle);
    t.handle = undefined;
    if (!(this.genConfig & GEN_ENABLE) || !(t.config & TN_ENB)) return;
    const width = t.config & TN_32 ? M32 : M64;
    const count = this.counter(now);
    let diff = ((t.cmp & width) - (count & width)) & width;
    if (diff === 0n && justFired) diff = width + 1n;
    if (diff > 1n << 60n) return; // centuries away: never in a VM's life
    const sinceEnable = BigInt(Math.floor((now - this.enableNs) / TICK_NS));
    t.handle = this.clock.schedule(this.enableNs + Number(sinceEnable + diff) * TICK_NS, this.onFire[i]!);
  }

  private fire(i: number, now: number): void {
    const t = this.timers[i]!;
    t.handle = undefined;
    if (t.config & TN_LEVEL) { this.isr |= 1 << i; this.refreshLine(i); }
    else this.irqForPin(this.pinFor(i)).pulse();
    if ((t.config & TN_PERIODIC) && t.period > 0n) {
      const width = t.config & TN_32 ? M32 : M64;
      const behind = (this.counter(now) - t.cmp) & width;
      t.cmp = (t.cmp + (behind / t.period + 1n) * t.period) & width; // one interrupt for missed periods
    }
    this.reschedule(i, now, true);
  }

  save(): SavedState {
    const timers: StateValue[] = this.timers.map((t) => ({ config: t.config, route: t.route, cmp: t.cmp, period: t.period, assertedPin: t.assertedPin }));
    return { id: ID, version: 1, data: { genConfig: this.genConfig, isr: this.isr, counterBase: this.counterBase, enableNs: this.enableNs, timers } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const genConfig = stateInt(ID, d, 'genConfig', 0, 3);
    const isr = stateInt(ID, d, 'isr', 0, 7);
    const counterBase = stateBigInt(ID, d, 'counterBase');
    const enableNs = stateNumber(ID, d, 'enableNs');
    if (counterBase < 0n || counterBase > M64) throw new SavedStateError(ID, `field 'counterBase' must be a 64-bit unsigned value`);
    const loaded = stateRecordList(ID, d, 'timers', NUM_TIMERS).map((r) => {
      const config = stateInt(ID, r, 'config', 0, 0xffff);
      const route = stateInt(ID, r, 'route', 0, 31);
      const cmp = stateBigInt(ID, r, 'cmp');
      const period = stateBigInt(ID, r, 'period');
      const assertedPin = stateInt(ID, r, 'assertedPin', -1, 31);
      if (cmp < 0n || cmp > M64 || period < 0n || period > M64) throw new SavedStateError(ID, 'timer comparator/period must be 64-bit unsigned values');
      return { config: config & TN_WRITABLE, route, cmp, period, assertedPin };
    });
    const now = this.clock.nowNs();
    for (let i = 0; i < NUM_TIMERS; i++) { this.clock.cancel(this.timers[i]!.handle); this.timers[i]!.handle = undefined; }
    this.genConfig = genConfig; this.isr = isr; this.counterBase = counterBase; this.enableNs = enableNs;
    for (let i = 0; i < NUM_TIMERS; i++) {
      const t = this.timers[i]!;
      const l = loaded[i]!;
      t.config = l.config; t.route = l.route; t.cmp = l.cmp; t.period = l.period;
      t.assertedPin = -1;
      this.refreshLine(i);
      this.reschedule(i, now, false);
    }
  }
}
