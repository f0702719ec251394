/**
 * Every listener demands the access token (generated at first start, mode 0600, stable across
 * restarts) on every request, the console WebSocket included — the Unix socket too, because a
 * worker (same user) can connect to it but cannot read the token. The socket is owner-only.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../src/cli/vm/client.js';
import { parseListenAddress } from '../../src/host/listen-address.js';
import { startService, testHost } from './helpers/service.js';
import { consoleRefusal, openConsole } from './helpers/streams.js';

test('every listener needs the token; the token file and socket are owner-only', async (t) => {
  const h = testHost(t);
  let s = await startService(h, ['tcp:127.0.0.1:0']);
  const tokenFile = join(h.dataDir, 'access-token');
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(h.dataDir, 'viridian.sock')).mode & 0o777, 0o600);
  assert.equal(statSync(h.dataDir).mode & 0o777, 0o700);
  // A --listen path holding anything but a stale socket is refused, never deleted.
  const notSocket = join(h.root, 'precious.txt');
  writeFileSync(notSocket, 'keep me');
  await assert.rejects(startService(testHost(t), [`unix:${notSocket}`]), /exists and is not a socket/);
  assert.equal(readFileSync(notSocket, 'utf8'), 'keep me');

  const tcp = s.addresses.find((a) => a.startsWith('tcp:'))!;
  assert.match(tcp, /^tcp:127\.0\.0\.1:\d+$/);
  const addr = parseListenAddress(tcp);
  const anon = new ApiClient(addr);
  const wrong = new ApiClient(addr, 'f'.repeat(64));
  const right = new ApiClient(addr, token);

  for (const [who, c] of [['no token', anon], ['wrong token', wrong]] as const) {
    for (const [m, p] of [['GET', '/v1/vms'], ['POST', '/v1/vms'], ['GET', '/metrics'], ['GET', '/v1/openapi.json'], ['GET', '/v1/nothing']] as const) {
      const r = await c.raw(m, p, m === 'POST' ? '{"name":"sneak"}' : undefined, m === 'POST' ? { 'content-type': 'application/json' } : {});
      assert.equal(r.status, 401, `${who} ${m} ${p}`);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    }
  }
  const basic = await anon.raw('GET', '/v1/vms', undefined, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` });
  assert.equal(basic.status, 401, 'only the bearer scheme is accepted');

  assert.deepEqual(await right.call('GET', '/v1/vms'), [], 'the unauthorised POSTs created nothing');
  await right.call('POST', '/v1/vms', { name: 'remote' });
  await right.call('POST', '/v1/vms/remote/start');
  assert.equal(await consoleRefusal(anon, 'remote'), 401);
  assert.equal(await consoleRefusal(wrong, 'remote'), 401);
  const con = await openConsole(right, 'remote');
  con.send('over tcp\r');
  await con.waitFor('over tcp');
  con.close();
  const doc = await right.call<{ security?: unknown }>('GET', '/v1/openapi.json');
  assert.ok(doc.security !== undefined, 'the document declares the bearer scheme');

  // The Unix socket wants the token too; the token survives a restart.
  assert.equal((await s.client.call<unknown[]>('GET', '/v1/vms')).length, 1);
  const unixAnon = new ApiClient(s.client.endpoint);
  assert.equal((await unixAnon.raw('GET', '/v1/vms')).status, 401);
  assert.equal(await consoleRefusal(unixAnon, 'remote'), 401);
  await s.stop();
  s = await startService(h, ['tcp:127.0.0.1:0']);
  assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
  const again = new ApiClient(parseListenAddress(s.addresses.find((a) => a.startsWith('tcp:'))!), token);
  assert.equal((await again.call<Array<{ state: string }>>('GET', '/v1/vms'))[0]!.state, 'running');
  await again.call('POST', '/v1/vms/remote/turn-off');
});
