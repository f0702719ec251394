/**
 * Differentiated System Description Table (ACPI 6.x, 5.2.11.1), revision 2 (64-bit integers):
 *   \_SB.Cnnn      a processor device (ACPI0007) per CPU, _UID = the MADT's processor UID
 *   \_SB.PCI0      the root bridge and the ISA devices behind it (dsdt-pci-root.ts)
 *   \_S5           soft-off: SLP_TYP = the value the ACPI PM device treats as S5
 * The power button is the FADT's fixed-feature one, so there is no PNP0C0C device.
 */
import type { AcpiConfig } from './acpi-config.js';
import { concat, type Aml } from './aml/bytes.js';
import { integer, pkg, string } from './aml/data.js';
import { device, name, scope } from './aml/namespace.js';
import { pciRoot } from './dsdt-pci-root.js';
import { systemDescriptionTable } from './sdt.js';

export const DSDT_REVISION = 2;

/** "C" and three hex digits: C000..C0FE for up to 255 processors. */
export function processorName(index: number): string {
  return `C${index.toString(16).toUpperCase().padStart(3, '0')}`;
}

function processors(cpuCount: number): Aml[] {
  const out: Aml[] = [];
  for (let i = 0; i < cpuCount; i++) out.push(device(processorName(i), [name('_HID', string('ACPI0007')), name('_UID', integer(i))]));
  return out;
}

export function buildDsdt(config: AcpiConfig): Uint8Array {
  const s5 = integer(config.pm.s5SleepType);
  const body = concat([
    // At the DSDT's top level "_SB" is \_SB; the root prefix would be a byte the ASL compiler drops.
    scope('_SB', [...processors(config.cpuCount), pciRoot(config)]),
    // {SLP_TYPa, SLP_TYPb, reserved, reserved}; there is no PM1b block, so both carry the same value.
    name('_S5', pkg([s5, s5, integer(0), integer(0)])),
  ]);
  return systemDescriptionTable('DSDT', DSDT_REVISION, body);
}
