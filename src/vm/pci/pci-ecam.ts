/**
 * PCI Express enhanced configuration access (ECAM, PCIe base spec 7.2.2): a memory window where
 * bus/device/function/register are address bits 27:20 / 19:15 / 14:12 / 11:0, so each function
 * has 4 KiB. The window is `busCount` MiB long (1..256 buses starting at bus 0).
 */
import type { MmioDevice } from '../bus/mmio-bus.js';
import type { PciRoot } from './pci-root.js';

export const ECAM_DEFAULT_BASE = 0xb0000000;

export class PciEcam implements MmioDevice {
  readonly size: number;

  constructor(private readonly root: PciRoot, readonly busCount = 256) {
    if (!Number.isInteger(busCount) || busCount < 1 || busCount > 256) throw new RangeError(`ECAM bus count ${busCount} must be 1..256`);
    this.size = busCount << 20;
  }

  mmioRead(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      if (o < 0 || o >= this.size) { data[i] = 0xff; continue; }
      const reg = o & 0xfff, bdf = o >>> 12;
      const fn = this.root.get(bdf);
      // Conventional (256-byte) functions read 0 above 0xFF when present, all ones when absent.
      data[i] = fn === undefined ? 0xff : reg < fn.config.length ? fn.readConfig(reg, 1) : 0;
    }
  }

  /** Accesses of 1, 2 or 4 bytes inside one dword go to the function as one write; others are dropped. */
  mmioWrite(offset: number, data: Uint8Array): void {
    const n = data.length;
    if (n !== 1 && n !== 2 && n !== 4) return;
    if (offset < 0 || offset + n > this.size || (offset & 3) + n > 4) return;
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + data[i]!;
    this.root.writeConfig(offset >>> 12, offset & 0xfff, n, v);
  }
}
