/**
 * The hypervisor's processor interface, modelled on OpenVMM's `virt` traits: the VM runs a virtual
 * processor until it exits, and device accesses are completed through the CpuIo object the VM passes
 * in. Port I/O and MMIO are synchronous calls into the VM — the exit and its completion in one step —
 * which is exactly what a hardware backend does when it returns from KVM_RUN with an I/O exit and
 * re-enters after the VMM filled in the data. The software engine and a future KVM/WHP/HVF backend
 * both implement VirtualProcessor.
 */
import type { Saveable } from '../common/saved-state.js';
import type { InterruptController, VirtualProcessorEvents } from './interrupts.js';

export type IoSize = 1 | 2 | 4;

export interface CpuIo {
  ioRead(port: number, size: IoSize): number;
  ioWrite(port: number, size: IoSize, value: number): void;
}

/** Why run() returned. */
export const EXIT_BUDGET = 0;       // ran the requested number of instructions
export const EXIT_HALT = 1;         // HLT with no deliverable interrupt (wait for one)
export const EXIT_SHUTDOWN = 2;     // triple fault: the platform resets or ends the VM
export const EXIT_STOPPED = 3;      // requestStop() was called (device asked, debug exit, pause)
export const EXIT_WAIT_SIPI = 4;    // an application processor waiting for a startup IPI

export const EXIT_NAMES = ['budget', 'halt', 'shutdown', 'stopped', 'wait-for-sipi'] as const;

export interface VirtualProcessor extends VirtualProcessorEvents, Saveable {
  readonly index: number;
  /** Runs until an exit or until about `budget` instructions have retired. */
  run(budget: number): number;
  /** Ends the current run() at the next instruction boundary (callable from device code). */
  requestStop(): void;
  setInterruptController(ic: InterruptController | null): void;
  /** Architectural reset (power-on / RESET pin). */
  reset(): void;
  /** Instructions retired since reset. */
  readonly instructionCount: number;
}
