/**
 * The legacy devices an OS finds through PNP IDs rather than probing: the 16550 UARTs (PNP0501), the
 * CMOS RTC (PNP0B00), the i8042's keyboard (PNP0303) and mouse (PNP0F13), the HPET (PNP0103) and a
 * motherboard-resources device (PNP0C02) reserving the ECAM window, which Linux requires before it
 * trusts the MCFG table.
 */
import { HPET_WINDOW, type AcpiConfig } from './acpi-config.js';
import type { Aml } from './aml/bytes.js';
import { eisaId, integer } from './aml/data.js';
import { device, name } from './aml/namespace.js';
import { io, irqNoFlags, memory32Fixed, qwordSpace, resourceTemplate } from './aml/resources.js';

const RTC_PORT = 0x70, RTC_IRQ = 8;
const KBC_DATA_PORT = 0x60, KBC_COMMAND_PORT = 0x64, KBD_IRQ = 1, MOUSE_IRQ = 12;
const GiB4 = 0x1_0000_0000;

function pnpDevice(path: string, hid: string, uid: number, crs: Aml): Aml {
  return device(path, [name('_HID', eisaId(hid)), name('_UID', integer(uid)), name('_CRS', crs)]);
}

function ecamReservation(pci: AcpiConfig['pci']): Aml {
  const base = pci.ecamBase + pci.busStart * 0x100000;
  const length = (pci.busEnd - pci.busStart + 1) * 0x100000;
  const window = base + length <= GiB4
    ? memory32Fixed(false, base, length)
    : qwordSpace({ type: 'memory', producer: false, min: base, max: base + length - 1 });
  return pnpDevice('MRES', 'PNP0C02', 1, resourceTemplate([window]));
}

export function isaDevices(config: AcpiConfig): Aml[] {
  const out = config.serialPorts.map((s, i) => pnpDevice(`COM${i + 1}`, 'PNP0501', i + 1, resourceTemplate([io(s.base, s.base, 1, 8), irqNoFlags([s.irq])])));
  out.push(pnpDevice('RTC', 'PNP0B00', 0, resourceTemplate([io(RTC_PORT, RTC_PORT, 1, 2), irqNoFlags([RTC_IRQ])])));
  out.push(pnpDevice('KBD', 'PNP0303', 0, resourceTemplate([io(KBC_DATA_PORT, KBC_DATA_PORT, 1, 1), io(KBC_COMMAND_PORT, KBC_COMMAND_PORT, 1, 1), irqNoFlags([KBD_IRQ])])));
  if (config.ps2Mouse) out.push(pnpDevice('MOU', 'PNP0F13', 0, resourceTemplate([irqNoFlags([MOUSE_IRQ])])));
  if (config.hpet !== undefined) out.push(pnpDevice('HPET', 'PNP0103', 0, resourceTemplate([memory32Fixed(false, config.hpet.address, HPET_WINDOW)])));
  out.push(ecamReservation(config.pci));
  return out;
}
