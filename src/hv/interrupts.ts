/**
 * How external interrupts reach a virtual processor. The hypervisor core knows nothing of the PIC
 * or the local APIC models (they live in vm/); it asks this interface at instruction boundaries,
 * the way hardware samples INTR. A hardware backend (KVM/WHP) would use it the same way.
 */
export interface InterruptController {
  /** Vector of the highest-priority interrupt that may be delivered now (TPR/PPR considered), or -1. */
  pendingVector(): number;
  /** The processor takes the interrupt (INTA): mark it in service and return its vector. */
  acknowledge(): number;
  /** CR8 reads and writes map to the task-priority register (TPR[7:4] = CR8[3:0]). */
  getTpr(): number;
  setTpr(value: number): void;
}

/**
 * Events a platform device sends to one virtual processor. Calls may come at any time between
 * instructions; the processor notices them at its next boundary.
 */
export interface VirtualProcessorEvents {
  /** Something may have become pending (re-check the controller); also wakes a halted processor. */
  notifyInterrupt(): void;
  raiseNmi(): void;
  /** INIT: the processor enters wait-for-SIPI (application processors) or resets (BSP, via platform). */
  init(): void;
  /** Startup IPI: start executing in real mode at vector << 12. Ignored unless waiting for SIPI. */
  sipi(vector: number): void;
}
