/**
 * The web console's credentials without a browser: login codes (signature, expiry, lifetime cap,
 * the link `viridian serve` prints), sessions (single-use codes, expiry, logout) and the origin
 * rule for the cookie, on a clock the test moves.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { checkLoginCode, LOGIN_CODE_MAX_TTL_MS, LOGIN_CODE_TTL_MS, loginUrl, mintLoginCode } from '../../../src/host/web/login-code.js';
import { cookieValue, SESSION_COOKIE, WebAuth } from '../../../src/host/web/web-auth.js';

const TOKEN = 'ab'.repeat(32);
const T0 = Date.UTC(2026, 0, 1);

function request(headers: Record<string, string>, method = 'GET'): FastifyRequest {
  return { method, headers: { host: '127.0.0.1:8080', ...headers } } as unknown as FastifyRequest;
}

test('login codes: signed by the token, expiring, refused when altered or too long-lived', () => {
  const code = mintLoginCode(TOKEN, T0);
  assert.match(code, /^v1\.\d+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(checkLoginCode(TOKEN, code, T0).ok, true);
  assert.equal(checkLoginCode(TOKEN, code, T0 + LOGIN_CODE_TTL_MS - 1000).ok, true);
  assert.deepEqual(checkLoginCode(TOKEN, code, T0 + LOGIN_CODE_TTL_MS + 1000), { ok: false, reason: 'has expired' });
  assert.match(String((checkLoginCode('cd'.repeat(32), code, T0) as { reason: string }).reason), /not issued by this service/);
  const [v, exp, nonce, mac] = code.split('.');
  const later = `${v}.${Number(exp) + 3600}.${nonce}.${mac}`;
  assert.match(String((checkLoginCode(TOKEN, later, T0) as { reason: string }).reason), /not issued/, 'a moved expiry breaks the signature');
  assert.deepEqual(checkLoginCode(TOKEN, 'hello', T0), { ok: false, reason: 'is not a viridian login code' });
  assert.throws(() => mintLoginCode(TOKEN, T0, LOGIN_CODE_MAX_TTL_MS + 1), /lifetime/);
  // A token holder cannot make a code that outlives the cap by signing a far expiry itself.
  const farAhead = mintLoginCode(TOKEN, T0 + 10 * LOGIN_CODE_MAX_TTL_MS, 1000);
  assert.match(String((checkLoginCode(TOKEN, farAhead, T0) as { reason: string }).reason), /lifetime longer/);
  assert.notEqual(mintLoginCode(TOKEN, T0), code, 'every code has its own nonce');
});

test('the printed link: host and port of the listener, the code in the fragment', () => {
  const url = new URL(loginUrl('tcp:127.0.0.1:8080', TOKEN, T0));
  assert.equal(url.origin, 'http://127.0.0.1:8080');
  assert.equal(url.pathname, '/ui/login');
  assert.equal(url.search, '');
  const code = new URLSearchParams(url.hash.slice(1)).get('code');
  assert.equal(checkLoginCode(TOKEN, code!, T0).ok, true);
  assert.match(loginUrl('tcp:0.0.0.0:80', TOKEN, T0), /^http:\/\/localhost:80\/ui\/login#code=/);
  assert.match(loginUrl('tcp:[::1]:9000', TOKEN, T0), /^http:\/\/\[::1\]:9000\//);
  assert.throws(() => loginUrl('unix:/run/v.sock', TOKEN, T0), /not a TCP listener/);
});

test('sessions: token or one-time code in, cookie out; expiry and logout end them', () => {
  let now = T0;
  const auth = new WebAuth(TOKEN, () => now);
  assert.deepEqual(auth.login({ token: 'nope' }), { ok: false, reason: "token: is not this service's access token" });
  const byToken = auth.login({ token: TOKEN });
  assert.ok(byToken.ok);
  assert.match(byToken.setCookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200$`));
  const id = cookieValue(byToken.setCookie.split(';')[0], SESSION_COOKIE)!;
  const cookie = `other=1; ${SESSION_COOKIE}=${id}`;

  assert.equal(auth.check(request({ cookie })), 'accepted');
  assert.equal(auth.check(request({ cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` })), 'absent', 'an unknown session is no credential');
  assert.equal(auth.check(request({})), 'absent');
  assert.equal(auth.check(request({ cookie, origin: 'http://127.0.0.1:8080' }, 'POST')), 'accepted');
  assert.deepEqual(auth.check(request({ cookie }, 'POST')), { refused: 'a browser request that changes something or opens a WebSocket must carry an Origin header' });
  assert.deepEqual(auth.check(request({ cookie, upgrade: 'websocket' })), { refused: 'a browser request that changes something or opens a WebSocket must carry an Origin header' });
  assert.match(String((auth.check(request({ cookie, origin: 'http://127.0.0.1:9999' }, 'POST')) as { refused: string }).refused), /from http:\/\/127\.0\.0\.1:9999/);
  assert.match(String((auth.check(request({ cookie, origin: 'null' }, 'POST')) as { refused: string }).refused), /not a URL/);
  assert.match(String((auth.check(request({ cookie, 'sec-fetch-site': 'cross-site' })) as { refused: string }).refused), /cross-site request/);

  const code = mintLoginCode(TOKEN, now);
  assert.ok(auth.login({ code }).ok);
  assert.deepEqual(auth.login({ code }), { ok: false, reason: 'code: has been used already; a login code works once' });
  assert.equal(auth.sessionCount, 2);

  now += 12 * 3600_000;
  assert.equal(auth.check(request({ cookie })), 'absent', 'a session ends after 12 hours');
  const again = auth.login({ token: TOKEN });
  assert.ok(again.ok);
  const c2 = again.setCookie.split(';')[0]!;
  assert.equal(auth.check(request({ cookie: c2 })), 'accepted');
  assert.match(auth.logout(request({ cookie: c2 })), /Max-Age=0/);
  assert.equal(auth.check(request({ cookie: c2 })), 'absent', 'logged out on the service, not only in the browser');
});
