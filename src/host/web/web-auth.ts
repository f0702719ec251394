/**
 * The web console's credential: a browser cannot put the access token in an Authorization header
 * on a page load, an EventSource or a WebSocket, so it logs in once (with the token or a one-time
 * login code) and gets a session cookie — HttpOnly (no script can read it), SameSite=Strict, and
 * random, so the token itself never lives in the browser. Sessions are kept in memory: a service
 * restart logs browsers out. The cookie is accepted only on requests from the service's own origin,
 * because SameSite does not separate two ports of one host (decision 014).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { OtherCredential } from '../api/token-auth.js';
import { tokenMatcher } from '../api/token-auth.js';
import { checkLoginCode } from './login-code.js';

export const SESSION_COOKIE = 'viridian_session';
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Logins need the token, so this bounds memory rather than fends off strangers. */
const MAX_SESSIONS = 256;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type LoginCredential = { token: string } | { code: string };
export type LoginResult = { ok: true; setCookie: string } | { ok: false; reason: string };

/** Sessions are looked up by a digest of their id, so a lookup's timing says nothing about the ids. */
function digest(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Why a cookie-carrying request does not come from the service's own pages, or null. Browsers send
 * Origin on every cross-origin request and on every same-origin one that is not a GET/HEAD (the
 * WebSocket handshake included), and Sec-Fetch-Site on all of them.
 */
export function crossOriginProblem(req: FastifyRequest): string | null {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `a ${site} request may not use the web console's session`;
  const origin = req.headers.origin;
  const changes = (req.method !== 'GET' && req.method !== 'HEAD') || req.headers.upgrade !== undefined;
  if (origin === undefined) return changes ? 'a browser request that changes something or opens a WebSocket must carry an Origin header' : null;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `the Origin header '${origin.slice(0, 100)}' is not a URL`;
  }
  return host === req.headers.host ? null : `requests from ${origin.slice(0, 100)} may not use this service's web session`;
}

export class WebAuth {
  /** digest(session id) → expiry (ms) */
  private readonly sessions = new Map<string, number>();
  /** nonces of login codes already used → their expiry (ms) */
  private readonly spentCodes = new Map<string, number>();
  private readonly matchesToken: (given: string) => boolean;

  constructor(private readonly token: string, private readonly now: () => number = Date.now) {
    this.matchesToken = tokenMatcher(token);
  }

  login(c: LoginCredential): LoginResult {
    const t = this.now();
    this.prune(t);
    if ('token' in c) {
      if (!this.matchesToken(c.token.trim())) return { ok: false, reason: 'token: is not this service\'s access token' };
    } else {
      const check = checkLoginCode(this.token, c.code.trim(), t);
      if (!check.ok) return { ok: false, reason: `code: ${check.reason}` };
      if (this.spentCodes.has(check.nonce)) return { ok: false, reason: 'code: has been used already; a login code works once' };
      this.spentCodes.set(check.nonce, check.expiresAtMs);
    }
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(digest(id), t + SESSION_TTL_MS);
    return { ok: true, setCookie: `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}` };
  }

  /** Ends the request's session, if any; returns the Set-Cookie value that clears the cookie. */
  logout(req: FastifyRequest): string {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(digest(id));
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The session cookie as a credential for token-auth.ts. */
  check(req: FastifyRequest): OtherCredential {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined || !SESSION_ID_PATTERN.test(id)) return 'absent';
    const key = digest(id);
    const expires = this.sessions.get(key);
    if (expires === undefined) return 'absent';
    if (expires <= this.now()) {
      this.sessions.delete(key);
      return 'absent';
    }
    const problem = crossOriginProblem(req);
    return problem === null ? 'accepted' : { refused: problem };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private prune(t: number): void {
    for (const [k, exp] of this.sessions) if (exp <= t) this.sessions.delete(k);
    for (const [k, exp] of this.spentCodes) if (exp <= t) this.spentCodes.delete(k);
  }
}
