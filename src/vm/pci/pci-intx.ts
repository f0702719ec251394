/**
 * INTx routing: each function's INTA#..INTD# pin reaches an interrupt controller input (a GSI)
 * through a board-specific swizzle. Several functions may share a GSI; PCI interrupts are
 * level-triggered and wired-OR, so the GSI is asserted while any of its sources is.
 */
import type { IrqLine } from '../bus/irq.js';
import type { PciFunction } from './pci-function.js';

/** (device number 0..31, pin 0=INTA#..3=INTD#) → GSI. */
export type IntxSwizzle = (device: number, pin: number) => number;

/** The conventional rotation onto four PCI interrupt lines at GSIs 16..19 (ACPI _PRT must say the same). */
export const standardSwizzle: IntxSwizzle = (device, pin) => 16 + ((device + pin) & 3);

export class PciIntxRouter {
  private readonly asserted = new Map<number, number>();

  constructor(private readonly swizzle: IntxSwizzle, private readonly lineForGsi: (gsi: number) => IrqLine) {}

  /** Wires the function's INTx pin (if it has one); writes the GSI into its interrupt line register as a default. */
  connect(device: number, fn: PciFunction): number | undefined {
    const pin = fn.config[0x3d]!;
    if (pin === 0) return undefined;
    const gsi = this.swizzle(device, pin - 1);
    const line = this.lineForGsi(gsi);
    fn.config[0x3c] = gsi & 0xff;
    let mine = false;
    fn.intxSink = (level) => {
      if (level === mine) return;
      mine = level;
      const n = (this.asserted.get(gsi) ?? 0) + (level ? 1 : -1);
      this.asserted.set(gsi, n);
      line.set(n > 0);
    };
    return gsi;
  }
}
