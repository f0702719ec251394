/**
 * Starts a VM worker process: writes its launch file, spawns Node with the permission model
 * limiting the file system to the VM's own files, detaches it (own session, no pipes to the
 * service except a readiness pipe it closes) so it survives a service restart, and waits for
 * "ready". Node 20's permission model (--experimental-permission) restricts: file reads and
 * writes to the listed paths, child processes, worker threads, native addons and WASI. Worker
 * threads stay forbidden: with --allow-worker, Node 20 lets a thread pass itself wider --allow-fs-*
 * flags in execArgv. It does not restrict network sockets (decision 009).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskAccess, type DiskAccess } from './disk-access.js';
import { removeExitRecord } from './exit-record.js';
import { writeLaunchFile, type WorkerLaunchFile } from './launch-file.js';
import type { RuntimeName } from './runtimes/select-runtime.js';
import type { WorkerFiles } from './worker-files.js';

const READY_TIMEOUT_MS = 20_000;

/** dist/src: the compiled code the worker must be able to read (this file is dist/src/host/workers/). */
const CODE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKER_MAIN = join(CODE_ROOT, 'host', 'workers', 'worker-main.js');
/** The package.json that marks dist/src as ES modules; Node reads it while loading the worker. */
const PACKAGE_JSON = join(CODE_ROOT, '..', '..', 'package.json');

export interface LaunchedWorker {
  child: ChildProcess;
  pid: number;
}

/**
 * The permission flags for one VM: its directory read-write, its boot files read, and its disks'
 * files as `diskAccess` listed them (parents and extents included).
 */
export function permissionFlags(files: WorkerFiles, launch: WorkerLaunchFile, disks: DiskAccess): string[] {
  const m = launch.machine;
  const read = [CODE_ROOT, PACKAGE_JSON, files.dir, ...disks.read];
  const write = [files.dir, ...disks.write];
  if (m.boot.kernel !== null) read.push(m.boot.kernel);
  if (m.boot.initrd !== null) read.push(m.boot.initrd);
  for (const p of [...read, ...write]) {
    // A trailing '*' is a wildcard to Node's permission model; configuration validation rejects
    // such paths, and this keeps a slip from ever widening a worker's access.
    if (p.includes('*')) throw new Error(`refusing to grant access to a path with '*': ${p}`);
  }
  return ['--experimental-permission', ...read.map((p) => `--allow-fs-read=${p}`), ...write.map((p) => `--allow-fs-write=${p}`)];
}

export async function launchWorker(files: WorkerFiles, launch: WorkerLaunchFile, runtime: RuntimeName): Promise<LaunchedWorker> {
  const disks = await diskAccess(launch.machine.disks);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  removeExitRecord(files.exitRecord);
  rmSync(files.socket, { force: true });
  writeLaunchFile(files.config, launch);
  const log = openSync(files.log, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...permissionFlags(files, launch, disks), WORKER_MAIN, '--vm-dir', files.dir, '--runtime', runtime], {
      cwd: files.dir,
      detached: true,
      stdio: ['ignore', log, log, 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_ENV: 'production' },
    });
  } finally {
    closeSync(log);
  }
  await waitReady(child, files);
  child.unref();
  return { child, pid: child.pid! };
}

function waitReady(child: ChildProcess, files: WorkerFiles): Promise<void> {
  const pipe = child.stdio[3];
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      pipe?.removeAllListeners();
      child.removeListener('exit', onExit);
      child.removeListener('error', onError);
      pipe?.destroy();
      if (err === undefined) resolvePromise();
      else reject(err);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(new Error(`worker exited before it was ready (${signal ?? `code ${code}`}); see ${files.log}`));
    const onError = (e: Error): void => done(new Error(`cannot start the worker: ${e.message}`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(new Error(`worker was not ready within ${READY_TIMEOUT_MS / 1000} s; see ${files.log}`));
    }, READY_TIMEOUT_MS);
    child.once('exit', onExit);
    child.once('error', onError);
    pipe?.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('ready\n')) done();
    });
  });
}
