/**
 * Worker crashes and service restarts: a SIGKILLed worker marks only its VM failed; a service
 * killed outright (SIGKILL) or stopped (SIGTERM) leaves the VMs running, and the next service
 * re-attaches to them, settles the ones that ended meanwhile from their exit records, and marks
 * failed those whose workers died without one.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startService, testHost, workerPids, type Vm } from './helpers/service.js';
import { openConsole } from './helpers/streams.js';

test('a SIGKILLed worker marks its VM failed; other VMs and the service carry on', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const c = s.client;
  await c.call('POST', '/v1/vms', { name: 'victim' });
  await c.call('POST', '/v1/vms', { name: 'bystander' });
  const victim = await c.call<Vm>('POST', '/v1/vms/victim/start');
  const bystander = await c.call<Vm>('POST', '/v1/vms/bystander/start');
  const con = await openConsole(c, 'victim');

  process.kill(victim.worker!.pid, 'SIGKILL');
  await eventually('victim failed', async () => (await c.call<Vm>('GET', '/v1/vms/victim')).state === 'failed');
  const v = await c.call<Vm>('GET', '/v1/vms/victim');
  assert.match(v.stateReason ?? '', new RegExp(`worker process ${victim.worker!.pid} killed by SIGKILL`));
  assert.equal(v.worker, null);
  assert.match((await con.closed).reason, /failed/);

  const b = await c.call<Vm>('POST', '/v1/vms/bystander/pause');
  assert.equal(b.state, 'paused');
  assert.deepEqual(workerPids(h), [bystander.worker!.pid]);
  const events = await c.call<Array<{ kind: string; vmName: string; data: Record<string, unknown> }>>('GET', '/v1/vms/victim/events');
  assert.ok(events.some((e) => e.kind === 'vm.state' && e.data['to'] === 'failed'));

  const again = await c.call<Vm>('POST', '/v1/vms/victim/start');
  assert.equal(again.state, 'running', 'a failed VM can be started again');
  await c.call('POST', '/v1/vms/victim/turn-off');
  await c.call('POST', '/v1/vms/bystander/turn-off');
  assert.deepEqual(workerPids(h), []);
});

test('a restarted service re-attaches to running workers and settles those that ended', async (t) => {
  const h = testHost(t);
  let s = await startService(h);
  let c = s.client;
  await c.call('POST', '/v1/vms', { name: 'keeps-running' });
  await c.call('POST', '/v1/vms', { name: 'paused-one' });
  await c.call('POST', '/v1/vms', { name: 'powers-off', boot: { cmdline: 'fake.poweroff-after-ms=1000' } });
  await c.call('POST', '/v1/vms', { name: 'dies' });
  const running = await c.call<Vm>('POST', '/v1/vms/keeps-running/start');
  const con = await openConsole(c, 'keeps-running');
  con.send('before restart\r');
  await con.waitFor('before restart');
  await c.call('POST', '/v1/vms/paused-one/start');
  await c.call('POST', '/v1/vms/paused-one/pause');
  const dies = await c.call<Vm>('POST', '/v1/vms/dies/start');

  await s.kill();
  await assert.rejects(c.call('GET', '/v1/vms'), /no viridian service/);
  // powers-off starts under a second service, which is killed too, and the guest powers off while
  // no service runs: only its exit record tells.
  s = await startService(h);
  c = s.client;
  assert.deepEqual(s.recovery.reattached.sort(), ['dies', 'keeps-running', 'paused-one']);
  const po = await c.call<Vm>('POST', '/v1/vms/powers-off/start');
  await s.kill();
  await eventually('powers-off to leave its exit record', () => existsSync(join(h.vmsDir, po.id, 'exit.json')));
  process.kill(dies.worker!.pid, 'SIGKILL');
  await eventually('dies to be gone', () => !workerPids(h).includes(dies.worker!.pid));

  s = await startService(h);
  c = s.client;
  assert.deepEqual(s.recovery.reattached.sort(), ['keeps-running', 'paused-one']);
  assert.deepEqual(s.recovery.settled.sort(), ['dies', 'powers-off']);
  const vms = new Map((await c.call<Vm[]>('GET', '/v1/vms')).map((v) => [v.name, v]));
  assert.equal(vms.get('keeps-running')!.state, 'running');
  assert.equal(vms.get('keeps-running')!.worker!.pid, running.worker!.pid, 'the same worker, re-attached');
  assert.equal(vms.get('paused-one')!.state, 'paused');
  assert.equal(vms.get('powers-off')!.state, 'off');
  assert.equal(vms.get('powers-off')!.stateReason, 'the guest powered off');
  assert.equal(vms.get('dies')!.state, 'failed');
  assert.match(vms.get('dies')!.stateReason ?? '', /ended while the service was not running/);

  const con2 = await openConsole(c, 'keeps-running');
  await con2.waitFor('before restart');
  con2.send('after restart\r');
  await con2.waitFor('after restart');
  const resumed = await c.call<Vm>('POST', '/v1/vms/paused-one/resume');
  assert.equal(resumed.state, 'running');

  // A graceful service stop (SIGTERM) also leaves the workers running.
  await s.stop();
  assert.equal(workerPids(h).length, 2);
  s = await startService(h);
  c = s.client;
  assert.deepEqual(s.recovery.reattached.sort(), ['keeps-running', 'paused-one']);
  const stopped = await c.call<Vm>('POST', '/v1/vms/keeps-running/stop');
  assert.equal(stopped.state, 'off');
  await c.call('POST', '/v1/vms/paused-one/turn-off');
  assert.deepEqual(workerPids(h), []);
});

test('a second service on the same data directory is refused', async (t) => {
  const h = testHost(t);
  await startService(h);
  await assert.rejects(startService(h), /another viridian service \(pid \d+\) is using/);
});
