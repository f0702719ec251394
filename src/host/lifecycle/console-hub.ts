/**
 * Fan-out of one VM's serial console: the worker's output goes to every attached client and into a
 * small backlog (so a client that attaches sees the recent screen); any client's input goes to the
 * worker. Clients are told when the VM's worker ends.
 */

const BACKLOG_BYTES = 64 * 1024;

export interface ConsoleClient {
  output(bytes: Buffer): void;
  ended(reason: string): void;
}

export class ConsoleHub {
  private readonly clients = new Set<ConsoleClient>();
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  input: ((bytes: Buffer) => void) | null = null;

  output(bytes: Buffer): void {
    const b = Buffer.from(bytes);
    this.backlog.push(b);
    this.backlogBytes += b.length;
    while (this.backlogBytes > BACKLOG_BYTES && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()!.length;
    for (const c of this.clients) c.output(b);
  }

  attach(c: ConsoleClient): () => void {
    if (this.backlogBytes > 0) c.output(Buffer.concat(this.backlog));
    this.clients.add(c);
    return () => this.clients.delete(c);
  }

  write(bytes: Buffer): void {
    this.input?.(bytes);
  }

  end(reason: string): void {
    for (const c of this.clients) c.ended(reason);
    this.clients.clear();
    this.input = null;
  }

  /** A new run of the VM: the previous run's screen is history. */
  reset(): void {
    this.backlog = [];
    this.backlogBytes = 0;
  }

  get clientCount(): number {
    return this.clients.size;
  }
}
