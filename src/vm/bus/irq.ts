/**
 * An interrupt line from a device to an interrupt controller (PIC/IOAPIC pin, or an MSI sender).
 * Level-triggered devices hold the line with set(true) until serviced; edge-triggered devices pulse.
 */
export interface IrqLine {
  set(level: boolean): void;
  pulse(): void;
}

/** A sink for MSI/MSI-X messages (address/data as the PCI spec defines them), delivered to the APICs. */
export interface MsiTarget {
  signalMsi(address: number, data: number): void;
}

/** Fans one source out to several controllers (ISA IRQs go to both the PIC and the IOAPIC). */
export class SharedIrqLine implements IrqLine {
  constructor(private readonly targets: IrqLine[]) {}
  set(level: boolean): void { for (const t of this.targets) t.set(level); }
  pulse(): void { for (const t of this.targets) t.pulse(); }
}
