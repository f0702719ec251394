/**
 * Issue 6's proof with real guests: the host service (machine runtime, worker processes) runs two
 * VMs booting Debian's stock kernel with the project's initramfs. A command runs in each through
 * the console API; one stops gracefully (ACPI power button → the guest's acpid → poweroff); the
 * service restarts while the other runs and finds it still running and reachable; then that
 * VM's worker is SIGKILLed and the VM is marked failed while the service keeps serving.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } from '../../src/images/debian-guest.js';
import { eventually, startService, testHost, workerPids, type Vm } from './helpers/service.js';
import { openConsole, type ConsoleConn } from './helpers/streams.js';

const BOOT_MS = 25 * 60_000;

async function waitLong(con: ConsoleConn, re: RegExp, ms: number): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(con.text());
    if (m !== null) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}; console tail:\n${con.text().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('two Debian VMs under the service: commands, graceful stop, service restart, a killed worker', { timeout: BOOT_MS }, async (t) => {
  const g = ensureDebianGuest({});
  const h = testHost(t);
  let s = await startService(h, [], 'machine');
  let c = s.client;
  for (const name of ['deb-a', 'deb-b']) {
    await c.call('POST', '/v1/vms', { name, cpus: 1, memoryMiB: 256, boot: { kernel: g.kernel, initrd: g.initrd, cmdline: DEBIAN_GUEST_CMDLINE } });
  }
  await c.call('POST', '/v1/vms/deb-a/start');
  await c.call('POST', '/v1/vms/deb-b/start');
  const conA = await openConsole(c, 'deb-a');
  const conB = await openConsole(c, 'deb-b');
  await waitLong(conA, /\/init reached/, BOOT_MS);
  await waitLong(conB, /\/init reached/, BOOT_MS);

  // Markers are computed by the guest's shell so the echoed command line never matches.
  conA.send('uname -r; echo A-$((40+2))\n');
  conB.send('cat /proc/sys/kernel/hostname; echo B-$((40+2))\n');
  const a = await waitLong(conA, /(6\.\d+\.\d+-\d+-amd64)\r?\nA-42/, 120_000);
  await waitLong(conB, /B-42/, 120_000);
  assert.match(a[1]!, /amd64/);

  const stopped = await c.call<Vm>('POST', '/v1/vms/deb-a/stop', { timeoutSeconds: 300 });
  assert.equal(stopped.state, 'off');
  assert.equal(stopped.stateReason, 'the guest powered off', 'the guest honoured the ACPI power button');

  const before = await c.call<Vm>('GET', '/v1/vms/deb-b');
  await s.stop();
  s = await startService(h, [], 'machine');
  c = s.client;
  assert.deepEqual(s.recovery.reattached, ['deb-b']);
  const after = await c.call<Vm>('GET', '/v1/vms/deb-b');
  assert.equal(after.state, 'running');
  assert.equal(after.worker!.pid, before.worker!.pid, 'the same worker kept running');
  const conB2 = await openConsole(c, 'deb-b');
  conB2.send('echo AFTER-$((40+2))\n');
  await waitLong(conB2, /AFTER-42/, 120_000);

  process.kill(after.worker!.pid, 'SIGKILL');
  await eventually('deb-b to be marked failed', async () => (await c.call<Vm>('GET', '/v1/vms/deb-b')).state === 'failed', 400, 50);
  const failed = await c.call<Vm>('GET', '/v1/vms/deb-b');
  assert.ok((failed.stateReason ?? '') !== '', 'the failure has a reason');
  assert.equal((await c.call<Vm[]>('GET', '/v1/vms')).length, 2, 'the service keeps serving');
  assert.deepEqual(workerPids(h), []);
});
