import type { DiskFormat } from '../../storage/disk-image.js';

/**
 * The inventory's records: what a VM is (its configuration), where it is in its life (its state),
 * which worker process runs it, and what happened to it (events). These are also the shapes the
 * REST API returns, so they are plain JSON-compatible data.
 */

/** Persistent states. Transitional ones (starting, stopping, saving) are written so that a service
 * restart knows an operation was under way; the worker's own report settles them on re-attach. */
export const VM_STATES = ['off', 'starting', 'running', 'paused', 'stopping', 'saving', 'saved', 'failed'] as const;
export type VmState = (typeof VM_STATES)[number];

/** States in which a worker process exists (or should exist) for the VM. */
export const ACTIVE_STATES: readonly VmState[] = ['starting', 'running', 'paused', 'stopping', 'saving'];

export interface BootSource {
  /** Absolute path of a Linux bzImage / Multiboot kernel, or null (firmware boot, later). */
  kernel: string | null;
  initrd: string | null;
  cmdline: string;
}

export interface DiskAttachment {
  /** Canonical absolute path (symlinks resolved when the VM was configured). */
  path: string;
  readOnly: boolean;
  /** The image format when given (as `viridian run --disk F,format=X`); null: probed at open. */
  format: DiskFormat | null;
}

export interface NicAttachment {
  mac: string;
  /** Name of the virtual network the NIC plugs into (networks come with src/net). */
  network: string;
}

export interface VmConfig {
  name: string;
  cpus: number;
  memoryMiB: number;
  boot: BootSource;
  disks: DiskAttachment[];
  nics: NicAttachment[];
  notes: string;
}

export interface WorkerInfo {
  pid: number;
  /** Random identity the worker was started with; re-attach checks it to rule out a reused pid. */
  instance: string;
  socket: string;
  startedAt: string;
}

export interface VmRecord extends VmConfig {
  id: string;
  state: VmState;
  /** Why the VM is in its state (the failure reason for 'failed'), or null. */
  stateReason: string | null;
  stateChangedAt: string;
  createdAt: string;
  /** Bumped on every configuration change; lets clients detect concurrent edits. */
  generation: number;
  worker: WorkerInfo | null;
}

export interface EventRecord {
  id: number;
  at: string;
  vmId: string | null;
  vmName: string | null;
  kind: string;
  data: Record<string, unknown>;
}

export function isVmState(s: string): s is VmState {
  return (VM_STATES as readonly string[]).includes(s);
}
