/**
 * The host end of one agent channel: a Unix socket whose client is joined to a named
 * virtio-console port. One client at a time (a second is refused: two agents talking over each
 * other on one byte stream would corrupt both); while it is connected the port's host end is
 * open, so the guest sees the channel come and go with the client.
 *
 * The port takes what fits in its ring (64 KiB); the rest waits here and pump() — called after
 * every burst of the VM loop — moves it along. Past HIGH_WATER bytes waiting the client is paused,
 * so a client that writes faster than the guest reads is slowed down rather than buffered without
 * bound. A guest reset rebuilds the machine: attach() joins the new port, and bytes meant for the
 * old guest are dropped as the port itself would have dropped them.
 */
import type net from 'node:net';
import type { ConsolePort, ConsolePortListener } from '../../vm/virtio/console/console-port.js';
import { UnixListener } from './unix-listener.js';

const HIGH_WATER = 256 * 1024;

export class ChannelSocket {
  private port: ConsolePort | undefined;
  private client: net.Socket | undefined;
  private readonly waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  private listener: UnixListener | undefined;
  /** Connections refused because a client was already connected. */
  refused = 0;

  private readonly toClient: ConsolePortListener = {
    // The bytes are only valid during the call: copy them for the socket.
    data: (bytes) => { this.client?.write(Buffer.from(bytes)); },
  };

  constructor(readonly name: string, readonly path: string) {}

  async open(): Promise<void> {
    this.listener = await UnixListener.open(`--channel ${this.name}`, this.path, (s) => this.accept(s));
  }

  /** Joins the port of a (re)built machine. */
  attach(port: ConsolePort | undefined): void {
    this.port = port;
    this.dropWaiting();
    if (port === undefined) return;
    port.listener = this.toClient;
    if (this.client !== undefined) port.connect();
  }

  get connected(): boolean { return this.client !== undefined; }

  private accept(s: net.Socket): void {
    if (this.client !== undefined) { this.refused++; s.destroy(); return; }
    this.client = s;
    s.on('data', (d: Buffer) => { this.waiting.push(d); this.waitingBytes += d.length; this.pump(); });
    s.on('close', () => {
      if (this.client !== s) return;
      this.client = undefined;
      this.dropWaiting();
      this.port?.disconnect();
    });
    this.port?.connect();
    s.resume();
  }

  /** Moves waiting client bytes into the port as far as it has room; pauses or resumes the client. */
  pump(): void {
    const p = this.port;
    while (p !== undefined && this.waiting.length > 0) {
      const head = this.waiting[0]!;
      const n = p.write(head);
      this.waitingBytes -= n;
      if (n === head.length) this.waiting.shift();
      else { this.waiting[0] = head.subarray(n); break; }
    }
    const c = this.client;
    if (c === undefined) return;
    if (this.waitingBytes > HIGH_WATER) c.pause(); else if (c.isPaused()) c.resume();
  }

  private dropWaiting(): void {
    this.waiting.length = 0;
    this.waitingBytes = 0;
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    await this.listener?.close();
  }
}
