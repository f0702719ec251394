/**
 * Drives a Machine on the host's event loop: runs slices for a few milliseconds of host time,
 * then yields so console input, signals and sockets are served; sleeps until the next timer when
 * every processor is halted. A guest reset rebuilds the machine from its factory (a fresh board
 * and RAM, the kernel loaded again), as pressing a PC's reset button restarts firmware.
 */
import type { Machine, MachineEvent } from './machine.js';

/** Instructions per processor per slice: about a millisecond of guest work. */
const SLICE_BUDGET = 20_000;
/** Host time to run before yielding to the event loop. */
const RUN_MS = 15;
/** Longest sleep while idle, so input and stop requests are never starved. */
const MAX_IDLE_MS = 50;

export type VmExit =
  | { kind: 'poweroff'; status: 0 }
  | { kind: 'exit'; status: number }
  | { kind: 'reset'; status: number; reason: string; cpuState?: string }
  | { kind: 'stopped'; status: number };

export interface VmLoopOptions {
  /** Builds (and boots) a machine; called at start and after every guest reset. */
  create: () => Machine;
  /** End instead of restarting when the guest resets (--no-reboot). */
  noReboot: boolean;
  /** Status for a reset with noReboot (documented in the CLI help). */
  resetStatus?: number;
  /** Called after each burst of slices (e.g. to flush console output). */
  afterBurst?: () => void;
  /** Called after a reset rebuilt the machine. */
  onReset?: (reason: string, m: Machine) => void;
}

export class VmLoop {
  machine: Machine;
  private stopStatus: number | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: VmLoopOptions) {
    this.machine = o.create();
  }

  /** Ends run() at the next burst boundary with this status (Ctrl-A x, SIGTERM, a pause). */
  stop(status: number): void { this.stopStatus = status; this.kick(); }

  /** Something happened outside the VM (input arrived): end an idle sleep now. */
  kick(): void { const w = this.wake; this.wake = undefined; w?.(); }

  async run(): Promise<VmExit> {
    for (;;) {
      const exit = this.burst();
      this.o.afterBurst?.();
      if (exit !== undefined) return exit;
      if (this.stopStatus !== undefined) {
        // Taken: a later run() continues the same machine (pause, then resume).
        const status = this.stopStatus;
        this.stopStatus = undefined;
        return { kind: 'stopped', status };
      }
      if (this.machine.idle) await this.sleep(); else await new Promise<void>((r) => setImmediate(r));
    }
  }

  private burst(): VmExit | undefined {
    const end = performance.now() + RUN_MS;
    do {
      this.machine.runSlice(SLICE_BUDGET);
      const e = this.machine.takeEvent();
      if (e !== undefined) {
        const exit = this.onEvent(e);
        if (exit !== undefined) return exit;
      }
      if (this.machine.idle || this.stopStatus !== undefined) return undefined;
    } while (performance.now() < end);
    return undefined;
  }

  private onEvent(e: MachineEvent): VmExit | undefined {
    switch (e.kind) {
      case 'poweroff': return { kind: 'poweroff', status: 0 };
      case 'exit': return { kind: 'exit', status: e.status };
      case 'reset':
        if (this.o.noReboot) return { kind: 'reset', status: this.o.resetStatus ?? 1, reason: e.reason, cpuState: e.cpuState };
        this.machine = this.o.create();
        this.o.onReset?.(e.reason, this.machine);
        return undefined;
    }
  }

  private sleep(): Promise<void> {
    const m = this.machine;
    const untilTimer = (m.clock.nextDeadline() - m.clock.nowNs()) / 1e6;
    const ms = Math.max(0, Math.min(MAX_IDLE_MS, untilTimer));
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }
}
