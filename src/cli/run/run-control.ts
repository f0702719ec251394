/**
 * What the control socket sees of one `viridian run`: the machine running now (a guest reset
 * swaps it), the balloon target the host asked for (a rebuilt machine starts with it), the
 * channels, and waiters for the guest's next balloon statistics report.
 */
import type { Machine } from '../../vm/machine/machine.js';
import type { VmLoop } from '../../vm/machine/vm-loop.js';
import type { ChannelSocket } from './channel-socket.js';
import type { ControlContext } from './control-commands.js';

export class RunControl implements ControlContext {
  readonly startedAt = Date.now();
  balloonTargetPages = 0;
  resetCount = 0;
  private loop: VmLoop | undefined;
  private channelSockets: ChannelSocket[] = [];
  private statsWaiters: ((fresh: boolean) => void)[] = [];

  constructor(readonly cpus: number) {}

  bind(loop: VmLoop, channels: ChannelSocket[]): void { this.loop = loop; this.channelSockets = channels; }

  machine(): Machine {
    if (this.loop === undefined) throw new Error('the VM has not started yet');
    return this.loop.machine;
  }

  channels(): { name: string; connected: boolean }[] { return this.channelSockets.map((c) => ({ name: c.name, connected: c.connected })); }
  resets(): number { return this.resetCount; }
  setBalloonTargetPages(pages: number): void { this.balloonTargetPages = pages; }
  kick(): void { this.loop?.kick(); }

  nextStats(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (fresh: boolean): void => { clearTimeout(timer); resolve(fresh); };
      const timer = setTimeout(() => { this.statsWaiters = this.statsWaiters.filter((w) => w !== done); resolve(false); }, ms);
      this.statsWaiters.push(done);
    });
  }

  statsArrived(): void {
    const waiting = this.statsWaiters;
    this.statsWaiters = [];
    for (const w of waiting) w(true);
  }
}
