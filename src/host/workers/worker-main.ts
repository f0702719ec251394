/**
 * Entry point of a VM worker process: `node [permission flags] worker-main.js --vm-dir DIR
 * --runtime machine|fake`. Started detached by the service (worker-launcher.ts), so it outlives a
 * service restart. Signals readiness by writing "ready" on fd 3 once its socket listens.
 */
import { writeSync, closeSync } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import { writeExitRecord } from './exit-record.js';
import { readLaunchFile } from './launch-file.js';
import { isRuntimeName, loadRuntime } from './runtimes/select-runtime.js';
import { workerFiles } from './worker-files.js';
import { WorkerServer } from './worker-server.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`worker: --${name} is required`);
  return v;
}

function signalReady(): void {
  try {
    writeSync(3, 'ready\n');
    closeSync(3);
  } catch {
    // Started without a readiness pipe (by hand): nothing to signal.
  }
}

async function main(): Promise<void> {
  const files = workerFiles(arg('vm-dir'));
  const runtimeName = arg('runtime');
  if (!isRuntimeName(runtimeName)) throw new Error(`worker: unknown runtime '${runtimeName}'`);
  const launch = readLaunchFile(files.config);
  const instance = launch.instance;
  const fail = (e: unknown): void => {
    try {
      writeExitRecord(files.exitRecord, { outcome: 'failed', reason: `worker error: ${errorMessage(e)}`, instance, at: new Date().toISOString() });
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  const server = new WorkerServer(launch.machine.vmId, instance, files, () => process.exit(0));
  // Signals from a terminal or init reach the service, not us (we run in our own session); a
  // SIGTERM sent to us directly still ends the VM, recorded as a turn-off.
  process.on('SIGTERM', () => server.terminate('the worker received SIGTERM'));
  const factory = await loadRuntime(runtimeName);
  server.attachRuntime(factory(launch.machine, {
    onConsoleOutput: (b) => server.consoleOutput(b),
    onExit: (x) => server.runtimeExit(x),
  }));
  await server.listen();
  signalReady();
}

main().catch((e: unknown) => {
  process.stderr.write(`${errorMessage(e)}\n`);
  process.exit(1);
});
