/**
 * The web console end to end, in Debian's chromium driven by playwright-core, against the service
 * on TCP with the fake runtime: log in (pasted token, then a one-time code link), the VM list with
 * live state, create through the form, start, a change made elsewhere arriving live, the VM page
 * with its xterm.js console (type a command, read the guest's answer), stop, delete, log out. And
 * the credential rules: no API route without the token or the session cookie, the cookie refused
 * from another origin, a login code used twice or expired refused.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ApiClient } from '../../../src/cli/vm/client.js';
import { parseListenAddress } from '../../../src/host/listen-address.js';
import { mintLoginCode } from '../../../src/host/web/login-code.js';
import { SESSION_COOKIE } from '../../../src/host/web/web-auth.js';
import { makeFile, startService, testHost, type Vm } from '../helpers/service.js';
import { consoleRefusal } from '../helpers/streams.js';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 20_000;

/** Console messages and page errors that are a fault of the pages (a CSP violation shows up here). */
function watchForFaults(page: Page): string[] {
  const faults: string[] = [];
  page.on('pageerror', (e) => faults.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (process.env['WEB_DEBUG']) process.stderr.write(`[console ${m.type()}] ${page.url()} ${m.text()}\n`);
    // The browser logs every 4xx answer; a 401 (log in first) and a 400 (the form's bad input) are
    // answers the pages handle and show.
    if (m.type() === 'error' && !/status of 40[01] /.test(m.text())) faults.push(`console: ${m.text()}`);
  });
  return faults;
}

async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; faults: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  return { context, page, faults: watchForFaults(page) };
}

/** The terminal's rows as text (xterm's DOM renderer draws spaces as no-break spaces). */
async function terminalRows(page: Page): Promise<string[]> {
  return (await page.locator('#terminal .xterm-rows > div').allTextContents()).map((r) => r.replace(/\u00a0/g, ' ').trimEnd());
}

async function waitForRow(page: Page, pred: (row: string) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await terminalRows(page)).some(pred)) return;
    await page.waitForTimeout(25);
  }
  throw new Error(`the terminal never showed ${what}; it shows:\n${(await terminalRows(page)).filter((r) => r !== '').join('\n')}`);
}

