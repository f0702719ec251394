/**
 * The VM engine as a worker runtime: one Machine driven by a VmLoop on the worker's event loop,
 * COM1 as the console the service relays, the ACPI power button for a graceful stop, and the
 * whole machine written to a file for `vm save` (machine-state.ts).
 *
 * Pausing stops the loop at a burst boundary and freezes the VM clock, so guest time does not
 * jump when it resumes. A guest reset rebuilds the machine and boots the kernel again, as
 * `viridian run` does. NICs are attached but not connected: virtual networks arrive with the
 * virtual switch, and until then the guest sees a NIC with its link down.
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../../vm/machine/machine.js';
import { bootKernel } from '../../../vm/machine/boot-kernel.js';
import { VmLoop, type VmExit } from '../../../vm/machine/vm-loop.js';
import { quiesceMachine, readMachineState, writeMachineState } from '../../../vm/machine/machine-state.js';
import type { MachineNic } from '../../../vm/machine/pci-devices.js';
import { MemoryNetBackend } from '../../../vm/net/memory-backend.js';
import { driverFor, openImage } from '../../../storage/registry.js';
import type { DiskFormat, DiskImage } from '../../../storage/disk-image.js';
import { CountingBlockDevice } from '../../../storage/counting-device.js';
import { errorMessage } from '../../../common/errors.js';
import type { StartFrom, VmRuntime, VmRuntimeConfig, VmRuntimeListeners } from '../vm-runtime.js';

function diskFormat(name: string): DiskFormat {
  return driverFor(name).format;
}

/** Status the loop is stopped with for pause, turn-off and save (never reported to anyone). */
const STOPPED_BY_HOST = 0;

export function createMachineRuntime(config: VmRuntimeConfig, listeners: VmRuntimeListeners): VmRuntime {
  return new MachineRuntime(config, listeners);
}

class MachineRuntime implements VmRuntime {
  private loop: VmLoop | undefined;
  private running: Promise<VmExit> | undefined;
  private disks: DiskImage[] = [];
  /** The disks as the machine sees them: counted for /metrics. */
  private counted: CountingBlockDevice[] = [];
  private nics: MachineNic[] = [];
  private output: number[] = [];
  private input: Uint8Array[] = [];
  private released = false;
  /** Instructions retired by machines that a guest reset replaced. */
  private retiredBefore = 0;
  private readonly stats = { console_bytes_in: 0, console_bytes_out: 0, resets: 0 };
  private readonly cpuAtStart = process.cpuUsage();

  constructor(private readonly config: VmRuntimeConfig, private readonly listeners: VmRuntimeListeners) {}

  async start(from: StartFrom): Promise<void> {
    const c = this.config;
    if (c.boot.kernel === null && from.kind === 'boot') throw new Error(`VM '${c.name}' has no kernel to boot (set one with 'viridian vm set ${c.name} --kernel FILE')`);
    const kernel = c.boot.kernel === null ? undefined : readFileSync(c.boot.kernel);
    const initrd = c.boot.initrd === null ? undefined : readFileSync(c.boot.initrd);
    try {
      for (const d of c.disks) this.disks.push(await openImage(d.path, { readOnly: d.readOnly, ...(d.format !== null ? { format: diskFormat(d.format) } : {}) }));
      this.counted = this.disks.map((d) => new CountingBlockDevice(d));
      this.nics = c.nics.map((n) => ({ mac: n.mac, backend: new MemoryNetBackend() }));
      let restoreFrom = from.kind === 'saved-state' ? from.file : undefined;
      const create = (): Machine => {
        const m = this.build();
        if (restoreFrom !== undefined) {
          readMachineState(m, restoreFrom);
          restoreFrom = undefined;
        } else {
          if (kernel === undefined) throw new Error('the guest reset and there is no kernel to boot again');
          bootKernel(m, { kernelFile: c.boot.kernel ?? '(kernel)', kernel, initrd, cmdline: c.boot.cmdline });
        }
        return m;
      };
      this.loop = new VmLoop({
        create, noReboot: false,
        afterBurst: () => { this.flushOutput(); this.pumpInput(); },
        onReset: () => { this.stats.resets++; },
      });
    } catch (e) {
      await this.release();
      throw e;
    }
    this.go();
  }

  private build(): Machine {
    const c = this.config;
    if (this.loop !== undefined) this.retiredBefore += this.loop.machine.instructions;
    return new Machine({
      memoryBytes: c.memoryMiB * 1024 * 1024, cpus: c.cpus, rng: true,
      com1: { write: (b) => { this.output.push(b); } },
      disks: this.counted.map((device, i) => ({ device, readOnly: c.disks[i]!.readOnly })),
      nics: this.nics, wake: () => this.loop?.kick(),
      onDeviceError: (message) => this.note(message),
    });
  }

