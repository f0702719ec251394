/**
 * The worker process's side of the channel: a Unix socket in the VM directory that the service
 * connects to (and re-connects to after a service restart). One service connection at a time; a
 * new one replaces the old. It drives the runtime on the service's requests, forwards console
 * bytes both ways and keeps the last 64 KiB of console output for a service that attaches later.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { errorMessage } from '../../common/errors.js';
import { writeExitRecord } from './exit-record.js';
import { FRAME_CONSOLE_IN, FRAME_CONSOLE_OUT, FRAME_JSON, FrameDecoder, encodeFrame, encodeJson } from './ipc-frame.js';
import { PROTOCOL_VERSION, parseServiceMessage, type ExitOutcome, type ServiceMessage, type WorkerMessage, type WorkerState } from './ipc-protocol.js';
import type { WorkerFiles } from './worker-files.js';
import type { VmRuntime, VmRuntimeExit } from './vm-runtime.js';

const CONSOLE_BACKLOG = 64 * 1024;

export class WorkerServer {
  private state: WorkerState = 'created';
  private conn: Socket | null = null;
  private server: Server | null = null;
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private runtime!: VmRuntime;

  constructor(
    private readonly vmId: string,
    private readonly instance: string,
    private readonly files: WorkerFiles,
    private readonly onFinished: () => void,
  ) {}

  /** Called once the runtime exists (the runtime's listeners call back into this object). */
  attachRuntime(rt: VmRuntime): void {
    this.runtime = rt;
  }

  listen(): Promise<void> {
    rmSync(this.files.socket, { force: true });
    const server = createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.files.socket, () => {
        chmodSync(this.files.socket, 0o600);
        resolve();
      });
    });
  }

  consoleOutput(bytes: Uint8Array): void {
    const b = Buffer.from(bytes);
    this.backlog.push(b);
    this.backlogBytes += b.length;
    while (this.backlogBytes > CONSOLE_BACKLOG && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()!.length;
    for (let off = 0; off < b.length; off += 65536) this.conn?.write(encodeFrame(FRAME_CONSOLE_OUT, b.subarray(off, off + 65536)));
  }

  runtimeExit(exit: VmRuntimeExit): void {
    if (exit.kind === 'powered-off') this.finish('off', 'the guest powered off');
    else this.finish('failed', exit.reason);
  }

  /** Turns the machine off and ends the worker (SIGTERM sent to the worker itself). */
  terminate(reason: string): void {
    if (this.state === 'exiting') return;
    const running = this.state !== 'created';
    (running ? this.runtime.turnOff() : Promise.resolve()).catch(() => undefined).finally(() => this.finish('off', reason));
  }

  /** Ends the worker: exit record first (it survives a missing service), then the notice, then exit. */
  finish(outcome: ExitOutcome, reason: string | null): void {
    if (this.state === 'exiting') return;
    this.state = 'exiting';
    try {
      writeExitRecord(this.files.exitRecord, { outcome, reason, instance: this.instance, at: new Date().toISOString() });
    } catch {
      // Nothing better to do: the service will see no record and report the worker as failed.
    }
    this.server?.close();
    rmSync(this.files.socket, { force: true });
    const c = this.conn;
    if (c === null || c.destroyed) {
      this.onFinished();
      return;
    }
    c.end(encodeJson({ type: 'exit', outcome, reason } satisfies WorkerMessage), () => this.onFinished());
    setTimeout(() => this.onFinished(), 1000).unref();
  }

  /**
   * A connection counts only once its hello carries this worker's instance id; only then does it
   * replace the current one. Anything else on the socket (another worker, say: Node's permission
   * model does not restrict connecting to Unix sockets) is dropped without disturbing the service.
   */
  private accept(s: Socket): void {
    if (this.state === 'exiting') {
      s.destroy();
      return;
    }
    let authed = false;
    const decoder = new FrameDecoder();
    const deadline = setTimeout(() => { if (!authed) s.destroy(); }, 5000);
    s.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (kind, payload) => {
          if (!authed) {
            const hello = kind === FRAME_JSON ? parseServiceMessage(payload) : null;
            if (hello?.type !== 'hello' || !sameSecret(hello.instance, this.instance)) throw new Error('not the service');
            authed = true;
            clearTimeout(deadline);
            if (this.conn !== s) this.conn?.destroy();
            this.conn = s;
          }
          if (kind === FRAME_JSON) this.onMessage(s, parseServiceMessage(payload));
          else if (kind === FRAME_CONSOLE_IN) this.runtime.writeConsole(payload);
          else throw new Error('console output frames do not flow towards the worker');
        });
      } catch {
        s.destroy();
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => {
      clearTimeout(deadline);
      if (this.conn === s) this.conn = null;
    });
  }

  private send(s: Socket, msg: WorkerMessage): void {
    if (!s.destroyed) s.write(encodeJson(msg));
  }

  private onMessage(s: Socket, msg: ServiceMessage): void {
    if (msg.type === 'hello') {
      this.send(s, { type: 'hello', protocol: PROTOCOL_VERSION, vmId: this.vmId, instance: this.instance, pid: process.pid, state: this.state });
      if (this.backlog.length > 0) s.write(encodeFrame(FRAME_CONSOLE_OUT, Buffer.concat(this.backlog)));
      return;
    }
    const { id } = msg;
    this.handle(msg).then(
      (result) => this.send(s, result === undefined ? { type: 'response', id, ok: true } : { type: 'response', id, ok: true, result }),
      (e: unknown) => this.send(s, { type: 'response', id, ok: false, error: errorMessage(e) }),
    );
  }

  private setState(state: 'running' | 'paused'): void {
    this.state = state;
    if (this.conn !== null) this.send(this.conn, { type: 'state', state });
  }

  private need(op: string, ...states: WorkerState[]): void {
    if (!states.includes(this.state)) throw new Error(`cannot ${op}: the worker is ${this.state}`);
  }

  private async handle(msg: Extract<ServiceMessage, { type: 'request' }>): Promise<Record<string, number> | undefined> {
    switch (msg.op) {
      case 'start': {
        this.need('start', 'created');
        this.state = 'starting';
        const from = msg.from === 'saved-state' ? { kind: 'saved-state' as const, file: this.files.savedState } : { kind: 'boot' as const };
        try {
          await this.runtime.start(from);
        } catch (e) {
          // Answer first so the start request reports the reason; then end as failed.
          setImmediate(() => this.finish('failed', `start failed: ${errorMessage(e)}`));
          throw e;
        }
        if (this.state === 'starting') this.setState('running');
        return undefined;
      }
      case 'pause':
        this.need('pause', 'running');
        await this.runtime.pause();
        this.setState('paused');
        return undefined;
      case 'resume':
        this.need('resume', 'paused');
        await this.runtime.resume();
        this.setState('running');
        return undefined;
      case 'power-button':
        this.need('press the power button', 'running');
        this.runtime.pressPowerButton();
        return undefined;
      case 'turn-off':
        this.need('turn off', 'running', 'paused', 'starting');
        await this.runtime.turnOff();
        setImmediate(() => this.finish('off', 'turned off'));
        return undefined;
      case 'save':
        this.need('save', 'running', 'paused');
        await this.runtime.saveTo(this.files.savedState);
        setImmediate(() => this.finish('saved', null));
        return undefined;
      case 'counters':
        return { ...this.runtime.counters() };
    }
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
