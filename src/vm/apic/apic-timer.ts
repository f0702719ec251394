/**
 * The local APIC timer (SDM vol. 3A 11.5.4): a down-counter clocked by the APIC bus clock through
 * the divide configuration register, in one-shot, periodic or TSC-deadline mode. The count is
 * never stepped: it is computed from the VM clock on every read, and expiry is one timer on the
 * VM clock, so an idle guest costs nothing.
 */
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { SavedStateError, stateBigInt, stateBool, stateNumber, type StateValue } from '../../common/saved-state.js';

export const TIMER_ONE_SHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;

/** Divide configuration bits 0, 1 and 3 select divide-by 2,4,8,16,32,64,128 or 1 (SDM fig. 11-10). */
export function divisorOf(dcr: number): number {
  const v = (dcr & 3) | ((dcr >> 1) & 4);
  return v === 7 ? 1 : 2 << v;
}

export class ApicTimer {
  private mode = TIMER_ONE_SHOT;
  private divideConfig = 0;
  private initialCount = 0;
  /** Count value at baseNs; the counter runs down from here. 0 = stopped. */
  private baseCount = 0;
  private baseNs = 0;
  private tscDeadline = 0n;
  private handle: TimerHandle | undefined;
  private readonly onExpiry = (now: number): void => this.expire(now);

  constructor(
    private readonly clock: VmClock,
    private readonly nsPerBusCycle: number,
    private readonly tscToNs: (tsc: bigint) => number,
    /** Called when the timer expires: the APIC raises the LVT timer interrupt if unmasked. */
    private readonly fire: () => void,
  ) {}

  private periodNs(): number { return this.nsPerBusCycle * divisorOf(this.divideConfig); }

  getDivideConfig(): number { return this.divideConfig; }
  getInitialCount(): number { return this.initialCount; }
  getTscDeadline(): bigint { return this.mode === TIMER_TSC_DEADLINE ? this.tscDeadline : 0n; }

  currentCount(): number {
    if (this.mode === TIMER_TSC_DEADLINE || this.baseCount === 0) return 0;
    const ticks = Math.floor((this.clock.nowNs() - this.baseNs) / this.periodNs());
    if (ticks < this.baseCount) return this.baseCount - ticks;
    if (this.mode !== TIMER_PERIODIC || this.initialCount === 0) return 0;
    return this.initialCount - ((ticks - this.baseCount) % this.initialCount);
  }

  /** LVT timer mode bits 18:17; 3 is reserved and treated as one-shot. */
  setMode(lvtMode: number): void {
    const mode = lvtMode === TIMER_PERIODIC || lvtMode === TIMER_TSC_DEADLINE ? lvtMode : TIMER_ONE_SHOT;
    if (mode === this.mode) return;
    // Switching into or out of TSC-deadline mode disarms the timer (SDM 11.5.4.1).
    if (mode === TIMER_TSC_DEADLINE || this.mode === TIMER_TSC_DEADLINE) {
      this.disarm();
      this.initialCount = 0;
      this.tscDeadline = 0n;
      this.mode = mode;
      return;
    }
    // One-shot <-> periodic: keep counting from the present value under the new mode.
    const current = this.currentCount();
    this.mode = mode;
    this.rebase(current);
  }

