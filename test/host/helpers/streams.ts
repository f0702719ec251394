/**
 * Test clients for the service's streams: the console WebSocket and the server-sent event stream,
 * each collecting what arrives so that tests can wait for a piece of output or an event.
 */
import { request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import type { ApiClient } from '../../../src/cli/vm/client.js';
import { eventually } from './service.js';

export interface ConsoleConn {
  text(): string;
  waitFor(s: string): Promise<void>;
  send(s: string): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openConsole(client: ApiClient, name: string): Promise<ConsoleConn> {
  const { url, headers } = client.websocket(`/v1/vms/${encodeURIComponent(name)}/console`);
  const ws = new WebSocket(url, { headers });
  let buf = '';
  ws.on('message', (d: Buffer) => { buf += d.toString('utf8'); });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`console refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () => resolve({
      text: () => buf,
      waitFor: (s) => eventually(`console output ${JSON.stringify(s)} (have ${JSON.stringify(buf.slice(-200))})`, () => buf.includes(s)),
      send: (s) => ws.send(Buffer.from(s)),
      closed,
      close: () => ws.close(),
    }));
  });
}

/** Status code of a refused console upgrade (e.g. 401, 404, 409). */
export function consoleRefusal(client: ApiClient, name: string, headers: Record<string, string> = {}): Promise<number> {
  const w = client.websocket(`/v1/vms/${encodeURIComponent(name)}/console`);
  const ws = new WebSocket(w.url, { headers: { ...w.headers, ...headers } });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (req, res) => { resolve(res.statusCode ?? 0); req.destroy(); });
    ws.once('open', () => { ws.close(); reject(new Error('console unexpectedly opened')); });
    ws.once('error', () => undefined);
  });
}

export interface StreamedEvent {
  id: number;
  kind: string;
  vmName: string | null;
  data: Record<string, unknown>;
}

export interface EventStream {
  events: StreamedEvent[];
  waitFor(pred: (e: StreamedEvent) => boolean, what: string): Promise<StreamedEvent>;
  close(): void;
}

export function openEventStream(client: ApiClient, since?: number): Promise<EventStream> {
  if (client.endpoint.kind !== 'unix') throw new Error('test event stream is for the Unix socket');
  const events: StreamedEvent[] = [];
  let req: ClientRequest;
  return new Promise((resolve, reject) => {
    req = request({ socketPath: client.endpoint.kind === 'unix' ? client.endpoint.path : '', path: `/v1/events/stream${since !== undefined ? `?since=${since}` : ''}`, headers: client.authHeaders() }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`event stream: HTTP ${res.statusCode}`)); return; }
      let pending = '';
      res.on('data', (d: Buffer) => {
        pending += d.toString('utf8');
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data !== undefined) events.push(JSON.parse(data.slice(6)) as StreamedEvent);
        }
      });
      res.on('error', () => undefined);
      resolve({
        events,
        waitFor: async (pred, what) => {
          await eventually(what, () => events.some(pred));
          return events.find(pred)!;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
