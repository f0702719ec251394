/**
 * The xAPIC MMIO page is one guest-physical range, but every processor sees its own APIC there.
 * This MmioDevice sits on the VM's MMIO bus and forwards each access to the APIC of the processor
 * that is executing, which the VM loop reports through `currentApic`.
 */
import type { MmioDevice } from '../bus/mmio-bus.js';
import type { LocalApic } from './local-apic.js';

export class ApicMmioWindow implements MmioDevice {
  constructor(private readonly currentApic: () => LocalApic | undefined) {}

  mmioRead(offset: number, data: Uint8Array): void {
    const apic = this.currentApic();
    if (apic === undefined) { data.fill(0xff); return; }
    apic.mmioRead(offset, data);
  }

  mmioWrite(offset: number, data: Uint8Array): void {
    this.currentApic()?.mmioWrite(offset, data);
  }
}
