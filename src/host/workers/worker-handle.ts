/**
 * The service's side of one worker: the socket connection, requests with answers, and how the
 * worker ended. A worker ends exactly once, reported through onEnd: with its own word (the exit
 * notice or, if the service missed that, the exit record file), or as failed with the best reason
 * known (the signal that killed it when the service is its parent).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { errorMessage } from '../../common/errors.js';
import { readExitRecord } from './exit-record.js';
import { FRAME_CONSOLE_IN, FRAME_CONSOLE_OUT, FRAME_JSON, FrameDecoder, encodeFrame, encodeJson } from './ipc-frame.js';
import { PROTOCOL_VERSION, parseWorkerMessage, type ExitOutcome, type WorkerMessage, type WorkerOp, type WorkerState } from './ipc-protocol.js';
import type { WorkerFiles } from './worker-files.js';

/**
 * The worker already listens when we connect, so silence means a starved or hung process; on a
 * loaded two-core host 50 workers starting at once took longer than 5 s to answer.
 */
const HELLO_TIMEOUT_MS = 30_000;
/** Generous: restoring or saving a large VM takes a while; a hung worker still gets noticed. */
const SLOW_OPS: readonly WorkerOp[] = ['start', 'save', 'turn-off'];
const SLOW_TIMEOUT_MS = 120_000;
const FAST_TIMEOUT_MS = 15_000;

export interface WorkerEnd {
  outcome: ExitOutcome;
  reason: string | null;
}

export interface WorkerEvents {
  onState(state: 'running' | 'paused'): void;
  onConsole(bytes: Buffer): void;
  onEnd(end: WorkerEnd): void;
}

export interface WorkerIdentity {
  vmId: string;
  instance: string;
  pid: number;
}

