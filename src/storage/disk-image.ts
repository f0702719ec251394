/**
 * Format drivers and the open image they produce. Every format (raw, vhd, vhdx, vmdk, qcow2) has one
 * driver in its own folder; the registry detects the format of an existing file by probing each.
 */
import type { BlockDevice } from './block-device.js';

export type DiskFormat = 'raw' | 'vhd' | 'vhdx' | 'vmdk' | 'qcow2';
export type DiskType = 'fixed' | 'dynamic' | 'differencing';

export interface DiskInfo {
  file: string;
  format: DiskFormat;
  /** Format-specific variant, e.g. 'monolithicSparse' for VMDK; omitted when the format has none. */
  subformat?: string;
  type: DiskType;
  virtualSize: number;
  /** Bytes the image occupies on the host (allocated blocks, not the apparent file length). */
  allocatedSize: number;
  /** Allocation unit of a dynamic/differencing image (block, grain, cluster); omitted for fixed/raw. */
  blockSize?: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  /** Format identifiers: unique id, parent id, creator, timestamps... as strings. */
  identifiers: Record<string, string>;
  /** The parent as resolved on disk (absolute path), for differencing images. */
  parent?: string;
  /** The layer's host files besides `file`, when it has any (a VMDK's extent files). */
  files?: string[];
}

/** One run of sectors with the same allocation in this layer (not counting parents). */
export interface AllocationRun {
  allocated: boolean;
  /** True when the run is known to read as zeros (unallocated without parent, or a zero block). */
  zero: boolean;
  sectors: number;
}

export interface DiskImage extends BlockDevice {
  readonly file: string;
  readonly format: DiskFormat;
  /** The opened parent for a differencing image (reads of unallocated ranges go there). */
  readonly parent: DiskImage | undefined;
  info(): Promise<DiskInfo>;
  /** Allocation of [sector, sector+count) in this layer, starting at `sector`; the run may be shorter than count. */
  allocation(sector: number, count: number): Promise<AllocationRun>;
}

export interface CreateOptions {
  size: number;
  type: DiskType;
  blockSize?: number;
  /** Parent file for differencing images; the size is taken from it when size is 0. */
  parent?: string;
  logicalSectorSize?: 512 | 4096;
  /** Format-specific variant, e.g. VMDK 'monolithicSparse' or 'monolithicFlat'. */
  subformat?: string;
}

export interface OpenOptions {
  readOnly: boolean;
  /**
   * Opens a parent/backing file through the registry (format detection, loop and depth checks).
   * `from` is the child's path, for error messages. Drivers of formats with parents use it; parents
   * are always opened read-only.
   */
  openParent?: (path: string, from: string) => Promise<DiskImage>;
}

export interface CheckReport {
  ok: boolean;
  /** One line per problem, naming the structure and what is wrong. */
  problems: string[];
  /** What --repair changed (empty when nothing or when not repairing). */
  repaired: string[];
}

export interface FormatDriver {
  readonly format: DiskFormat;
  /** True when `head` (the first 64 KiB of the file, or less if shorter) is this format. */
  probe(head: Uint8Array, fileSize: number): boolean;
  /** For formats identified by a trailer (fixed VHD): true when the last 64 KiB of the file is this format. */
  probeTail?(tail: Uint8Array, fileSize: number): boolean;
  open(file: string, opts: OpenOptions): Promise<DiskImage>;
  /** Creates a new image; must not leave a partial file behind on failure. */
  create(file: string, opts: CreateOptions): Promise<void>;
  /** Optional per-format operations; absent means the CLI says the format does not support it. */
  resize?(file: string, newSize: number, opts: { allowShrink: boolean }): Promise<void>;
  compact?(file: string): Promise<{ before: number; after: number }>;
  check?(file: string, opts: { repair: boolean }): Promise<CheckReport>;
}
