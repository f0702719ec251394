/**
 * The host service's API as a client sees it: JSON requests over the Unix socket or TCP (with the
 * access token), errors turned into ApiCallError carrying the service's error body, and the URL
 * and options for the console WebSocket.
 */
import { request } from 'node:http';
import { UserError } from '../../common/errors.js';
import type { ListenAddress } from '../../host/listen-address.js';

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
  location?: string;
  reason?: string;
}

export class ApiCallError extends UserError {
  constructor(readonly status: number, readonly error: ApiErrorBody) {
    super(error.message, status === 404 ? 3 : status === 409 ? 4 : 1);
    this.name = 'ApiCallError';
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class ApiClient {
  constructor(readonly endpoint: ListenAddress, private readonly token: string | null = null) {}

  /** One request with any body and headers (tests use it to send hostile input). */
  raw(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    const h: Record<string, string> = { ...headers };
    if (this.token !== null && h['authorization'] === undefined) h['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body));
    const target = this.endpoint.kind === 'unix' ? { socketPath: this.endpoint.path } : { host: this.endpoint.host, port: this.endpoint.port };
    return new Promise((resolve, reject) => {
      let answered = false;
      const req = request({ ...target, method, path, headers: h }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', done);
        // A server that answers before reading the whole body (413) may close while we still send.
        res.on('close', done);
        res.on('error', done);
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (answered) return;
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new UserError(`no viridian service at ${this.describe()} (${e.code}); start one with 'viridian serve'`));
        else reject(e);
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** A JSON call: resolves with the parsed body of a 2xx answer, throws ApiCallError otherwise. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' });
    let parsed: unknown;
    try {
      parsed = r.text === '' ? null : JSON.parse(r.text);
    } catch {
      throw new ApiCallError(r.status, { code: 'bad-response', message: `the service answered ${r.status} with a body that is not JSON` });
    }
    if (r.status >= 200 && r.status < 300) return parsed as T;
    const err = (parsed as { error?: ApiErrorBody } | null)?.error;
    throw new ApiCallError(r.status, err ?? { code: 'http', message: `the service answered ${r.status}` });
  }

  /** The headers that authenticate a request made by other means (streams, WebSockets). */
  authHeaders(): Record<string, string> {
    return this.token !== null ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** For `ws`: the URL of a path and the headers the connection needs. */
  websocket(path: string): { url: string; headers: Record<string, string> } {
    const headers = this.authHeaders();
    const url = this.endpoint.kind === 'unix'
      ? `ws+unix://${this.endpoint.path}:${path}`
      : `ws://${this.endpoint.host.includes(':') ? `[${this.endpoint.host}]` : this.endpoint.host}:${this.endpoint.port}${path}`;
    return { url, headers };
  }

  describe(): string {
    return this.endpoint.kind === 'unix' ? `unix:${this.endpoint.path}` : `tcp:${this.endpoint.host}:${this.endpoint.port}`;
  }
}
