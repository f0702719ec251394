/**
 * One API listener: a Fastify instance with the route table, validation that never coerces or
 * drops fields, a small body limit, JSON-only bodies, the error mapping, and the token check on
 * every request, WebSocket upgrades included (the header, or the web console's session cookie).
 * The web console's pages share the listener (src/host/web/).
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { UserError } from '../../common/errors.js';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ListenAddress } from '../listen-address.js';
import { toErrorResponse } from './api-errors.js';
import { checkConsole, serveConsole } from './console-socket.js';
import { streamEvents } from './event-stream.js';
import { renderMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { routeDefs, type ApiDeps, type ApiRequest } from './routes.js';
import { EventsQuery, NameParams } from './schemas.js';
import { tokenCheck } from './token-auth.js';
import { webConsole } from '../web/web-console.js';

/** Large enough for any VM definition (16 disks of 4 KiB paths and 4 KiB of notes), small enough to be harmless. */
export const BODY_LIMIT = 128 * 1024;

export interface ApiServerOptions {
  deps: ApiDeps;
  /** The access token every request must carry. */
  token: string;
  version: string;
  startedAt: Date;
  onInternalError(e: unknown): void;
}

export async function buildApiServer(o: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 256 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  app.removeContentTypeParser('text/plain');
  // First, so that its hooks see every request: a refused upgrade (401, 404) then has its socket
  // closed by the plugin instead of left open, which would hold up the listener's close.
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  const web = webConsole(o.token);
  app.addHook('onRequest', tokenCheck(o.token, web));
  // Actions take an optional body: absent means "{}", so unknown fields are still caught when present.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && (req.method === 'POST' || req.method === 'PATCH')) req.body = {};
  });
  app.setErrorHandler((e, _req, reply) => {
    const { status, body } = toErrorResponse(e);
    if (status >= 500 && status !== 502) o.onInternalError(e);
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'not-found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  const defs = routeDefs(o.deps);
  const doc = openApiDocument(defs, o.version);
  for (const r of defs) {
    if (r.run === undefined) continue;
    const run = r.run;
    app.route({
      method: r.method,
      url: r.url,
      schema: { ...(r.params ? { params: r.params } : {}), ...(r.query ? { querystring: r.query } : {}), ...(r.body ? { body: r.body } : {}) },
      handler: async (req, reply) => {
        const result = await run(req as unknown as ApiRequest);
        return reply.code(r.ok.status).send(result);
      },
    });
  }
  app.get('/v1/openapi.json', async () => doc);
  app.get('/v1/events/stream', { schema: { querystring: EventsQuery } }, (req, reply) => streamEvents(o.deps.ctx.events, o.deps.ctx.inventory, req, reply));
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await renderMetrics(o.deps.ctx, o.startedAt)));
  app.get('/v1/vms/:name/console', { websocket: true, schema: { params: NameParams }, preValidation: (req, reply) => checkConsole(o.deps.ctx, req, reply) },
    (socket, req) => serveConsole(o.deps.ctx, socket, req));
  web.register(app);
  return app;
}

/** Listens; returns the address as clients write it (unix:/path or tcp:host:port). */
export async function listenApi(app: FastifyInstance, addr: ListenAddress): Promise<string> {
  if (addr.kind === 'unix') {
    await clearStaleSocket(addr.path);
    await app.listen({ path: addr.path });
    // The socket is the whole of local access control: owner only.
    chmodSync(addr.path, 0o600);
    return `unix:${addr.path}`;
  }
  await app.listen({ host: addr.host, port: addr.port });
  const a = app.server.address();
  const port = a !== null && typeof a === 'object' ? a.port : addr.port;
  return `tcp:${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`;
}

/**
 * A socket path may hold a socket left by a killed service (removed) — but never a file of any
 * other kind, nor a socket someone is still listening on (both refused).
 */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new UserError(`${path} exists and is not a socket; choose another --listen path`);
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new UserError(`another process is listening on ${path}`);
  rmSync(path, { force: true });
}
