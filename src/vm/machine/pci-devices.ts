/**
 * The machine's PCI devices beyond the host bridge, at fixed slots so a guest sees the same
 * topology on every boot (and after a checkpoint restore):
 *   00:01.0 virtio-rng            00:02.0 virtio-balloon         00:03.0 virtio-console (channels)
 *   00:04.0.. virtio-blk disks (up to 8, command-line order)
 *   00:0C.0.. virtio-net NICs (up to 8, command-line order)
 * Slots 2 and 3 are taken whether or not the balloon or console is attached, so adding one never
 * renumbers the others (Linux names NICs by slot: enp0s12 stays enp0s12).
 */
import type { BlockDevice } from '../../storage/block-device.js';
import { createVirtioBalloon, createVirtioBlk, createVirtioConsole, createVirtioNet, createVirtioRng } from '../virtio/create-virtio.js';
import type { NetBackend } from '../net/net-backend.js';
import { VirtioPciFunction } from '../virtio/virtio-pci-function.js';
import { VirtioBalloon } from '../virtio/balloon/virtio-balloon.js';
import type { BalloonStats } from '../virtio/balloon/balloon-stats.js';
import { VirtioConsole } from '../virtio/console/virtio-console.js';
import { MAX_PORTS } from '../virtio/console/console-protocol.js';
import { PciRoot } from '../pci/pci-root.js';
import type { Machine } from './machine.js';

export interface MachineDisk {
  device: BlockDevice;
  /** Present it read-only even if the backend could write. */
  readOnly?: boolean;
  /** GET_ID answer (20 printable ASCII characters at most); default VIRIDIAN-DISK<n>. */
  serial?: string;
}

/** A NIC: its address and the host-side network it is plugged into (opened once per run). */
export interface MachineNic { mac: Uint8Array | string; backend: NetBackend }

/** The memory balloon: the target it starts with (a rebuilt machine keeps the host's wish) and who hears its statistics. */
export interface MachineBalloon {
  /** Pages the balloon should hold from power-on; default 0. */
  targetPages?: number;
  /** Each statistics report the guest sends. */
  onStats?: (stats: BalloonStats) => void;
}

export const RNG_SLOT = 1;
export const BALLOON_SLOT = 2;
export const CONSOLE_SLOT = 3;
export const FIRST_DISK_SLOT = 4;
export const MAX_DISKS = 8;
export const FIRST_NIC_SLOT = 12;
export const MAX_NICS = 8;
/** Named ports on the console device; port 0 is the (unused while COM1 is the console) hvc0. */
export const MAX_CHANNELS = MAX_PORTS - 1;

export interface PciDeviceOptions {
  disks?: MachineDisk[];
  nics?: MachineNic[];
  rng?: boolean;
  balloon?: MachineBalloon;
  /** Port names for virtio-console's named ports (agent channels), in port order from port 1. */
  channels?: string[];
  wake?: () => void;
  onDeviceError?: (message: string) => void;
}

export function attachPciDevices(m: Machine, o: PciDeviceOptions): void {
  const platform = { memory: m.mem, mmio: m.board.mmio, msi: m.board.apicBus, ...(o.onDeviceError !== undefined ? { onError: o.onDeviceError } : {}) };
  const wake = o.wake !== undefined ? { wake: o.wake } : {};
  if (o.rng === true) m.board.pci.add(0, RNG_SLOT, 0, createVirtioRng({ ...platform, name: 'virtio-rng' }));
  if (o.balloon !== undefined) {
    const b = o.balloon;
    const fn = createVirtioBalloon({ ...platform, ...wake, name: 'virtio-balloon', ...(b.onStats !== undefined ? { onStats: b.onStats } : {}) });
    if (b.targetPages !== undefined && b.targetPages > 0) fn.device.setTarget(b.targetPages);
    m.board.pci.add(0, BALLOON_SLOT, 0, fn);
  }
  const channels = o.channels ?? [];
  if (channels.length > MAX_CHANNELS) throw new RangeError(`at most ${MAX_CHANNELS} channels, got ${channels.length}`);
  if (channels.length > 0) {
    const ports = [{ console: true }, ...channels.map((name) => ({ name }))];
    m.board.pci.add(0, CONSOLE_SLOT, 0, createVirtioConsole({ ...platform, ...wake, name: 'virtio-console', ports }));
  }
  const disks = o.disks ?? [];
  if (disks.length > MAX_DISKS) throw new RangeError(`at most ${MAX_DISKS} disks, got ${disks.length}`);
  disks.forEach((d, i) => {
    const fn = createVirtioBlk({
      ...platform, name: `virtio-blk${i}`, disk: d.device,
      serial: d.serial ?? `VIRIDIAN-DISK${i}`, ...(d.readOnly === true ? { readOnly: true } : {}),
    });
    m.board.pci.add(0, FIRST_DISK_SLOT + i, 0, fn);
  });
  const nics = o.nics ?? [];
  if (nics.length > MAX_NICS) throw new RangeError(`at most ${MAX_NICS} NICs, got ${nics.length}`);
  nics.forEach((n, i) => {
    const fn = createVirtioNet({ ...platform, ...wake, name: `virtio-net${i}`, mac: n.mac, backend: n.backend });
    m.board.pci.add(0, FIRST_NIC_SLOT + i, 0, fn);
  });
}

/** The balloon device of `m`, or undefined when the machine was built without one. */
export function machineBalloon(m: Machine): VirtioBalloon | undefined {
  const fn = m.board.pci.get(PciRoot.bdf(0, BALLOON_SLOT, 0));
  return fn instanceof VirtioPciFunction && fn.device instanceof VirtioBalloon ? fn.device : undefined;
}

/** The console device of `m` (its named ports are the channels), or undefined. */
export function machineConsole(m: Machine): VirtioConsole | undefined {
  const fn = m.board.pci.get(PciRoot.bdf(0, CONSOLE_SLOT, 0));
  return fn instanceof VirtioPciFunction && fn.device instanceof VirtioConsole ? fn.device : undefined;
}
