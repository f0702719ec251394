/**
 * What a DMA-capable device may do to guest memory. The VM implements it over its RAM regions and
 * refuses (undefined / false) any range that is not entirely guest RAM, so a hostile address can
 * never reach host memory or MMIO.
 */
export interface GuestMemoryAccess {
  /** A copy of `len` bytes at guest-physical `addr`, or undefined if the range is not all RAM. */
  read(addr: number, len: number): Uint8Array | undefined;
  /** Stores `bytes` at `addr`; false (nothing written) if the range is not all RAM. */
  write(addr: number, bytes: Uint8Array): boolean;
}
