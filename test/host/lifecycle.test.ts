/**
 * The whole life of VMs over the service's Unix socket, with the fake runtime in real worker
 * processes: create, start, console, pause/resume, save and start from saved state, graceful stop
 * (and its timeout), restart, changes while off, rename, delete with disks; the event stream; boot
 * and runtime failures; the workers' file-system sandbox; the OpenAPI document.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ApiCallError } from '../../src/cli/vm/client.js';
import { encodeJson } from '../../src/host/workers/ipc-frame.js';
import { eventually, makeFile, startService, testHost, workerPids, type Vm } from './helpers/service.js';
import { openConsole, openEventStream } from './helpers/streams.js';

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiCallError) return e.status;
    throw e;
  }
}

test('a VM from create to delete: every power operation, console, saved state, events', async (t) => {
  const h = testHost(t);
  const kernel = makeFile(h, 'bzImage');
  const disk = makeFile(h, 'disk0.img', 65536);
  const s = await startService(h);
  const c = s.client;
  const stream = await openEventStream(c, 0);
  t.after(() => stream.close());

  let vm = await c.call<Vm>('POST', '/v1/vms', { name: 'web', cpus: 2, memoryMiB: 256, boot: { kernel, cmdline: 'console=ttyS0' }, disks: [{ path: disk }], nics: [{}] });
  assert.equal(vm.state, 'off');
  assert.equal(vm.nics.length, 1);
  assert.match(vm.nics[0]!.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(parseInt(vm.nics[0]!.mac.slice(0, 2), 16) & 3, 2, 'generated MACs are locally administered unicast');

  vm = await c.call<Vm>('POST', '/v1/vms/web/start');
  assert.equal(vm.state, 'running');
  assert.ok(vm.worker !== null);
  assert.deepEqual(workerPids(h), [vm.worker.pid]);

  const con = await openConsole(c, 'web');
  await con.waitFor('fake guest web: 2 vCPU, 256 MiB');
  await con.waitFor(`disk0: ${disk} rw ok`);
  con.send('hello console\r');
  await con.waitFor('hello console');

  vm = await c.call<Vm>('POST', '/v1/vms/web/pause');
  assert.equal(vm.state, 'paused');
  assert.equal(await status(c.call('POST', '/v1/vms/web/pause')), 409);
  vm = await c.call<Vm>('POST', '/v1/vms/web/resume');
  assert.equal(vm.state, 'running');

  const metrics = (await c.raw('GET', '/metrics')).text;
  assert.match(metrics, /viridian_vms\{state="running"\} 1/);
  const inBytes = /viridian_vm_console_bytes_in_total\{vm="web",id="[^"]+"\} (\d+)/.exec(metrics);
  assert.ok(inBytes !== null && Number(inBytes[1]) === 'hello console\r'.length, metrics);

  vm = await c.call<Vm>('POST', '/v1/vms/web/save');
  assert.equal(vm.state, 'saved');
  assert.equal(vm.worker, null);
  const closed = await con.closed;
  assert.match(closed.reason, /saved/);
  const savedFile = join(h.vmsDir, vm.id, 'saved-state.bin');
  assert.ok(existsSync(savedFile));
  const saved = JSON.parse(readFileSync(savedFile, 'utf8')) as { counters: { console_bytes_in: number } };
  assert.equal(saved.counters.console_bytes_in, 'hello console\r'.length);
  assert.deepEqual(workerPids(h), []);
  assert.equal(await status(c.call('PATCH', '/v1/vms/web', { cpus: 4 })), 409, 'hardware of a saved VM cannot change');

  vm = await c.call<Vm>('POST', '/v1/vms/web/start');
  assert.equal(vm.state, 'running');
  assert.ok(!existsSync(savedFile), 'a restored saved state is consumed');
  const con2 = await openConsole(c, 'web');
  await con2.waitFor('restored at tick');
  const m2 = (await c.raw('GET', '/metrics')).text;
  assert.match(m2, new RegExp(`viridian_vm_console_bytes_in_total\\{vm="web",id="${vm.id}"\\} ${'hello console\r'.length}\\b`));

  const pidBefore = vm.worker!.pid;
  vm = await c.call<Vm>('POST', '/v1/vms/web/restart');
  assert.equal(vm.state, 'running');
  assert.notEqual(vm.worker!.pid, pidBefore, 'restart runs a new worker');
  assert.deepEqual(workerPids(h), [vm.worker!.pid]);

  vm = await c.call<Vm>('POST', '/v1/vms/web/stop', { timeoutSeconds: 30 });
  assert.equal(vm.state, 'off');
  assert.equal(vm.stateReason, 'the guest powered off');
  assert.deepEqual(workerPids(h), []);

  vm = await c.call<Vm>('PATCH', '/v1/vms/web', { cpus: 4, memoryMiB: 1024, name: 'web-renamed', notes: 'line one\nline two' });
  assert.equal(vm.cpus, 4);
  assert.equal(vm.memoryMiB, 1024);
  assert.equal(vm.name, 'web-renamed');
  assert.equal(vm.generation, 2);
  assert.equal(await status(c.call('GET', '/v1/vms/web')), 404);

  const r = await c.call<{ deletedDisks: string[]; diskErrors: string[] }>('DELETE', '/v1/vms/web-renamed?deleteDisks=true');
  assert.deepEqual(r.deletedDisks, [disk]);
  assert.deepEqual(r.diskErrors, []);
  assert.ok(!existsSync(disk));
  assert.ok(existsSync(kernel), 'the kernel is not a disk and stays');
  assert.ok(!existsSync(join(h.vmsDir, vm.id)));
  assert.deepEqual(await c.call('GET', '/v1/vms'), []);

  const del = await stream.waitFor((e) => e.kind === 'vm.deleted', 'vm.deleted event');
  const states = stream.events.filter((e) => e.kind === 'vm.state' && e.id < del.id).map((e) => `${String(e.data['from'])}>${String(e.data['to'])}`);
  assert.deepEqual(states, [
    'off>starting', 'starting>running', 'running>paused', 'paused>running', 'running>saving', 'saving>saved',
    'saved>starting', 'starting>running', 'running>off', 'off>starting', 'starting>running', 'running>stopping', 'stopping>off',
  ]);
  assert.ok(stream.events.some((e) => e.kind === 'vm.renamed' && e.data['to'] === 'web-renamed'));
  const ids = stream.events.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'events arrive in order');
  assert.equal(new Set(ids).size, ids.length, 'no event twice');
});

test('stop turns the VM off when the guest ignores the power button; kill is immediate', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const c = s.client;
  await c.call('POST', '/v1/vms', { name: 'stubborn', boot: { cmdline: 'fake.shutdown=ignore' } });
  await c.call('POST', '/v1/vms/stubborn/start');
  const vm = await c.call<Vm>('POST', '/v1/vms/stubborn/stop', { timeoutSeconds: 1 });
  assert.equal(vm.state, 'off');
  assert.match(vm.stateReason ?? '', /did not shut down within 1 s/);

  await c.call('POST', '/v1/vms/stubborn/start');
  const stopping = c.call<Vm>('POST', '/v1/vms/stubborn/stop', { timeoutSeconds: 600 });
  await eventually('stopping state', async () => (await c.call<Vm>('GET', '/v1/vms/stubborn')).state === 'stopping');
  assert.equal(await status(c.call('POST', '/v1/vms/stubborn/pause')), 409, 'busy while stopping');
  const killed = await c.call<Vm>('POST', '/v1/vms/stubborn/turn-off');
  assert.equal(killed.state, 'off');
  assert.equal((await stopping).state, 'off', 'the waiting stop returns once the VM is off');
  assert.deepEqual(workerPids(h), []);
});

test('a boot failure and a runtime failure mark the VM failed with the reason; it can start again', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const c = s.client;
  await c.call('POST', '/v1/vms', { name: 'flaky', boot: { cmdline: 'fake.boot=fail' } });
  const err = await c.call('POST', '/v1/vms/flaky/start').catch((e: unknown) => e);
  assert.ok(err instanceof ApiCallError);
  assert.equal(err.status, 502);
  assert.match(err.message, /boot failed as asked/);
  let vm = await c.call<Vm>('GET', '/v1/vms/flaky');
  assert.equal(vm.state, 'failed');
  assert.match(vm.stateReason ?? '', /boot failed as asked/);
  assert.equal(vm.worker, null);
  await eventually('the failed worker to exit', () => workerPids(h).length === 0);

  await c.call('PATCH', '/v1/vms/flaky', { boot: { cmdline: 'fake.fail-after-ms=50' } });
  vm = await c.call<Vm>('POST', '/v1/vms/flaky/start');
  assert.equal(vm.state, 'running');
  await eventually('the runtime failure', async () => (await c.call<Vm>('GET', '/v1/vms/flaky')).state === 'failed');
  vm = await c.call<Vm>('GET', '/v1/vms/flaky');
  assert.match(vm.stateReason ?? '', /failure as asked/);
  await eventually('the failed worker to exit', () => workerPids(h).length === 0);
});

test('a worker can write only its own VM directory and disks (Node permission model)', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const c = s.client;
  const ro = makeFile(h, 'ro.img');
  const outside = join(h.root, 'escape.txt');
  const inventory = join(h.dataDir, 'inventory.sqlite');
  const invBefore = readFileSync(inventory);
  await c.call('POST', '/v1/vms', { name: 'jail', disks: [{ path: ro, readOnly: true }], boot: { cmdline: `fake.fs-probe=${outside}` } });
  await c.call('POST', '/v1/vms/jail/start');
  const con = await openConsole(c, 'jail');
  await con.waitFor(`disk0: ${ro} ro ok`);
  await con.waitFor(`fs-probe ${outside}: ERR_ACCESS_DENIED`);
  assert.ok(!existsSync(outside));
  con.close();
  await c.call('POST', '/v1/vms/jail/turn-off');

  await c.call('PATCH', '/v1/vms/jail', { boot: { cmdline: `fake.fs-probe=${inventory}` } });
  await c.call('POST', '/v1/vms/jail/start');
  const con2 = await openConsole(c, 'jail');
  await con2.waitFor(`fs-probe ${inventory}: ERR_ACCESS_DENIED`);
  assert.ok(readFileSync(inventory).length > 0 && !readFileSync(inventory).equals(Buffer.from('probe')));
  assert.ok(invBefore.length > 0);
  const vm = await c.call<Vm>('GET', '/v1/vms/jail');
  const log = readFileSync(join(h.vmsDir, vm.id, 'worker.log'), 'utf8');
  assert.match(log, /Permission is an experimental feature/, 'the worker runs under the permission model');
  assert.equal(statSync(join(h.vmsDir, vm.id)).mode & 0o777, 0o700);

  // Connecting to a Unix socket is not something the permission model stops, so a worker's
  // socket admits only a hello with its secret instance id: an impostor is dropped and the
  // service's own connection is undisturbed.
  const sock = connect(join(h.vmsDir, vm.id, 'worker.sock'));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const got: Buffer[] = [];
  sock.on('data', (d: Buffer) => got.push(d));
  const gone = new Promise<void>((r) => sock.once('close', () => r()));
  sock.on('error', () => undefined); // the worker may drop us before the second write lands
  sock.write(encodeJson({ type: 'hello', protocol: 1, instance: 'guessed' }));
  sock.write(encodeJson({ type: 'request', id: 1, op: 'turn-off' }));
  await gone;
  assert.equal(Buffer.concat(got).length, 0, 'the impostor got no answer');
  assert.equal((await c.call<Vm>('POST', '/v1/vms/jail/pause')).state, 'paused');
  await c.call('POST', '/v1/vms/jail/turn-off');
});

test('the OpenAPI document describes every route with resolvable references', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const doc = await s.client.call<{ openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } }>('GET', '/v1/openapi.json');
  assert.equal(doc.openapi, '3.1.0');
  for (const [path, op] of [['/v1/vms', 'post'], ['/v1/vms/{name}', 'patch'], ['/v1/vms/{name}/stop', 'post'], ['/v1/vms/{name}/turn-off', 'post'],
    ['/v1/vms/{name}/console', 'get'], ['/v1/events/stream', 'get'], ['/metrics', 'get'], ['/v1/vms/{name}', 'delete']] as const) {
    assert.ok(doc.paths[path]?.[op] !== undefined, `${op} ${path} documented`);
  }
  assert.ok(doc.paths['/v1/vms/{name}/start']!['post']!.responses['409'] !== undefined);
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
  assert.ok(refs.length > 10);
  for (const r of refs) assert.ok(doc.components.schemas[r.split('/').pop()!] !== undefined, `${r} resolves`);
  // Every documented operation exists: asking it with a bad VM name gives a validation error, not 404-no-route.
  const bad = await s.client.raw('GET', '/v1/vms/bad%20name');
  assert.equal(bad.status, 400);
});
