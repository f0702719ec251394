/**
 * `viridian serve` with a TCP listener prints a one-time web console login link: the link's code
 * logs in once (a session cookie that the API then accepts), a second use is refused, and the Unix
 * socket alone gets no link.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../../src/cli/vm/client.js';
import { parseListenAddress } from '../../../src/host/listen-address.js';
import { SESSION_COOKIE } from '../../../src/host/web/web-auth.js';
import { eventually, testHost } from '../helpers/service.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const ENTRY = `import(${JSON.stringify(MAIN)}).then((m) => m.run(process.argv.slice(1)))`;

test('viridian serve prints a login link for each TCP listener; its code works once', async (t) => {
  const h = testHost(t);
  const serve = spawn(process.execPath, ['--input-type=module', '-e', ENTRY, 'serve', '--data-dir', h.dataDir, '--listen', 'tcp:127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  serve.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((res) => serve.on('exit', (code) => res(code)));
  t.after(() => { if (serve.exitCode === null) serve.kill('SIGKILL'); });
  await eventually('the login link', () => /web console: \S+/.test(err) && err.includes('log in with the token in'));

  const tcp = /tcp:127\.0\.0\.1:\d+/.exec(err)![0];
  const link = new URL(/web console: (\S+)/.exec(err)![1]!);
  assert.equal(link.host, tcp.slice(4), 'the link points at the listener');
  assert.equal(link.pathname, '/ui/login');
  assert.equal(err.match(/web console: /g)!.length, 1, 'one link: the Unix socket gets none');
  const code = new URLSearchParams(link.hash.slice(1)).get('code')!;

  const anon = new ApiClient(parseListenAddress(tcp));
  const login = (): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> =>
    anon.raw('POST', '/ui/session', JSON.stringify({ code }), { 'content-type': 'application/json', origin: link.origin });
  const first = await login();
  assert.equal(first.status, 204);
  const setCookie = String(first.headers['set-cookie']);
  assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=`));
  const cookie = setCookie.split(';')[0]!;
  const list = await anon.raw('GET', '/v1/vms', undefined, { cookie });
  assert.deepEqual([list.status, JSON.parse(list.text)], [200, []]);
  assert.equal((await login()).status, 401, 'the code is spent');
  assert.equal((await anon.raw('GET', '/v1/vms')).status, 401);

  serve.kill('SIGTERM');
  assert.equal(await exited, 0);
});
