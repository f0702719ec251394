/**
 * Virtual time (design rule 3). Devices never read the wall clock: they ask the VM clock for the
 * current guest time in nanoseconds and schedule timers on it. The VM loop calls runDue() between
 * CPU time slices and asks nextDeadline() how long the CPU may run before a timer is due.
 *
 * Two sources: host monotonic time (default), or an instruction-count-driven clock for
 * deterministic runs, where the VM loop advances time explicitly.
 */
export interface TimerHandle { readonly id: number }

export type TimerCallback = (nowNs: number) => void;

interface Timer { id: number; deadline: number; cb: TimerCallback }

export class VmClock {
  private timers: Timer[] = [];
  private nextId = 1;
  private offsetNs = 0;
  private pausedAt: number | undefined;
  private manualNs = 0;

  constructor(private readonly mode: 'host' | 'manual' = 'host') {}

  /** Guest time in ns since the VM was created; monotonic; frozen while paused. */
  nowNs(): number {
    if (this.mode === 'manual') return this.manualNs;
    if (this.pausedAt !== undefined) return this.pausedAt;
    return Number(process.hrtime.bigint()) - this.offsetNs;
  }

  /** Deterministic mode: move time forward (never backward). */
  advance(ns: number): void {
    if (this.mode !== 'manual') throw new Error('advance() is for the manual clock');
    if (ns > 0) this.manualNs += ns;
  }

  pause(): void { if (this.pausedAt === undefined) this.pausedAt = this.nowNs(); }

  resume(): void {
    if (this.pausedAt === undefined || this.mode === 'manual') { this.pausedAt = undefined; return; }
    this.offsetNs = Number(process.hrtime.bigint()) - this.pausedAt;
    this.pausedAt = undefined;
  }

  /** Restores guest time (after a snapshot restore or migration) so it continues from `ns`. */
  setNow(ns: number): void {
    if (this.mode === 'manual') { this.manualNs = ns; return; }
    this.offsetNs = Number(process.hrtime.bigint()) - ns;
    if (this.pausedAt !== undefined) this.pausedAt = ns;
  }

  schedule(deadlineNs: number, cb: TimerCallback): TimerHandle {
    const t: Timer = { id: this.nextId++, deadline: deadlineNs, cb };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.deadline > deadlineNs) i--;
    this.timers.splice(i, 0, t);
    return t;
  }

  cancel(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    const i = this.timers.findIndex((t) => t.id === handle.id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Earliest deadline, or Infinity. */
  nextDeadline(): number {
    return this.timers.length > 0 ? this.timers[0]!.deadline : Infinity;
  }

  /** Runs every timer whose deadline has passed, in deadline order. */
  runDue(): void {
    const now = this.nowNs();
    while (this.timers.length > 0 && this.timers[0]!.deadline <= now) {
      const t = this.timers.shift()!;
      t.cb(now);
    }
  }
}
