/**
 * 50 API clients at once, each creating, starting, changing and deleting its own VM, while all of
 * them also race for one shared name and hammer one shared VM with start/turn-off/delete. Every
 * answer must be a success or a clean 404/409; afterwards the inventory holds exactly what the
 * answers said, each VM's state matches its worker, and no worker process is left behind.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ApiCallError, type ApiClient } from '../../src/cli/vm/client.js';
import { Inventory } from '../../src/host/inventory/inventory.js';
import { makeFile, startService, testHost, workerPids, type Vm } from './helpers/service.js';
import { join } from 'node:path';

const CLIENTS = 50;

async function outcome(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiCallError) return e.status;
    throw e;
  }
}

async function ownVm(c: ApiClient, i: number, disk: string): Promise<void> {
  const name = `vm-${i}`;
  await c.call('POST', '/v1/vms', { name, cpus: 1 + (i % 4), disks: [{ path: disk }] });
  await c.call('POST', `/v1/vms/${name}/start`);
  if (i % 3 === 0) {
    await c.call('POST', `/v1/vms/${name}/pause`);
    await c.call('POST', `/v1/vms/${name}/resume`);
  }
  if (i % 5 === 0) await c.call('POST', `/v1/vms/${name}/stop`, { timeoutSeconds: 30 });
  else await c.call('POST', `/v1/vms/${name}/turn-off`);
  await c.call('PATCH', `/v1/vms/${name}`, { memoryMiB: 128 + i });
  if (i % 2 === 0) await c.call('DELETE', `/v1/vms/${name}?deleteDisks=${i % 4 === 0}`);
}

test('50 parallel clients leave a consistent inventory and no leaked workers', async (t) => {
  const h = testHost(t);
  const s = await startService(h);
  const c = s.client;
  const disks = Array.from({ length: CLIENTS }, (_, i) => makeFile(h, `d${i}.img`, 512));
  await c.call('POST', '/v1/vms', { name: 'contended' });

  const shared: number[] = [];
  const hammer: number[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    shared.push(await outcome(c.call('POST', '/v1/vms', { name: 'shared' })));
    const op = i % 3 === 0 ? c.call('POST', '/v1/vms/contended/start')
      : i % 3 === 1 ? c.call('POST', '/v1/vms/contended/turn-off')
        : c.call('DELETE', '/v1/vms/contended');
    hammer.push(await outcome(op));
    await ownVm(c, i, disks[i]!);
  }));

  assert.equal(shared.filter((x) => x === 200).length, 1, 'exactly one client creates "shared"');
  assert.equal(shared.filter((x) => x === 409).length, CLIENTS - 1);
  for (const x of hammer) assert.ok([200, 404, 409].includes(x), `contended op answered ${x}`);

  // Settle the contended VM whatever state the race left it in.
  const left = await c.call<Vm[]>('GET', '/v1/vms');
  const contended = left.find((v) => v.name === 'contended');
  if (contended !== undefined && contended.state !== 'off') await c.call('POST', '/v1/vms/contended/turn-off');

  const vms = await c.call<Vm[]>('GET', '/v1/vms');
  const names = vms.map((v) => v.name).filter((n) => n.startsWith('vm-')).sort();
  const expected = Array.from({ length: CLIENTS }, (_, i) => i).filter((i) => i % 2 === 1).map((i) => `vm-${i}`).sort();
  assert.deepEqual(names, expected);
  for (const v of vms) {
    assert.equal(v.state, 'off', `${v.name} is ${v.state}`);
    assert.equal(v.worker, null);
    if (v.name.startsWith('vm-')) assert.equal(v.memoryMiB, 128 + Number(v.name.slice(3)));
  }
  assert.deepEqual(workerPids(h), [], 'no worker outlives its VM');

  // Now everything goes, and the service's own rows must all be gone with it.
  await Promise.all(vms.map((v) => c.call('DELETE', `/v1/vms/${v.name}?deleteDisks=true`)));
  await s.stop();
  const inv = Inventory.open(join(h.dataDir, 'inventory.sqlite'));
  try {
    const n = inv.counts();
    assert.deepEqual({ vms: n.vms, disks: n.disks, nics: n.nics, workers: n.workers }, { vms: 0, disks: 0, nics: 0, workers: 0 });
    assert.ok(n.events > CLIENTS * 5);
  } finally {
    inv.close();
  }
  assert.deepEqual(readdirSync(h.vmsDir), [], 'no VM directory is left');
  const kept = Array.from({ length: CLIENTS }, (_, i) => i).filter((i) => i % 4 === 2).map((i) => `d${i}.img`).sort();
  assert.deepEqual(readdirSync(h.root).filter((f) => f.endsWith('.img')).sort(), kept, 'disks are deleted exactly when asked');
  assert.deepEqual(workerPids(h), []);
});
