/**
 * `viridian vm` and `viridian serve` as real processes: every verb against a service (fake
 * runtime) with --json and with tables, exit codes for 404/409/bad flags, the console through a
 * pipe, and `viridian serve` itself, which runs the real runtime (a VM without a kernel fails to
 * start with a clear reason) and stops on SIGTERM.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, makeFile, startService, testHost, workerPids, type Vm } from './helpers/service.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ENTRY = `import(${JSON.stringify(MAIN)}).then((m) => m.run(process.argv.slice(1)))`;

function viridian(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', ENTRY, ...args], { encoding: 'utf8', env: { ...process.env, VIRIDIAN_HOST: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('vm verbs through the CLI: json and tables, exit codes, console', async (t) => {
  const h = testHost(t);
  await startService(h);
  const dd = ['--data-dir', h.dataDir];
  const kernel = makeFile(h, 'bzImage');
  const disk = makeFile(h, 'root.img');
  const vm = (...a: string[]): ReturnType<typeof viridian> => viridian('vm', ...a, ...dd);

  let r = vm('create', 'cli1', '--kernel', kernel, '--append', 'console=ttyS0', '--memory', '1G', '--cpus', '2', '--disk', `${disk},readonly,format=raw`, '--nic', 'default', '--nic', 'lan,mac=52:54:00:aa:bb:cc', '--json');
  assert.equal(r.status, 0, r.stderr);
  const created = JSON.parse(r.stdout) as Vm;
  assert.equal(created.memoryMiB, 1024);
  assert.equal(created.cpus, 2);
  assert.deepEqual(created.disks, [{ path: disk, readOnly: true, format: 'raw' }]);
  assert.deepEqual(created.nics.map((n) => n.network), ['default', 'lan']);
  assert.equal(created.nics[1]!.mac, '52:54:00:aa:bb:cc');

  r = vm('list');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE\s+CPUS\s+MEMORY\s+DISKS\s+ID\ncli1\s+off\s+2\s+1\.00 GiB\s+1\s+[0-9a-f-]{36}\n$/);
  r = vm('show', 'cli1');
  assert.match(r.stdout, /state\s+off/);
  assert.match(r.stdout, new RegExp(`disk 0\\s+${disk} \\(raw\\) \\(read-only\\)`));

  r = vm('start', 'cli1');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'cli1: started (running)\n');
  r = vm('start', 'cli1');
  assert.equal(r.status, 4, 'a 409 exits with 4');
  assert.match(r.stderr, /cannot start VM 'cli1': it is running/);
  r = vm('show', 'nosuch');
  assert.equal(r.status, 3, 'a 404 exits with 3');
  r = vm('create', 'bad', '--cpus', 'many');
  assert.equal(r.status, 2, 'bad flags exit with 2');
  r = vm('create', 'bad', '--disk', join(h.root, 'missing.img'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /disks\[0\]\.path: .*missing\.img does not exist/);

  for (const [verb, state] of [['pause', 'paused'], ['resume', 'running'], ['save', 'saved'], ['start', 'running'], ['restart', 'running'], ['kill', 'off']] as const) {
    r = vm(verb, 'cli1', '--json');
    assert.equal(r.status, 0, `${verb}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as Vm).state, state, verb);
  }

  r = vm('set', 'cli1', '--cpus', '4', '--memory', '512M', '--name', 'cli2', '--no-nics', '--notes', 'via cli', '--json');
  assert.equal(r.status, 0, r.stderr);
  const set = JSON.parse(r.stdout) as Vm;
  assert.deepEqual([set.name, set.cpus, set.memoryMiB, set.nics.length, set.notes], ['cli2', 4, 512, 0, 'via cli']);

  // The console through a pipe: what we type is echoed; "poweroff" ends the VM and the console.
  assert.equal(vm('start', 'cli2').status, 0);
  const con = spawn(process.execPath, ['--input-type=module', '-e', ENTRY, 'vm', 'console', 'cli2', ...dd], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  con.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exit = new Promise<number | null>((res) => con.on('exit', (code) => res(code)));
  await eventually('console banner', () => out.includes('fake guest cli2'));
  con.stdin.write('echo me\r');
  await eventually('echo', () => out.includes('echo me'));
  con.stdin.write('poweroff\r');
  assert.equal(await exit, 0);
  assert.equal((JSON.parse(vm('show', 'cli2', '--json').stdout) as Vm).state, 'off');

  r = vm('stop', 'cli2');
  assert.equal(r.status, 4);
  r = vm('delete', 'cli2', '--with-disks');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`deleted VM 'cli2'\\ndeleted disk ${disk}`));
  assert.ok(!existsSync(disk));
  assert.equal(vm('list').stdout, 'no VMs\n');
  assert.deepEqual(workerPids(h), []);
});

test('viridian serve: a VM with nothing to boot fails cleanly; SIGTERM stops the service', async (t) => {
  const h = testHost(t);
  const serve = spawn(process.execPath, ['--input-type=module', '-e', ENTRY, 'serve', '--data-dir', h.dataDir, '--listen', 'tcp:127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  serve.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((res) => serve.on('exit', (code) => res(code)));
  t.after(() => { if (serve.exitCode === null) serve.kill('SIGKILL'); });
  await eventually('serve to listen', () => /serving .* on unix:.*, tcp:127\.0\.0\.1:\d+/.test(err));
  const tcp = /tcp:127\.0\.0\.1:\d+/.exec(err)![0];

  assert.equal(viridian('vm', 'create', 'real', '--data-dir', h.dataDir).status, 0);
  const r = viridian('vm', 'start', 'real', '--data-dir', h.dataDir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has no kernel to boot \(set one with 'viridian vm set real --kernel FILE'\)/);
  const viaTcp = viridian('vm', 'show', 'real', '--json', '--host', tcp, '--token-file', join(h.dataDir, 'access-token'));
  assert.equal(viaTcp.status, 0, viaTcp.stderr);
  assert.equal((JSON.parse(viaTcp.stdout) as Vm).state, 'failed');
  const noToken = viridian('vm', 'list', '--host', tcp);
  assert.equal(noToken.status, 2);
  assert.match(noToken.stderr, /needs its access token/);
  await eventually('the failed worker to exit', () => workerPids(h).length === 0);

  serve.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(err, /stopped; running VMs keep running/);
  assert.ok(!existsSync(join(h.dataDir, 'service.pid')), 'the lock is released');
});
