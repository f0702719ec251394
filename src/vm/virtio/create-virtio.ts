/**
 * Factories the machine uses: each returns the PCI function to plug in at a bus/device/function
 * (PciRoot.add). The function maps its BAR on `mmio` when the guest enables it, sends MSI-X
 * messages to `msi`, and does DMA only into `memory`'s RAM.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { MsiTarget } from '../bus/irq.js';
import type { MmioBus } from '../bus/mmio-bus.js';
import { VirtioBlk, type VirtioBlkOptions } from './blk/virtio-blk.js';
import { VirtioRng, type VirtioRngOptions } from './rng/virtio-rng.js';
import { VirtioNet, type VirtioNetOptions } from './net/virtio-net.js';
import { VirtioConsole, type VirtioConsoleOptions } from './console/virtio-console.js';
import { VirtioBalloon, type VirtioBalloonOptions } from './balloon/virtio-balloon.js';
import { VirtioPciFunction } from './virtio-pci-function.js';
import type { VirtioDevice } from './virtio-device.js';

export interface VirtioPlatform {
  memory: GuestMemory;
  mmio: MmioBus;
  msi: MsiTarget;
  /** Name in errors, saved state and the MMIO map. */
  name?: string;
  /** First slot of the 64-bit memory BAR; default 0. */
  bar?: number;
  /** Guest errors that put the device into DEVICE_NEEDS_RESET (for the VM's log). */
  onError?: (message: string) => void;
}

/** Any VirtioDevice (net, console, balloon, ...) on the PCI transport. */
export function createVirtioPci<D extends VirtioDevice>(device: D, p: VirtioPlatform, defaultName: string): VirtioPciFunction<D> {
  return new VirtioPciFunction<D>({
    name: p.name ?? defaultName, device, memory: p.memory, mmio: p.mmio, msi: p.msi,
    ...(p.bar !== undefined ? { bar: p.bar } : {}),
    ...(p.onError !== undefined ? { onError: p.onError } : {}),
  });
}

export function createVirtioBlk(opts: VirtioBlkOptions & VirtioPlatform): VirtioPciFunction {
  return createVirtioPci(new VirtioBlk(opts), opts, 'virtio-blk');
}

export function createVirtioRng(opts: VirtioRngOptions & VirtioPlatform): VirtioPciFunction {
  return createVirtioPci(new VirtioRng(opts), opts, 'virtio-rng');
}

/** A NIC: `fn.device.announce()`, `fn.device.tx` / `.rx.stats` for counters, `fn.device.mac`. */
export function createVirtioNet(opts: VirtioNetOptions & VirtioPlatform): VirtioPciFunction<VirtioNet> {
  return createVirtioPci(new VirtioNet(opts), opts, 'virtio-net');
}

/** Console and named ports: `fn.device.port(0)`, `fn.device.portByName('org.viridian.agent.0')`. */
export function createVirtioConsole(opts: VirtioConsoleOptions & VirtioPlatform): VirtioPciFunction<VirtioConsole> {
  return createVirtioPci(new VirtioConsole(opts), opts, 'virtio-console');
}

/** The memory balloon: `fn.device.setTarget(pages)`, `.actualPages`, `.stats`, `.requestStats()`. */
export function createVirtioBalloon(opts: VirtioBalloonOptions & VirtioPlatform): VirtioPciFunction<VirtioBalloon> {
  return createVirtioPci(new VirtioBalloon(opts), opts, 'virtio-balloon');
}
