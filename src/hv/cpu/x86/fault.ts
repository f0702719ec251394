/**
 * A guest exception raised while executing an instruction. Handlers throw it (through
 * X86Cpu.fault); the run loop catches it, rewinds RIP to the faulting instruction and delivers
 * the exception through the IDT/IVT. One preallocated object is reused: throwing is the rare path,
 * and no allocation happens there either.
 */
export class CpuFault {
  vector = 0;
  /** Error code, or -1 when the exception has none. */
  errorCode = -1;
  /** For #PF: the faulting linear address (becomes CR2 on delivery). */
  address = 0;
}

/** Thrown (and caught by the run loop) when an instruction must stop the processor to exit. */
export class CpuExitRequest {
  reason = 0;
}
