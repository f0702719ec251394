/**
 * The web console on an API listener: `/` leads to `/ui/`, the pages and assets (no data in any of
 * them) are served without a credential, and `/ui/session` logs a browser in (POST, with the token
 * or a login code) and out (DELETE). Everything the pages show comes from the ordinary API, which
 * then takes the session cookie in place of the Authorization header.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OtherAuth } from '../api/token-auth.js';
import { webConsoleFiles } from './static-files.js';
import { crossOriginProblem, WebAuth, type LoginCredential } from './web-auth.js';

export const SESSION_URL = '/ui/session';

/** Pages run only their own scripts and talk only to their own service; nobody may frame them. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const LoginBody = {
  type: 'object', additionalProperties: false,
  properties: { token: { type: 'string', minLength: 1, maxLength: 256 }, code: { type: 'string', minLength: 1, maxLength: 256 } },
};

export interface WebConsole extends OtherAuth {
  register(app: FastifyInstance): void;
}

export function webConsole(token: string): WebConsole {
  const auth = new WebAuth(token);
  const files = webConsoleFiles();
  const publicReads = new Set(['/', '/ui', ...files.map((f) => f.url)]);
  const pathOf = (req: FastifyRequest): string => req.url.split('?')[0]!;
  return {
    isPublic: (req) => {
      const path = pathOf(req);
      if (req.method === 'GET' || req.method === 'HEAD') return publicReads.has(path);
      return path === SESSION_URL && (req.method === 'POST' || req.method === 'DELETE');
    },
    check: (req) => auth.check(req),
    register(app) {
      app.get('/', async (_req, reply) => reply.redirect('/ui/'));
      app.get('/ui', async (_req, reply) => reply.redirect('/ui/'));
      for (const f of files) {
        app.get(f.url, async (_req, reply) => reply.headers(PAGE_HEADERS).type(f.contentType).send(await readFile(f.path)));
      }
      app.post(SESSION_URL, { schema: { body: LoginBody } }, async (req, reply) => {
        const problem = crossOriginProblem(req);
        if (problem !== null) return reply.code(403).send({ error: { code: 'forbidden', message: problem, location: 'header' } });
        const body = req.body as { token?: string; code?: string };
        if ((body.token === undefined) === (body.code === undefined)) {
          return reply.code(400).send({ error: { code: 'invalid', message: 'body: give either "token" (the access token) or "code" (a login code)', field: 'body', location: 'body', reason: 'needs exactly one of token, code' } });
        }
        const c: LoginCredential = body.token !== undefined ? { token: body.token } : { code: body.code! };
        const r = auth.login(c);
        if (!r.ok) return reply.code(401).send({ error: { code: 'unauthorized', message: r.reason, location: 'body', field: 'token' in c ? 'token' : 'code' } });
        return reply.code(204).header('set-cookie', r.setCookie).send();
      });
      app.delete(SESSION_URL, async (req, reply) => {
        const problem = crossOriginProblem(req);
        if (problem !== null) return reply.code(403).send({ error: { code: 'forbidden', message: problem, location: 'header' } });
        return reply.code(204).header('set-cookie', auth.logout(req)).send();
      });
    },
  };
}
