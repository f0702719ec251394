/**
 * Where the virtio structures sit in the device's one memory BAR, and the vendor-specific
 * capabilities that tell the driver so (spec 4.1.4). Each structure gets its own 4 KiB page so a
 * driver may map them separately; the MSI-X table and PBA follow in the same BAR.
 */
import type { PciFunction } from '../pci/pci-function.js';
import {
  CAP_COMMON_CFG, CAP_DEVICE_CFG, CAP_ISR_CFG, CAP_NOTIFY_CFG, CAP_PCI_CFG, PCI_CAP_VENDOR,
} from './virtio-constants.js';

const PAGE = 0x1000;
/** Bytes of struct virtio_pci_common_cfg up to queue_device (no queue_notify_data / queue_reset: features not offered). */
export const COMMON_CFG_SIZE = 0x38;
/** Bytes between the notify addresses of consecutive queues. */
export const NOTIFY_MULTIPLIER = 4;

export interface VirtioBarLayout {
  common: number;
  isr: number;
  device: number;
  deviceSize: number;
  notify: number;
  notifySize: number;
  msixTable: number;
  msixTableSize: number;
  msixPba: number;
  msixPbaSize: number;
  barSize: number;
}

function pages(bytes: number): number { return Math.ceil(bytes / PAGE) * PAGE; }

export function barLayout(queueCount: number, deviceConfigSize: number, msixVectors: number): VirtioBarLayout {
  if (deviceConfigSize > PAGE) throw new RangeError(`device configuration of ${deviceConfigSize} bytes exceeds ${PAGE}`);
  const common = 0, isr = PAGE, device = 2 * PAGE, notify = 3 * PAGE;
  const notifySize = Math.max(2, queueCount * NOTIFY_MULTIPLIER);
  const msixTable = notify + pages(notifySize);
  const msixTableSize = msixVectors * 16;
  const msixPba = msixTable + pages(msixTableSize);
  const msixPbaSize = Math.ceil(msixVectors / 64) * 8;
  const end = msixPba + pages(msixPbaSize);
  let barSize = PAGE;
  while (barSize < end) barSize *= 2;
  return { common, isr, device, deviceSize: deviceConfigSize, notify, notifySize, msixTable, msixTableSize, msixPba, msixPbaSize, barSize };
}

export interface VirtioCapOffsets {
  /** Offset of the VIRTIO_PCI_CAP_PCI_CFG capability in configuration space. */
  pciCfg: number;
}

function addVirtioCap(fn: PciFunction, type: number, bar: number, offset: number, length: number, extra: number): number {
  const len = 16 + extra;
  const at = fn.addCapability(PCI_CAP_VENDOR, len);
  fn.setConfig(at + 2, 1, len);
  fn.setConfig(at + 3, 1, type);
  fn.setConfig(at + 4, 1, bar);
  fn.setConfig(at + 8, 4, offset);
  fn.setConfig(at + 12, 4, length);
  return at;
}

/** Adds the virtio structure capabilities, in the driver's order of preference. */
export function addVirtioCapabilities(fn: PciFunction, bar: number, l: VirtioBarLayout): VirtioCapOffsets {
  addVirtioCap(fn, CAP_COMMON_CFG, bar, l.common, COMMON_CFG_SIZE, 0);
  addVirtioCap(fn, CAP_ISR_CFG, bar, l.isr, 1, 0);
  if (l.deviceSize > 0) addVirtioCap(fn, CAP_DEVICE_CFG, bar, l.device, l.deviceSize, 0);
  const notify = addVirtioCap(fn, CAP_NOTIFY_CFG, bar, l.notify, l.notifySize, 4);
  fn.setConfig(notify + 16, 4, NOTIFY_MULTIPLIER);
  // The PCI configuration access window: bar, offset, length and data are driver-writable.
  const pciCfg = addVirtioCap(fn, CAP_PCI_CFG, 0, 0, 0, 4);
  fn.setWritable(pciCfg + 4, 1, 0xff);
  fn.setWritable(pciCfg + 8, 4, 0xffffffff);
  fn.setWritable(pciCfg + 12, 4, 0xffffffff);
  fn.setWritable(pciCfg + 16, 4, 0xffffffff);
  return { pciCfg };
}