  /** A host-side message on the console, marked so it cannot be mistaken for guest output. */
  private note(message: string): void {
    for (const b of Buffer.from(`\r\n[viridian: ${message}]\r\n`, 'utf8')) this.output.push(b);
  }

  private go(): void {
    const loop = this.loop!;
    this.running = loop.run();
    this.running.then((exit) => this.ended(exit), (e: unknown) => { void this.fail(e); });
  }

  private ended(exit: VmExit): void {
    if (exit.kind === 'stopped') return; // the host asked: pause, turn-off or save handle the rest
    this.flushOutput();
    void this.release().then((problems) => this.listeners.onExit(problems.length === 0
      ? { kind: 'powered-off' }
      : { kind: 'failed', reason: `the guest powered off but ${problems.join('; ')}` }));
  }

  private async fail(e: unknown): Promise<void> {
    this.flushOutput();
    const problems = await this.release();
    this.listeners.onExit({ kind: 'failed', reason: [`emulation error: ${errorMessage(e)}`, ...problems].join('; ') });
  }

  /** Stops the loop at a burst boundary and freezes guest time; idempotent. */
  private async halt(): Promise<void> {
    const loop = this.loop, running = this.running;
    if (loop === undefined || running === undefined) return;
    this.running = undefined;
    loop.stop(STOPPED_BY_HOST);
    await running.catch(() => undefined);
    loop.machine.clock.pause();
  }

  async pause(): Promise<void> { await this.halt(); }

  async resume(): Promise<void> {
    if (this.loop === undefined || this.running !== undefined || this.released) return;
    this.loop.machine.clock.resume();
    this.go();
  }

  pressPowerButton(): void {
    if (this.loop === undefined) return;
    this.loop.machine.board.acpiPm.pressPowerButton();
    this.loop.kick();
  }

  async turnOff(): Promise<void> {
    await this.halt();
    await this.releaseOrThrow();
  }

  async saveTo(file: string): Promise<void> {
    await this.halt();
    const loop = this.loop;
    if (loop === undefined) throw new Error('the VM is not running');
    // Requests in flight complete into guest RAM and device state before the snapshot.
    await quiesceMachine(loop.machine);
    await writeMachineState(loop.machine, file);
    await this.releaseOrThrow();
  }

  writeConsole(bytes: Uint8Array): void {
    this.input.push(bytes.slice());
    this.stats.console_bytes_in += bytes.length;
    this.pumpInput();
    this.loop?.kick();
  }

  private pumpInput(): void {
    const uart = this.loop?.machine.board.com1;
    while (uart !== undefined && this.input.length > 0) {
      const head = this.input[0]!;
      const taken = uart.receive(head.subarray(0, uart.rxSpace()));
      if (taken < head.length) { this.input[0] = head.subarray(taken); return; }
      this.input.shift();
    }
  }

  private flushOutput(): void {
    if (this.output.length === 0 || this.released) return;
    const bytes = Uint8Array.from(this.output);
    this.output = [];
    this.stats.console_bytes_out += bytes.length;
    this.listeners.onConsoleOutput(bytes);
  }

  counters(): Readonly<Record<string, number>> {
    const cpu = process.cpuUsage(this.cpuAtStart);
    let diskRead = 0, diskWritten = 0, netTx = 0, netRx = 0;
    for (const d of this.counted) { diskRead += d.bytesRead; diskWritten += d.bytesWritten; }
    for (const n of this.nics) { netTx += n.backend.stats.txBytes; netRx += n.backend.stats.rxBytes; }
    return {
      ...this.stats,
      instructions: this.retiredBefore + (this.loop?.machine.instructions ?? 0),
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      disk_read_bytes: diskRead, disk_written_bytes: diskWritten,
      net_tx_bytes: netTx, net_rx_bytes: netRx,
    };
  }

  /** Flushes and closes the disks and NICs; returns what went wrong (a failed flush loses data). */
  private async release(): Promise<string[]> {
    if (this.released) return [];
    this.released = true;
    const problems: string[] = [];
    for (const n of this.nics) await n.backend.close().catch((e: unknown) => problems.push(`closing a NIC: ${errorMessage(e)}`));
    for (const [i, d] of this.disks.entries()) {
      const path = this.config.disks[i]?.path ?? `disk ${i}`;
      if (!d.readOnly) await d.flush().catch((e: unknown) => problems.push(`flushing ${path}: ${errorMessage(e)}`));
      await d.close().catch((e: unknown) => problems.push(`closing ${path}: ${errorMessage(e)}`));
    }
    this.disks = [];
    this.nics = [];
    return problems;
  }

  /** For the host's own requests (turn off, save): a disk that could not be flushed is an error. */
  private async releaseOrThrow(): Promise<void> {
    const problems = await this.release();
    if (problems.length > 0) throw new Error(problems.join('; '));
  }
}
