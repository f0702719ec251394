/**
 * The one interface every VM disk device uses, whatever the image format underneath.
 * Addresses are in logical sectors (sectorSize bytes). Buffers must be a whole number of sectors.
 * A device opened read-only rejects write and discard with an error and never touches the file.
 */
export interface BlockDevice {
  /** Virtual size in bytes (a multiple of sectorSize). */
  readonly sizeBytes: number;
  /** Logical sector size: 512 or 4096. */
  readonly sectorSize: number;
  /** Physical sector size reported to the guest (>= sectorSize). */
  readonly physicalSectorSize: number;
  readonly readOnly: boolean;
  read(sector: number, buf: Uint8Array): Promise<void>;
  write(sector: number, buf: Uint8Array): Promise<void>;
  /** Durable once this resolves: every write acknowledged before the call survives a crash. */
  flush(): Promise<void>;
  /** Frees the range where the format can (TRIM/unmap); reads of it return zeros afterwards. */
  discard(sector: number, count: number): Promise<void>;
  close(): Promise<void>;
}
