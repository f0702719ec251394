/**
 * The contract between a VM worker process and the VM it runs. The worker (worker-main.ts) owns the
 * process, the IPC channel to the service and the exit record; the runtime owns the machine. The
 * real implementation is the VM engine (src/vm/machine); `runtimes/fake-runtime.ts` is the test
 * double that the host tests run today.
 *
 * Rules for implementations:
 * - start() is called once, with either a fresh boot or a saved-state file to restore.
 * - pause/resume/pressPowerButton/turnOff/saveTo are only called after start() resolved.
 * - After turnOff() or saveTo() resolves, the runtime holds no resources and emits no more output;
 *   it does not call the exit listener for these (the worker knows why it is ending).
 * - The exit listener reports the guest ending on its own: a power-off (ACPI S5, debug exit) is
 *   'powered-off'; an emulation failure the runtime cannot recover from is 'failed' with a reason.
 * - Console output is delivered as byte chunks the runtime no longer uses (they may be queued).
 * - counters() returns monotonic totals (e.g. instructions, exits, serial bytes), cheap to read;
 *   names are lower_snake_case, as Prometheus wants them.
 */

export interface VmRuntimeConfig {
  vmId: string;
  name: string;
  cpus: number;
  memoryMiB: number;
  boot: { kernel: string | null; initrd: string | null; cmdline: string };
  /** format null: probe the image. */
  disks: ReadonlyArray<{ path: string; readOnly: boolean; format: string | null }>;
  nics: ReadonlyArray<{ mac: string; network: string }>;
  /** The VM's own directory: the only place the runtime may create files. */
  vmDir: string;
}

export type StartFrom = { kind: 'boot' } | { kind: 'saved-state'; file: string };

export type VmRuntimeExit = { kind: 'powered-off' } | { kind: 'failed'; reason: string };

export interface VmRuntimeListeners {
  onConsoleOutput(bytes: Uint8Array): void;
  onExit(exit: VmRuntimeExit): void;
}

export interface VmRuntime {
  start(from: StartFrom): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** ACPI power button: a request the guest may honour (then exits 'powered-off') or ignore. */
  pressPowerButton(): void;
  /** Pulls the plug: no guest cooperation, state discarded. */
  turnOff(): Promise<void>;
  /** Writes the complete VM state to `file` (pausing first if needed) and releases the machine. */
  saveTo(file: string): Promise<void>;
  /** Bytes typed on the serial console. */
  writeConsole(bytes: Uint8Array): void;
  counters(): Readonly<Record<string, number>>;
}

/** What a runtime module exports: worker-main.ts selects one by name. */
export type VmRuntimeFactory = (config: VmRuntimeConfig, listeners: VmRuntimeListeners) => VmRuntime;
