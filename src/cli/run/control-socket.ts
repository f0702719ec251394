/**
 * `viridian run --control PATH`: a Unix socket (0600) speaking JSON lines, like QEMU's QMP but
 * smaller: each request is one JSON object on one line, each reply one line, in request order per
 * connection (control-commands.ts lists the commands). Several clients may be connected at once.
 *
 * Nothing a client sends can stop the VM: a line that is not JSON, too long, or not a valid
 * request gets {"error":"..."} and the connection carries on; a command that fails on the host
 * side replies the same way. Replies to a client that went away are dropped.
 */
import type net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage } from '../../common/errors.js';
import { checkRequest, runCommand, RequestError, type ControlContext, type JsonObject, type JsonValue } from './control-commands.js';
import { UnixListener } from './unix-listener.js';

/** Longest request line; longer ones are answered with an error and skipped to their newline. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Requests one connection may have waiting for their turn; past this the client is not reading replies. */
const MAX_QUEUED = 64;

export class ControlSocket {
  private listener: UnixListener | undefined;
  private readonly clients = new Set<net.Socket>();
  /** Requests served and refused since start (for tests and the operator's curiosity). */
  readonly counts = { ok: 0, errors: 0 };

  constructor(readonly path: string, private readonly ctx: ControlContext) {}

  async open(): Promise<void> {
    this.listener = await UnixListener.open('--control', this.path, (s) => this.serve(s));
  }

  private serve(s: net.Socket): void {
    this.clients.add(s);
    const decoder = new StringDecoder('utf8');
    let line = '', skipping = false, queued = 0;
    let chain = Promise.resolve();
    const reply = (obj: JsonObject): void => { if (!s.destroyed) s.write(JSON.stringify(obj) + '\n'); };
    // Every reply, errors about framing included, goes through one chain so replies keep request order.
    const enqueue = (job: () => Promise<JsonObject>): void => {
      if (queued >= MAX_QUEUED) { this.counts.errors++; reply({ error: `more than ${MAX_QUEUED} requests waiting; read the replies before sending more` }); return; }
      queued++;
      chain = chain.then(async () => { reply(await job()); queued--; });
    };
    const tooLong = (): void => {
      this.counts.errors++;
      enqueue(() => Promise.resolve({ error: `request longer than ${MAX_REQUEST_BYTES} bytes; skipped to the next newline` }));
    };
    s.on('data', (d: Buffer) => {
      const text = decoder.write(d);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const piece = text.slice(start, nl);
        start = nl + 1;
        if (skipping) { skipping = false; line = ''; continue; }
        const full = line + piece;
        line = '';
        if (Buffer.byteLength(full) > MAX_REQUEST_BYTES) tooLong();
        else if (full.trim().length > 0) enqueue(() => this.handle(full));
      }
      if (skipping) return;
      line += text.slice(start);
      if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) { line = ''; skipping = true; tooLong(); }
    });
    s.on('close', () => this.clients.delete(s));
    s.resume();
  }

  /** One request line → one reply; never throws. */
  private async handle(text: string): Promise<JsonObject> {
    let id: JsonValue | undefined;
    try {
      let req: JsonValue;
      try { req = JSON.parse(text) as JsonValue; } catch (e) { throw new RequestError(`not JSON: ${errorMessage(e)}`); }
      const r = checkRequest(req);
      id = r.id;
      const result = await runCommand(this.ctx, r.execute, r.args);
      this.counts.ok++;
      return { ...(id !== undefined ? { id } : {}), ok: true, ...(result !== undefined ? { result } : {}) };
    } catch (e) {
      this.counts.errors++;
      // A RequestError is the client's mistake; anything else is ours, but still only this request's.
      const message = e instanceof RequestError ? e.message : `internal error: ${errorMessage(e)}`;
      return { ...(id !== undefined ? { id } : {}), error: message };
    }
  }

  async close(): Promise<void> {
    for (const s of this.clients) s.destroy();
    this.clients.clear();
    await this.listener?.close();
  }
}