interface Pending {
  resolve(r: Record<string, number> | undefined): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class WorkerHandle {
  /** The worker's state as of its hello (then kept current by state notices). */
  state: WorkerState = 'created';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitNotice: WorkerEnd | null = null;
  private childExit: string | null = null;
  private detached = false;
  private ended = false;

  private constructor(
    readonly id: WorkerIdentity,
    private readonly files: WorkerFiles,
    private readonly sock: Socket,
    private readonly events: WorkerEvents,
    private readonly child: ChildProcess | null,
  ) {}

  /** Connects and checks the worker is who the inventory says; rejects if it is not there. */
  static connect(files: WorkerFiles, expect: WorkerIdentity, events: WorkerEvents, child: ChildProcess | null = null): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const sock = connect(files.socket);
      const h = new WorkerHandle(expect, files, sock, events, child);
      const timer = setTimeout(() => fail(new Error('worker did not answer hello')), HELLO_TIMEOUT_MS);
      let greeted = false;
      const fail = (e: Error): void => {
        clearTimeout(timer);
        h.detached = true;
        sock.destroy();
        reject(e);
      };
      child?.once('exit', (code, signal) => { h.childExit = signal !== null ? `killed by ${signal}` : `exited with code ${code}`; });
      const decoder = new FrameDecoder();
      sock.on('connect', () => sock.write(encodeJson({ type: 'hello', protocol: PROTOCOL_VERSION, instance: expect.instance })));
      sock.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk, (kind, payload) => {
            if (kind === FRAME_CONSOLE_OUT) { if (greeted) events.onConsole(payload); return; }
            if (kind !== FRAME_JSON) throw new Error('unexpected console input frame from the worker');
            const msg = parseWorkerMessage(payload);
            if (!greeted) {
              if (msg.type !== 'hello') throw new Error(`expected hello, got ${msg.type}`);
              if (msg.vmId !== expect.vmId || msg.instance !== expect.instance) throw new Error(`socket answered as VM ${msg.vmId} instance ${msg.instance}, not the expected worker`);
              greeted = true;
              h.state = msg.state;
              clearTimeout(timer);
              resolve(h);
              return;
            }
            h.onMessage(msg);
          });
        } catch (e) {
          if (!greeted) fail(e instanceof Error ? e : new Error(String(e)));
          else h.protocolViolation(errorMessage(e));
        }
      });
      sock.on('error', (e) => { if (!greeted) fail(e); });
      sock.on('close', () => { if (greeted) void h.onClose(); });
    });
  }

  request(op: WorkerOp, from?: 'boot' | 'saved-state'): Promise<Record<string, number> | undefined> {
    if (this.ended || this.sock.destroyed) return Promise.reject(new Error('the worker has ended'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const ms = SLOW_OPS.includes(op) ? SLOW_TIMEOUT_MS : FAST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the worker did not answer '${op}' within ${ms / 1000} s`));
      }, ms);
      this.pending.set(id, { resolve, reject, timer });
      this.sock.write(encodeJson(from === undefined ? { type: 'request', id, op } : { type: 'request', id, op, from }));
    });
  }

  writeConsole(bytes: Buffer): void {
    if (this.sock.destroyed) return;
    for (let off = 0; off < bytes.length; off += 65536) this.sock.write(encodeFrame(FRAME_CONSOLE_IN, bytes.subarray(off, off + 65536)));
  }

  /** Service shutdown: drop the channel, leave the worker running for the next service. */
  detach(): void {
    this.detached = true;
    this.sock.destroy();
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('the service is shutting down')); }
    this.pending.clear();
  }

  /** Last resort (hung or misbehaving worker): SIGKILL; onEnd follows when the channel closes. */
  kill(): void {
    try {
      process.kill(this.id.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'response': {
        const p = this.pending.get(msg.id);
        if (p === undefined) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(msg.error));
        return;
      }
      case 'state':
        this.state = msg.state;
        this.events.onState(msg.state);
        return;
      case 'exit':
        this.exitNotice = { outcome: msg.outcome, reason: msg.reason };
        this.state = 'exiting';
        return;
      case 'hello':
        this.protocolViolation('second hello');
    }
  }

  /** A worker that breaks the protocol is not trusted to keep running its VM. */
  private protocolViolation(why: string): void {
    this.exitNotice ??= { outcome: 'failed', reason: `worker broke the channel protocol (${why}); it was killed` };
    this.kill();
    this.sock.destroy();
  }

  private async onClose(): Promise<void> {
    if (this.detached || this.ended) return;
    this.ended = true;
    const end = this.exitNotice ?? (await this.explainEnd());
    // The VM is reported off/saved/failed only once its process is gone, so that no state ever
    // shows a VM stopped while its worker still exists.
    await this.processGone();
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error(`the worker ended: ${end.reason ?? end.outcome}`)); }
    this.pending.clear();
    this.events.onEnd(end);
  }

  private async processGone(): Promise<void> {
    for (let i = 0; i < 200 && workerProcessAlive(this.id.pid, this.files.dir); i++) {
      if (i === 100) this.kill();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async explainEnd(): Promise<WorkerEnd> {
    const rec = readExitRecord(this.files.exitRecord);
    if (rec !== null && rec.instance === this.id.instance) return { outcome: rec.outcome, reason: rec.reason };
    if (this.child !== null) {
      if (this.childExit === null) await new Promise<void>((r) => { const t = setTimeout(r, 2000); this.child!.once('exit', () => { clearTimeout(t); setImmediate(r); }); });
      if (this.childExit !== null) return { outcome: 'failed', reason: `worker process ${this.id.pid} ${this.childExit}` };
    }
    if (workerProcessAlive(this.id.pid, this.files.dir)) {
      this.kill();
      return { outcome: 'failed', reason: `worker process ${this.id.pid} closed its channel without exiting; it was killed` };
    }
    return { outcome: 'failed', reason: `worker process ${this.id.pid} ended without an exit record` };
  }
}

/**
 * True if the pid is a live (non-zombie) worker process of the VM directory: the command line is
 * checked so that a pid reused by an unrelated process is never mistaken for (or killed as) one.
 */
export function workerProcessAlive(pid: number, vmDir: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('worker-main.js')) && argv.includes(vmDir);
  } catch {
    return false;
  }
}
