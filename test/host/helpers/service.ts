/**
 * Test helpers for the host service: a temporary data directory, the service as a real child
 * process (test/host/helpers/serve-fake.ts, fake VM runtime) that tests can stop or kill, an API
 * client over its Unix socket (with the access token), small files to use as kernels and disks, and a check that no
 * worker process outlives a test.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../../src/cli/vm/client.js';
import { parseListenAddress } from '../../../src/host/listen-address.js';
import { findWorkerProcesses } from '../../../src/host/workers/process-scan.js';

const SERVE = fileURLToPath(new URL('./serve-fake.js', import.meta.url));

export interface TestHost {
  root: string;
  dataDir: string;
  vmsDir: string;
  /** Services started on this host; killed before the workers at the end of the test. */
  services: Array<{ kill(): Promise<void> }>;
}

/** A fresh directory tree; at the end of the test every worker of it is killed and it is removed. */
export function testHost(t: TestContext): TestHost {
  const root = mkdtempSync(join(tmpdir(), 'vhost-'));
  const h: TestHost = { root, dataDir: join(root, 'data'), vmsDir: join(root, 'data', 'vms'), services: [] };
  t.after(async () => {
    for (const s of h.services) await s.kill();
    for (const w of findWorkerProcesses(h.vmsDir)) {
      try { process.kill(w.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(root, { recursive: true, force: true });
  });
  return h;
}

/** A small regular file in the host's directory, outside the data directory (a stand-in kernel or disk). */
export function makeFile(h: TestHost, name: string, bytes = 4096): string {
  const p = join(h.root, name);
  writeFileSync(p, Buffer.alloc(bytes, 0x5a));
  return p;
}

export interface RunningService {
  proc: ChildProcess;
  addresses: string[];
  recovery: { reattached: string[]; settled: string[]; orphansKilled: number[] };
  client: ApiClient;
  stderr(): string;
  /** SIGTERM: the service closes and leaves workers running. */
  stop(): Promise<void>;
  /** SIGKILL: the service dies without closing anything. */
  kill(): Promise<void>;
}

export async function startService(h: TestHost, listen: string[] = [], runtime: 'fake' | 'machine' = 'fake'): Promise<RunningService> {
  const proc = spawn(process.execPath, [SERVE, h.dataDir, ...listen], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIRIDIAN_TEST_RUNTIME: runtime } });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`service exited (${code}) before serving: ${err}`)));
  });
  const info = JSON.parse(first) as { addresses: string[]; recovery: RunningService['recovery'] };
  const unix = info.addresses.find((a) => a.startsWith('unix:'))!;
  const s: RunningService = {
    proc,
    addresses: info.addresses,
    recovery: info.recovery,
    client: new ApiClient(parseListenAddress(unix), readFileSync(join(h.dataDir, 'access-token'), 'utf8').trim()),
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const late = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(late);
      assert.equal(proc.signalCode, null, `the service did not stop on SIGTERM: ${err}`);
    },
    kill: async () => { if (proc.exitCode === null) proc.kill('SIGKILL'); await exited; },
  };
  h.services.push(s);
  return s;
}

export interface Vm {
  id: string;
  name: string;
  state: string;
  stateReason: string | null;
  cpus: number;
  memoryMiB: number;
  generation: number;
  boot: { kernel: string | null; initrd: string | null; cmdline: string };
  disks: Array<{ path: string; readOnly: boolean }>;
  nics: Array<{ mac: string; network: string }>;
  notes: string;
  worker: { pid: number; instance: string } | null;
}

/** Polls a condition (bounded); for things that happen in another process. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, tries = 400, everyMs = 25): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Live (non-zombie) worker processes of the host's data directory. */
export function workerPids(h: TestHost): number[] {
  return findWorkerProcesses(h.vmsDir).map((w) => w.pid).sort();
}