  writeInitialCount(value: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) return;
    this.initialCount = value >>> 0;
    this.rebase(this.initialCount);
  }

  writeDivideConfig(value: number): void {
    const current = this.currentCount();
    this.divideConfig = value & 0xb;
    this.rebase(current);
  }

  writeTscDeadline(tsc: bigint): void {
    if (this.mode !== TIMER_TSC_DEADLINE) return;
    this.disarm();
    this.tscDeadline = BigInt.asUintN(64, tsc);
    if (this.tscDeadline === 0n) return;
    const ns = this.tscToNs(this.tscDeadline);
    const now = this.clock.nowNs();
    this.handle = this.clock.schedule(Number.isFinite(ns) && ns > now ? ns : now, this.onExpiry);
  }

  /** The APIC was reset (INIT, global disable): stop and clear everything. */
  reset(): void {
    this.disarm();
    this.mode = TIMER_ONE_SHOT;
    this.divideConfig = 0;
    this.initialCount = 0;
    this.baseCount = 0;
    this.baseNs = 0;
    this.tscDeadline = 0n;
  }

  private disarm(): void {
    this.clock.cancel(this.handle);
    this.handle = undefined;
    this.baseCount = 0;
  }

  private rebase(count: number): void {
    this.disarm();
    if (count === 0) return;
    this.baseCount = count;
    this.baseNs = this.clock.nowNs();
    this.handle = this.clock.schedule(this.baseNs + count * this.periodNs(), this.onExpiry);
  }

  private expire(now: number): void {
    this.handle = undefined;
    if (this.mode === TIMER_TSC_DEADLINE) {
      this.tscDeadline = 0n;
      this.fire();
      return;
    }
    const period = this.periodNs();
    const expiry = this.baseNs + this.baseCount * period;
    if (this.mode === TIMER_PERIODIC && this.initialCount !== 0) {
      // Coalesce periods missed while the VM loop was away: one interrupt, next deadline after now,
      // so a tiny guest period can never make runDue() spin.
      const full = this.initialCount * period;
      const missed = now > expiry ? Math.floor((now - expiry) / full) : 0;
      this.baseNs = expiry + missed * full;
      this.baseCount = this.initialCount;
      this.handle = this.clock.schedule(this.baseNs + full, this.onExpiry);
    } else {
      this.baseCount = 0;
    }
    this.fire();
  }

  save(): { [key: string]: StateValue } {
    return {
      mode: this.mode, divideConfig: this.divideConfig, initialCount: this.initialCount,
      baseCount: this.baseCount, baseNs: this.baseNs, tscDeadline: this.tscDeadline, armed: this.handle !== undefined,
    };
  }

  /** Validates the whole record first; schedules on the (already restored) VM clock. */
  restore(id: string, d: { [key: string]: StateValue }): void {
    const mode = stateNumber(id, d, 'timer.mode');
    const divideConfig = stateNumber(id, d, 'timer.divideConfig');
    const initialCount = stateNumber(id, d, 'timer.initialCount');
    const baseCount = stateNumber(id, d, 'timer.baseCount');
    const baseNs = stateNumber(id, d, 'timer.baseNs');
    const tscDeadline = stateBigInt(id, d, 'timer.tscDeadline');
    const armed = stateBool(id, d, 'timer.armed');
    if (mode !== TIMER_ONE_SHOT && mode !== TIMER_PERIODIC && mode !== TIMER_TSC_DEADLINE) throw new SavedStateError(id, `timer mode ${mode} is not 0, 1 or 2`);
    if (!isU32(divideConfig) || !isU32(initialCount) || !isU32(baseCount)) throw new SavedStateError(id, 'timer counts must be 32-bit unsigned integers');
    if (!Number.isSafeInteger(baseNs) || baseNs < 0) throw new SavedStateError(id, 'timer.baseNs must be a non-negative integer');
    if (tscDeadline < 0n || tscDeadline >= 1n << 64n) throw new SavedStateError(id, 'timer.tscDeadline must be a 64-bit unsigned integer');
    this.clock.cancel(this.handle);
    this.handle = undefined;
    this.mode = mode;
    this.divideConfig = divideConfig & 0xb;
    this.initialCount = initialCount;
    this.baseCount = baseCount;
    this.baseNs = baseNs;
    this.tscDeadline = tscDeadline;
    if (!armed) return;
    if (mode === TIMER_TSC_DEADLINE) {
      if (tscDeadline !== 0n) { const ns = this.tscToNs(tscDeadline); this.handle = this.clock.schedule(Number.isFinite(ns) ? ns : this.clock.nowNs(), this.onExpiry); }
    } else if (baseCount !== 0) {
      this.handle = this.clock.schedule(baseNs + baseCount * this.periodNs(), this.onExpiry);
    }
  }
}

function isU32(v: number): boolean { return Number.isInteger(v) && v >= 0 && v <= 0xffffffff; }
