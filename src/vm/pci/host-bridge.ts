/**
 * The host bridge at 00:00.0. It carries the IDs of Q35's MCH (Intel 0x8086:0x29C0, class 0x0600
 * "host bridge") so guests that key on them find a familiar part, but it implements none of the
 * MCH's chipset registers (PAM, SMRAM, PCIEXBAR): firmware must take memory layout and the ECAM
 * base from ACPI / fw_cfg instead.
 */
import { PciFunction } from './pci-function.js';

export const HOST_BRIDGE_VENDOR_ID = 0x8086;
export const HOST_BRIDGE_DEVICE_ID = 0x29c0;

export function createHostBridge(): PciFunction {
  return new PciFunction({ name: 'host-bridge', vendorId: HOST_BRIDGE_VENDOR_ID, deviceId: HOST_BRIDGE_DEVICE_ID, classCode: 0x060000, revision: 0, pcie: true });
}
