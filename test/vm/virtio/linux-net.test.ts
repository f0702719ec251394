/**
 * Two Debian guests on one segment: two `viridian run` processes joined by --nic socket=PATH
 * (the first listens, the second connects). Each guest gets an address on eth0 (virtio-net),
 * they ping each other, and a few MiB from /dev/urandom cross over TCP with busybox nc and arrive
 * with the same MD5. The addresses are from the documentation range: the frames never leave the
 * Unix socket between the two processes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINUX_TIMEOUT_MS, startRun, waitForPath, type RunSession } from './linux-session.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-linux-net-'));
const sessions: RunSession[] = [];
test.after(() => { for (const s of sessions) s.kill(); rmSync(dir, { recursive: true, force: true }); });

const MAC_A = '52:54:00:00:0a:01', MAC_B = '52:54:00:00:0b:02';
const IP_A = '192.0.2.1', IP_B = '192.0.2.2';
const FILE_KIB = 3072;

async function up(s: RunSession, ip: string): Promise<string> {
  return s.sh(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && cat /sys/class/net/eth0/address && ip -o -4 addr show eth0`);
}

test('two VMs on a socket NIC: addresses, ping both ways, a 3 MiB file over TCP with the same MD5', { timeout: LINUX_TIMEOUT_MS }, async () => {
  const sock = join(dir, 'segment.sock');
  const a = startRun(['--nic', `socket=${sock},mac=${MAC_A}`]);
  sessions.push(a);
  await waitForPath(sock, 120_000); // A listens before its guest boots; B then connects
  const b = startRun(['--nic', `socket=${sock},mac=${MAC_B}`]);
  sessions.push(b);
  await Promise.all([a.waitFor(/viridian-guest: \/init reached/), b.waitFor(/viridian-guest: \/init reached/)]);

  const [upA, upB] = await Promise.all([up(a, IP_A), up(b, IP_B)]);
  assert.match(upA, new RegExp(`${MAC_A}\\r?\\n[\\s\\S]*inet ${IP_A}/24`), 'eth0 of A has its MAC and address');
  assert.match(upB, new RegExp(`${MAC_B}\\r?\\n[\\s\\S]*inet ${IP_B}/24`), 'eth0 of B has its MAC and address');

  // The first ping may wait for ARP; the counted ones must all come back.
  const pingAB = await a.sh(`ping -c 1 -W 20 ${IP_B} >/dev/null; ping -c 3 -W 20 ${IP_B}`);
  assert.match(pingAB, /3 packets transmitted, 3 packets received, 0% packet loss/, pingAB);
  const pingBA = await b.sh(`ping -c 3 -W 20 ${IP_A}`);
  assert.match(pingBA, /3 packets transmitted, 3 packets received, 0% packet loss/, pingBA);

  const made = await b.sh(`dd if=/dev/urandom of=/tmp/f bs=1024 count=${FILE_KIB} 2>/dev/null; md5sum /tmp/f`);
  const sent = /([0-9a-f]{32})\s+\/tmp\/f/.exec(made);
  assert.ok(sent !== null, `md5sum on B: ${made}`);
  // busybox nc ends as soon as the peer's half of the connection ends, so the receiver's stdin is
  // a pipe that stays open and silent (not the console, not /dev/null); it ends at the sender's
  // EOF, and the sender, which retries until the listener is up, ends when the receiver closes.
  await a.sh('sleep 9999 | nc -l -p 5000 >/tmp/r & echo listening');
  const tx = await b.sh(`ok=no; for i in 1 2 3 4 5 6 7 8 9 10; do if nc ${IP_A} 5000 </tmp/f; then ok=yes; break; fi; sleep 3; done; echo sent=$ok`);
  assert.match(tx, /sent=yes/, tx);
  const got = await a.sh('while pidof nc >/dev/null; do sleep 1; done; killall sleep; wc -c </tmp/r; md5sum /tmp/r');
  assert.match(got, new RegExp(`\\b${FILE_KIB * 1024}\\r?\\n`), `A received ${FILE_KIB} KiB: ${got}`);
  const received = /([0-9a-f]{32})\s+\/tmp\/r/.exec(got);
  assert.ok(received !== null, `md5sum on A: ${got}`);
  assert.equal(received[1], sent[1], 'the file arrived unchanged');

  const drops = await a.sh('cat /sys/class/net/eth0/statistics/rx_errors /sys/class/net/eth0/statistics/tx_errors');
  assert.match(drops, /\n0\r?\n0\r?\n/, `no errors on A's eth0: ${drops}`);

  a.send('poweroff -f\n');
  b.send('poweroff -f\n');
  const [endA, endB] = await Promise.all([a.done, b.done]);
  assert.equal(endA.status, 0, endA.stderr);
  assert.equal(endB.status, 0, endB.stderr);
  assert.doesNotMatch(endA.stderr + endB.stderr, /virtio-net\d: /, 'no device errors');
});
