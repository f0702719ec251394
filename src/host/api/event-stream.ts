/**
 * GET /v1/events/stream: server-sent events. With ?since=N (or a Last-Event-ID header, as an
 * EventSource sends on reconnect) history after N is replayed first, then live events follow with
 * no gap and no duplicate. A client that stops reading is cut off rather than buffered without
 * bound; it reconnects with its last id.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Inventory } from '../inventory/inventory.js';
import type { EventRecord } from '../inventory/vm-record.js';
import type { EventLog } from '../lifecycle/event-log.js';

const MAX_BUFFERED = 1 << 20;
const HEARTBEAT_MS = 15_000;

export function streamEvents(log: EventLog, inventory: Inventory, req: FastifyRequest, reply: FastifyReply): void {
  const q = req.query as Record<string, string | undefined>;
  const header = req.headers['last-event-id'];
  const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
  const since = q['since'] !== undefined ? Number(q['since']) : fromHeader;

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': viridian event stream\n\n');

  let last = since ?? Number.MAX_SAFE_INTEGER;
  let replaying = since !== undefined;
  const held: EventRecord[] = [];
  const send = (e: EventRecord): void => {
    if (e.id <= last && last !== Number.MAX_SAFE_INTEGER) return;
    last = e.id;
    res.write(`id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
    if (res.writableLength > MAX_BUFFERED) res.destroy();
  };
  const unsubscribe = log.subscribe((e) => {
    if (replaying) held.push(e);
    else send(e);
  });
  if (replaying) {
    for (;;) {
      const page = inventory.events({ since: last, limit: 1000 });
      for (const e of page) send(e);
      if (page.length < 1000 || res.destroyed) break;
    }
    replaying = false;
    for (const e of held) send(e);
  } else {
    last = Number.MAX_SAFE_INTEGER;
  }
  const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(beat);
    unsubscribe();
  });
}
