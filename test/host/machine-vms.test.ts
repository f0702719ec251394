/**
 * The host service running real guests: worker processes with the VM engine (the 'machine'
 * runtime, inside Node's permission model) and the platform test guest (guests/platform/
 * actions.asm). Console through the API, pause/resume, save to disk and start from the saved
 * state (the guest continues where it was), a graceful stop that the guest honours through the
 * ACPI power button, and a VM whose kernel is not a kernel failing with the reason.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createImage } from '../../src/storage/registry.js';
import { assembleFile } from '../helpers/nasm.js';
import { eventually, startService, testHost, workerPids, type Vm } from './helpers/service.js';
import { openConsole } from './helpers/streams.js';

test('a real guest in a worker: console, pause/resume, save and restore, graceful stop', { timeout: 120_000 }, async (t) => {
  const h = testHost(t);
  const kernel = join(h.root, 'actions.bin');
  writeFileSync(kernel, assembleFile('guests/platform/actions.asm'));
  const s = await startService(h, [], 'machine');
  const c = s.client;

  await c.call('POST', '/v1/vms', { name: 'echo', cpus: 1, memoryMiB: 64, boot: { kernel, cmdline: 's' } });
  let vm = await c.call<Vm>('POST', '/v1/vms/echo/start');
  assert.equal(vm.state, 'running');
  const con = await openConsole(c, 'echo');
  con.send('one');
  await con.waitFor('one');

  vm = await c.call<Vm>('POST', '/v1/vms/echo/pause');
  assert.equal(vm.state, 'paused');
  con.send('two');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!con.text().includes('two'), 'a paused guest does not answer');
  vm = await c.call<Vm>('POST', '/v1/vms/echo/resume');
  await con.waitFor('onetwo');

  const metrics = (await c.raw('GET', '/metrics')).text;
  const insns = /viridian_vm_instructions_total\{vm="echo",id="[^"]+"\} (\d+)/.exec(metrics);
  assert.ok(insns !== null && Number(insns[1]) > 1000, `instructions are counted:\n${metrics}`);
  assert.match(metrics, /viridian_vm_memory_bytes\{vm="echo",id="[^"]+"\} 67108864\n/);
  assert.match(metrics, /viridian_vm_cpu_seconds_total\{vm="echo",id="[^"]+"\} [0-9.e-]+\n/);
  assert.match(metrics, /viridian_vm_disk_read_bytes_total\{vm="echo",id="[^"]+"\} 0\n/, 'a VM without disks read nothing');
  assert.match(metrics, /viridian_vm_net_tx_bytes_total\{vm="echo",id="[^"]+"\} 0\n/);

  vm = await c.call<Vm>('POST', '/v1/vms/echo/save');
  assert.equal(vm.state, 'saved');
  const savedFile = join(h.vmsDir, vm.id, 'saved-state.bin');
  assert.ok(existsSync(savedFile) && statSync(savedFile).size > 0);
  assert.deepEqual(workerPids(h), []);

  vm = await c.call<Vm>('POST', '/v1/vms/echo/start');
  assert.equal(vm.state, 'running');
  const con2 = await openConsole(c, 'echo');
  con2.send('three');
  await con2.waitFor('three');
  assert.ok(!con2.text().includes('actions:'), 'the guest continued from its saved state instead of booting');
  con2.send('q'); // the guest writes to the debug-exit port: a power-off as far as the service is concerned
  await eventually('the VM to be off', async () => (await c.call<Vm>('GET', '/v1/vms/echo')).state === 'off', 400, 50);

  await c.call('PATCH', '/v1/vms/echo', { boot: { kernel, cmdline: 'b' } });
  await c.call('POST', '/v1/vms/echo/start');
  vm = await c.call<Vm>('POST', '/v1/vms/echo/stop', { timeoutSeconds: 30 });
  assert.equal(vm.state, 'off');
  assert.equal(vm.stateReason, 'the guest powered off', 'the guest honoured the power button');
  assert.deepEqual(workerPids(h), []);

  const notKernel = join(h.root, 'not-a-kernel');
  writeFileSync(notKernel, Buffer.alloc(8192, 0x41));
  await c.call('POST', '/v1/vms', { name: 'junk', memoryMiB: 64, boot: { kernel: notKernel } });
  await c.call('POST', '/v1/vms/junk/start').catch(() => undefined);
  await eventually('the junk VM to fail', async () => (await c.call<Vm>('GET', '/v1/vms/junk')).state === 'failed', 400, 50);
  const junk = await c.call<Vm>('GET', '/v1/vms/junk');
  assert.match(junk.stateReason ?? '', /not-a-kernel/, 'the reason names the file');
  assert.equal((await c.call<Vm>('GET', '/v1/vms/echo')).state, 'off', 'the other VM is unaffected');
});

test('a worker reads its disks whole: a differencing chain in other folders and VMDK extents; a broken chain fails the start with the reason', { timeout: 120_000 }, async (t) => {
  const h = testHost(t);
  const kernel = join(h.root, 'actions.bin');
  writeFileSync(kernel, assembleFile('guests/platform/actions.asm'));
  mkdirSync(join(h.root, 'golden'));
  mkdirSync(join(h.root, 'vms-disks'));
  const base = join(h.root, 'golden', 'base.vhd');
  const child = join(h.root, 'vms-disks', 'child.vhd');
  const flat = join(h.root, 'vms-disks', 'data.vmdk');
  await createImage(base, 'vhd', { size: 8 << 20, type: 'dynamic' });
  await createImage(child, 'vhd', { size: 0, type: 'differencing', parent: base });
  await createImage(flat, 'vmdk', { size: 4 << 20, type: 'fixed', subformat: 'monolithicFlat' });
  const s = await startService(h, [], 'machine');
  const c = s.client;

  await c.call('POST', '/v1/vms', { name: 'layered', cpus: 1, memoryMiB: 64, boot: { kernel, cmdline: 's' }, disks: [{ path: child }, { path: flat }] });
  const vm = await c.call<Vm>('POST', '/v1/vms/layered/start');
  assert.equal(vm.state, 'running', vm.stateReason ?? '');
  await c.call<Vm>('POST', '/v1/vms/layered/turn-off');

  rmSync(base);
  await assert.rejects(c.call('POST', '/v1/vms/layered/start'), /base\.vhd/);
  const failed = await c.call<Vm>('GET', '/v1/vms/layered');
  assert.equal(failed.state, 'failed');
  assert.match(failed.stateReason ?? '', /child\.vhd.*base\.vhd|base\.vhd/, 'the reason names the missing parent');
});