test('the web console: log in, create, start, live state, xterm console, stop, delete', async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: the web console test needs Debian's chromium (tools/install-deps installs it)`);
  const h = testHost(t);
  const kernel = makeFile(h, 'vmlinuz');
  const s = await startService(h, ['tcp:127.0.0.1:0']);
  const tcp = parseListenAddress(s.addresses.find((a) => a.startsWith('tcp:'))!);
  assert.ok(tcp.kind === 'tcp');
  const base = `http://127.0.0.1:${tcp.port}`;
  const token = readFileSync(join(h.dataDir, 'access-token'), 'utf8').trim();
  const anon = new ApiClient(tcp);

  // Without a credential: pages and assets yes (no data in them), the API and the login check no.
  for (const p of ['/ui/', '/ui/login', '/ui/vm', '/ui/static/api.js', '/ui/static/console.css', '/ui/vendor/xterm.mjs', '/ui/vendor/xterm.css']) {
    assert.equal((await anon.raw('GET', p)).status, 200, `GET ${p} without a credential`);
  }
  const home = await anon.raw('GET', '/');
  assert.equal(home.status, 302);
  assert.equal(home.headers['location'], '/ui/');
  assert.match(String((await anon.raw('GET', '/ui/')).headers['content-security-policy']), /script-src 'self'/);
  for (const [m, p] of [['GET', '/v1/vms'], ['GET', '/v1/events/stream'], ['GET', '/metrics'], ['GET', '/v1/host'], ['DELETE', '/v1/vms/x'], ['GET', '/ui/session'], ['GET', '/ui/../v1/vms']] as const) {
    assert.equal((await anon.raw(m, p)).status, 401, `${m} ${p} without a credential`);
  }
  const badLogin = await anon.raw('POST', '/ui/session', JSON.stringify({ token: 'f'.repeat(64) }), { 'content-type': 'application/json', origin: base });
  assert.equal(badLogin.status, 401);
  assert.equal(badLogin.headers['set-cookie'], undefined);
  const twoCredentials = await anon.raw('POST', '/ui/session', JSON.stringify({ token, code: 'x' }), { 'content-type': 'application/json', origin: base });
  assert.equal(twoCredentials.status, 400);
  assert.equal((await anon.raw('POST', '/ui/session', JSON.stringify({ token }), { 'content-type': 'application/json', origin: 'http://127.0.0.1:1' })).status, 403, 'a login from another origin');

  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.after(() => browser.close());
  const { context, page, faults } = await newPage(browser);

  // Not logged in: the list page sends the browser to the login page, which refuses a wrong token.
  await page.goto(`${base}/`);
  await page.waitForURL(/\/ui\/login\?next=%2Fui%2F$/);
  await page.locator('input[name=token]').fill('0'.repeat(64));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#status', { hasText: "not this service's access token" }).waitFor();
  await page.locator('input[name=token]').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/ui/`);
  const [cookie] = await context.cookies();
  assert.equal(cookie?.name, SESSION_COOKIE);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.ok(!cookie.value.includes(token), 'the cookie is a session id, not the token');
  await page.locator('#live', { hasText: 'live' }).waitFor();

  // The cookie is a credential for the API — from this origin only.
  const withCookie = { cookie: `${SESSION_COOKIE}=${cookie.value}` };
  assert.equal((await anon.raw('GET', '/v1/vms', undefined, withCookie)).status, 200);
  assert.equal((await anon.raw('GET', '/v1/vms', undefined, { ...withCookie, origin: 'http://evil.example' })).status, 403);
  assert.equal((await anon.raw('GET', '/v1/vms', undefined, { ...withCookie, 'sec-fetch-site': 'same-site' })).status, 403);
  assert.equal((await anon.raw('POST', '/v1/vms', '{"name":"sneak"}', { ...withCookie, 'content-type': 'application/json' })).status, 403, 'a cookie POST without Origin');
  assert.equal((await anon.raw('GET', '/v1/vms', undefined, { ...withCookie, authorization: 'Bearer wrong' })).status, 401, 'a wrong header is not rescued by the cookie');

  // Create through the form: a bad value gets the service's message, then a good VM appears.
  await page.locator('input[name=name]').fill('web1');
  await page.locator('input[name=memory]').fill('128');
  await page.locator('input[name=cpus]').fill('2');
  await page.locator('input[name=kernel]').fill('relative/vmlinuz');
  await page.locator('input[name=append]').fill('console=ttyS0 quiet');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#status', { hasText: 'boot.kernel' }).waitFor();
  await page.locator('input[name=kernel]').fill(kernel);
  await page.getByRole('button', { name: 'Create' }).click();
  const row = page.locator('tr[data-vm="web1"]');
  await page.locator('tr[data-vm="web1"][data-state="off"]').waitFor();
  const created = await s.client.call<Vm>('GET', '/v1/vms/web1');
  assert.deepEqual([created.cpus, created.memoryMiB, created.boot.kernel, created.boot.cmdline], [2, 128, kernel, 'console=ttyS0 quiet']);
  assert.equal(await row.locator('td').nth(3).textContent(), '128 MiB');

  // Start from the list; then changes made elsewhere (the API) arrive live over the event stream.
  await row.getByRole('button', { name: 'Start' }).click();
  await page.locator('tr[data-vm="web1"][data-state="running"]').waitFor();
  assert.equal(await row.getByRole('button', { name: 'Start' }).isDisabled(), true);
  await s.client.call('POST', '/v1/vms/web1/pause');
  await page.locator('tr[data-vm="web1"][data-state="paused"]').waitFor();
  await s.client.call('POST', '/v1/vms/web1/resume');
  await page.locator('tr[data-vm="web1"][data-state="running"]').waitFor();
  await s.client.call('POST', '/v1/vms', { name: 'other' });
  await page.locator('tr[data-vm="other"][data-state="off"]').waitFor();

  // Cross-origin WebSocket with the cookie is refused; the page's own gets through.
  assert.equal(await consoleRefusal(anon, 'web1', { ...withCookie, origin: 'http://127.0.0.1:1' }), 403);
  assert.equal(await consoleRefusal(anon, 'web1', withCookie), 403, 'a cookie upgrade without Origin');
  assert.equal(await consoleRefusal(anon, 'web1'), 401);

  // The VM page: its console in xterm.js. The fake guest answers "echo WORD" with WORD on its own line.
  await row.getByRole('link', { name: 'web1' }).click();
  await page.waitForURL(`${base}/ui/vm?name=web1`);
  await page.locator('#console-state', { hasText: /^connected$/ }).waitFor();
  await waitForRow(page, (r) => r.includes('fake guest web1: 2 vCPU, 128 MiB'), 'the boot banner');
  await page.locator('#terminal').click();
  await page.keyboard.type('echo viridian-web-42');
  await page.keyboard.press('Enter');
  await waitForRow(page, (r) => r === 'viridian-web-42', "the guest's answer on a line of its own");
  assert.ok((await terminalRows(page)).some((r) => r.endsWith('fake# echo viridian-web-42')), 'the typed command is echoed at the prompt');
  await page.locator('#vm-events li[data-kind="vm.state"]', { hasText: 'starting → running' }).waitFor();
  await page.locator('#vm-state[data-state="running"]').waitFor();

  // Stop from the VM page: the state and the console follow.
  await page.locator('#vm-actions').getByRole('button', { name: 'Stop' }).click();
  await page.locator('#vm-state[data-state="off"]').waitFor();
  await page.locator('#console-state', { hasText: /^(closed|not connected)/ }).waitFor();
  await page.locator('#vm-events li', { hasText: 'stopping → off' }).waitFor();
  assert.equal((await s.client.call<Vm>('GET', '/v1/vms/web1')).state, 'off');

  // Delete (confirmed in the dialog): back to the list without it.
  page.once('dialog', (d) => void d.accept());
  await page.locator('#vm-actions').getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${base}/ui/`);
  await page.locator('tr[data-vm="other"]').waitFor();
  assert.equal(await page.locator('tr[data-vm="web1"]').count(), 0);
  assert.deepEqual((await s.client.call<Vm[]>('GET', '/v1/vms')).map((v) => v.name), ['other']);
  assert.deepEqual(faults, [], 'the pages ran without errors');

  // A one-time login code in the link's fragment logs a fresh browser in, once.
  const code = mintLoginCode(token);
  const second = await newPage(browser);
  await second.page.goto(`${base}/ui/login#code=${code}`);
  await second.page.waitForURL(`${base}/ui/`);
  await second.page.locator('tr[data-vm="other"]').waitFor();
  const third = await newPage(browser);
  await third.page.goto(`${base}/ui/login#code=${code}`);
  await third.page.locator('#status', { hasText: 'has been used already' }).waitFor();
  assert.equal(third.page.url(), `${base}/ui/login`, 'the code is taken off the address bar');
  await third.page.goto(`${base}/ui/login#code=${mintLoginCode(token, Date.now() - 2 * 3600_000)}`);
  await third.page.locator('#status', { hasText: 'has expired' }).waitFor();
  assert.equal((await third.context.cookies()).length, 0);

  // Log out: the session is over on the service too, not just in this browser.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${base}/ui/login`);
  assert.equal((await anon.raw('GET', '/v1/vms', undefined, withCookie)).status, 401);
  assert.equal((await context.cookies()).length, 0);
  assert.deepEqual([...faults, ...second.faults, ...third.faults], []);
  // Before the service goes (the test host's clean-up), or the pages log their streams cut off.
  await browser.close();
});
