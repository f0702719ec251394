/**
 * One-time login codes for the web console: whoever holds the access token (`viridian serve` at
 * start, a test, later a CLI verb) mints a short-lived code without asking the service, and the
 * service checks it against the same token. A code is `v1.<expiry s>.<nonce>.<mac>`, the mac an
 * HMAC-SHA256 keyed by the token, so replacing the token voids every code. Single use is the
 * service's job (it remembers spent nonces until they expire; see web-auth.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a printed login URL stays usable by default. */
export const LOGIN_CODE_TTL_MS = 15 * 60 * 1000;
/** No code is accepted whose expiry lies further ahead than this, whoever minted it. */
export const LOGIN_CODE_MAX_TTL_MS = 60 * 60 * 1000;

const CODE_PATTERN = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

function mac(token: string, expiresAtS: number, nonce: string): Buffer {
  return createHmac('sha256', token).update(`viridian-web-login\n${expiresAtS}\n${nonce}`).digest();
}

export function mintLoginCode(token: string, nowMs: number = Date.now(), ttlMs: number = LOGIN_CODE_TTL_MS): string {
  if (!(ttlMs > 0 && ttlMs <= LOGIN_CODE_MAX_TTL_MS)) throw new RangeError(`login code lifetime ${ttlMs} ms is outside 1..${LOGIN_CODE_MAX_TTL_MS}`);
  const expiresAtS = Math.ceil((nowMs + ttlMs) / 1000);
  const nonce = randomBytes(12).toString('base64url');
  return `v1.${expiresAtS}.${nonce}.${mac(token, expiresAtS, nonce).toString('base64url')}`;
}

export type LoginCodeCheck = { ok: true; nonce: string; expiresAtMs: number } | { ok: false; reason: string };

/** Checks form, signature and lifetime; whether the code was already used is up to the caller. */
export function checkLoginCode(token: string, code: string, nowMs: number = Date.now()): LoginCodeCheck {
  const m = CODE_PATTERN.exec(code);
  if (m === null) return { ok: false, reason: 'is not a viridian login code' };
  const expiresAtS = Number(m[1]);
  const nonce = m[2]!;
  const given = Buffer.from(m[3]!, 'base64url');
  const want = mac(token, expiresAtS, nonce);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'was not issued by this service (or its access token has changed)' };
  const expiresAtMs = expiresAtS * 1000;
  if (expiresAtMs <= nowMs) return { ok: false, reason: 'has expired' };
  if (expiresAtMs - nowMs > LOGIN_CODE_MAX_TTL_MS + 1000) return { ok: false, reason: 'claims a lifetime longer than the service accepts' };
  return { ok: true, nonce, expiresAtMs };
}

/**
 * The link that logs a browser in to the web console on a TCP listener (`tcp:HOST:PORT` as the
 * service reports it); a wildcard host is reached as localhost. The code rides in the fragment,
 * which browsers never send to a server, so it stays out of request lines and logs.
 */
export function loginUrl(tcpAddress: string, token: string, nowMs: number = Date.now()): string {
  const m = /^tcp:(\[[0-9A-Fa-f:.]+\]|[^:]+):(\d+)$/.exec(tcpAddress);
  if (m === null) throw new RangeError(`'${tcpAddress}' is not a TCP listener address (tcp:HOST:PORT)`);
  const host = m[1] === '0.0.0.0' || m[1] === '[::]' ? 'localhost' : m[1]!;
  return `http://${host}:${m[2]}/ui/login#code=${mintLoginCode(token, nowMs)}`;
}
