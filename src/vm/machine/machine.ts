/**
 * One virtual machine: guest RAM, the virtual processors and the PC board, plus the requests the
 * guest makes of its platform (reset, power-off, debug exit). The machine runs in slices —
 * each runnable processor for a bounded number of instructions, then due timers — and a caller
 * (vm-runner.ts) decides when to slice, sleep and stop. It never touches the host console.
 */
import { GuestMemory } from '../../hv/memory/guest-memory.js';
import { X86Processor } from '../../hv/cpu/x86/x86-processor.js';
import { EXIT_HALT, EXIT_SHUTDOWN, EXIT_WAIT_SIPI } from '../../hv/processor.js';
import { VmClock } from '../time/vm-clock.js';
import type { PlatformControl } from '../devices/platform-control.js';
import type { SerialBackend } from '../devices/uart-16550.js';
import { PcBoard } from './pc-board.js';
import { planMemory, type MemoryPlan } from './memory-layout.js';
import { describeCpuState } from './cpu-state-text.js';
import { acpiConfig, installAcpiTables } from './acpi-setup.js';
import { attachPciDevices, type MachineBalloon, type MachineDisk, type MachineNic } from './pci-devices.js';

export interface MachineOptions {
  memoryBytes: number;
  cpus: number;
  /** Disks for virtio-blk, in order (opened by the caller, which also closes them). */
  disks?: MachineDisk[];
  /** NICs (virtio-net), in order; their backends belong to the caller. */
  nics?: MachineNic[];
  /** Called when host-side events (network frames) need the VM loop to run now. */
  wake?: () => void;
  /** A virtio-rng device feeding the guest host entropy. */
  rng?: boolean;
  /** A virtio-balloon device (00:02.0). */
  balloon?: MachineBalloon;
  /** Named virtio-console ports (agent channels) on one console device (00:03.0); none: no console device. */
  channels?: string[];
  /** Guest errors that devices report (malformed queues and the like), for the operator's log. */
  onDeviceError?: (message: string) => void;
  com1?: SerialBackend;
  com2?: SerialBackend;
  /** RTC start time; defaults to the host's current time. */
  rtcEpochMs?: number;
  clock?: VmClock;
}

/** Why the machine wants to stop running. */
export type MachineEvent =
  | { kind: 'poweroff' }
  | { kind: 'reset'; reason: string; cpuState?: string }
  | { kind: 'exit'; status: number };

export const MAX_CPUS = 64;

export class Machine implements PlatformControl {
  readonly mem = new GuestMemory();
  readonly clock: VmClock;
  readonly layout: MemoryPlan;
  readonly processors: X86Processor[] = [];
  readonly board: PcBoard;
  /** Guest-physical address of the ACPI RSDP. */
  readonly rsdp: number;
  /** Index of the processor running now (the local APIC page answers per processor). */
  current = 0;
  private event: MachineEvent | undefined;
  /** Processors that are neither halted nor waiting for SIPI after the last slice. */
  private busy = 0;

  constructor(o: MachineOptions) {
    if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > MAX_CPUS) throw new RangeError(`CPU count ${o.cpus} must be 1..${MAX_CPUS}`);
    this.clock = o.clock ?? new VmClock('host');
    this.layout = planMemory(o.memoryBytes);
    for (const r of this.layout.ram) this.mem.addRegion(r.base, r.size);
    const io = { ioRead: (port: number, size: 1 | 2 | 4) => this.board.ports.read(port, size), ioWrite: (port: number, size: 1 | 2 | 4, value: number) => this.board.ports.write(port, size, value) };
    for (let i = 0; i < o.cpus; i++) {
      const p = new X86Processor(this.mem, io, i);
      if (i > 0) p.init(); // application processors wait for INIT/SIPI from the BSP
      this.processors.push(p);
    }
    const quiet: SerialBackend = { write: () => {} };
    this.board = new PcBoard({
      mem: this.mem, processors: this.processors, clock: this.clock, platform: this,
      com1: o.com1 ?? quiet, com2: o.com2 ?? quiet, ramSize: o.memoryBytes,
      rtcEpochMs: o.rtcEpochMs ?? Date.now(), currentCpu: () => this.current,
    });
    const mmio = this.board.mmio;
    this.mem.mmio = { mmioRead: (a, d) => mmio.read(a, d), mmioWrite: (a, d) => mmio.write(a, d) };
    this.rsdp = installAcpiTables(this.mem, acpiConfig(o.cpus, this.board, this.layout));
    attachPciDevices(this, o);
  }

  get bsp(): X86Processor { return this.processors[0]!; }

  // ---- PlatformControl: what devices ask of the machine ----
  requestReset(reason: string): void { this.raise({ kind: 'reset', reason }); }
  requestPowerOff(): void { this.raise({ kind: 'poweroff' }); }
  requestExit(status: number): void { this.raise({ kind: 'exit', status }); }
  setA20(enabled: boolean): void { for (const p of this.processors) p.setA20(enabled); }

  private raise(e: MachineEvent): void {
    if (this.event === undefined) this.event = e;
    for (const p of this.processors) p.requestStop();
  }

  /** The pending stop request, if any (taken: the caller acts on it once). */
  takeEvent(): MachineEvent | undefined {
    const e = this.event;
    this.event = undefined;
    return e;
  }

  /**
   * Runs every processor that can run for up to `budget` instructions, then the timers that are
   * due. Returns true when some processor is still runnable (false: all halted or waiting).
   */
  runSlice(budget: number): boolean {
    let busy = 0;
    for (let i = 0; i < this.processors.length && this.event === undefined; i++) {
      const p = this.processors[i]!;
      this.current = i;
      const exit = p.run(budget);
      if (exit === EXIT_SHUTDOWN) {
        this.raise({ kind: 'reset', reason: `triple fault on CPU ${i}`, cpuState: describeCpuState(p.cpu) });
      } else if (exit !== EXIT_HALT && exit !== EXIT_WAIT_SIPI) busy++;
    }
    this.clock.runDue();
    this.busy = busy;
    return busy > 0;
  }

  /** True when no processor can run now: all halted or waiting for SIPI, and nothing was signalled since. */
  get idle(): boolean {
    if (this.busy > 0) return false;
    for (const p of this.processors) if (p.cpu.eventPending || p.cpu.nmiPending) return false;
    return true;
  }

  /** Instructions retired by all processors since power-on. */
  get instructions(): number { return this.processors.reduce((s, p) => s + p.instructionCount, 0); }
}
