/** Test doubles shared by the APIC tests: a recording processor and a small machine of N APICs. */
import type { VirtualProcessorEvents } from '../../../src/hv/interrupts.js';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { ApicBus } from '../../../src/vm/apic/apic-bus.js';
import { LocalApic, type ExtIntSource } from '../../../src/vm/apic/local-apic.js';

export class RecordingCpu implements VirtualProcessorEvents {
  notifies = 0; nmis = 0; inits = 0; sipis: number[] = [];
  notifyInterrupt(): void { this.notifies++; }
  raiseNmi(): void { this.nmis++; }
  init(): void { this.inits++; }
  sipi(vector: number): void { this.sipis.push(vector); }
}

export interface Machine { clock: VmClock; bus: ApicBus; cpus: RecordingCpu[]; apics: LocalApic[] }

export function machine(n: number, opts: { x2apic?: boolean; extInt?: ExtIntSource; tscToNs?: (t: bigint) => number } = {}): Machine {
  const clock = new VmClock('manual');
  const bus = new ApicBus();
  const cpus: RecordingCpu[] = [];
  const apics: LocalApic[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = new RecordingCpu();
    cpus.push(cpu);
    apics.push(new LocalApic({ apicId: i, bsp: i === 0, clock, cpu, bus, x2apicSupported: opts.x2apic ?? false, extInt: i === 0 ? opts.extInt : undefined, tscToNs: opts.tscToNs }));
  }
  return { clock, bus, cpus, apics };
}

export function mmioWrite32(apic: { mmioWrite(o: number, d: Uint8Array): void }, offset: number, value: number): void {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, value >>> 0, true);
  apic.mmioWrite(offset, d);
}

export function mmioRead32(apic: { mmioRead(o: number, d: Uint8Array): void }, offset: number): number {
  const d = new Uint8Array(4);
  apic.mmioRead(offset, d);
  return new DataView(d.buffer).getUint32(0, true);
}

/** Software-enables an APIC with spurious vector 0xFF. */
export function enable(apic: LocalApic): void { mmioWrite32(apic, 0xf0, 0x1ff); }
