/**
 * The machine's PCI devices beyond the host bridge, at fixed slots so a guest sees the same
 * topology on every boot (and after a checkpoint restore): virtio-rng at 00:01.0, disks from
 * 00:04.0 and NICs from 00:0C.0, each in command-line order.
 */
import type { BlockDevice } from '../../storage/block-device.js';
import { createVirtioBlk, createVirtioNet, createVirtioRng } from '../virtio/create-virtio.js';
import type { NetBackend } from '../net/net-backend.js';
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

export const RNG_SLOT = 1;
export const FIRST_NIC_SLOT = 12;
export const MAX_NICS = 8;
export const FIRST_DISK_SLOT = 4;
export const MAX_DISKS = 8;

export function attachPciDevices(m: Machine, o: { disks?: MachineDisk[]; nics?: MachineNic[]; rng?: boolean; wake?: () => void; onDeviceError?: (message: string) => void }): void {
  const platform = { memory: m.mem, mmio: m.board.mmio, msi: m.board.apicBus, ...(o.onDeviceError !== undefined ? { onError: o.onDeviceError } : {}) };
  if (o.rng === true) m.board.pci.add(0, RNG_SLOT, 0, createVirtioRng({ ...platform, name: 'virtio-rng' }));
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
    const fn = createVirtioNet({ ...platform, name: `virtio-net${i}`, mac: n.mac, backend: n.backend, ...(o.wake !== undefined ? { wake: o.wake } : {}) });
    m.board.pci.add(0, FIRST_NIC_SLOT + i, 0, fn);
  });
}
