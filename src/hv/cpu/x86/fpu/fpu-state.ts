/**
 * x87/MMX/SSE register state. Owned by the FPU/SSE instruction files; kept as plain typed arrays so
 * save/restore, FXSAVE and migration copy it directly.
 */
export class FpuState {
  /** XMM0-15, 16 bytes each, little-endian. */
  readonly xmm = new Uint8Array(16 * 16);
  mxcsr = 0x1f80;
}
