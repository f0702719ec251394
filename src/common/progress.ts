/**
 * A progress bar for long operations. It draws on stderr only when stderr is a TTY and the caller
 * did not ask for machine output (--json), so scripts and logs never see control characters.
 */
export class Progress {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(private readonly label: string, private readonly total: number, opts: { json?: boolean } = {}) {
    this.enabled = !opts.json && process.stderr.isTTY === true && total > 0;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const fill = Math.round(frac * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
  }

  finish(): void {
    if (!this.enabled) return;
    this.update(this.total);
    process.stderr.write('\n');
  }
}
