/**
 * \_SB.PCI0, the PCI Express root bridge: its identity, the bus/I/O/memory windows it forwards
 * (_CRS), the INTx routing of every slot (_PRT), _OSC, and the ISA devices behind it.
 */
import type { AcpiConfig } from './acpi-config.js';
import type { Aml } from './aml/bytes.js';
import { eisaId, integer, pkg } from './aml/data.js';
import { device, name } from './aml/namespace.js';
import { io, qwordSpace, dwordSpace, resourceTemplate, wordSpace, type ResourceDescriptor } from './aml/resources.js';
import { pciRootOsc } from './dsdt-osc.js';
import { isaDevices } from './dsdt-isa.js';

/** The legacy VGA frame buffer window, forwarded so a VGA device's fixed range is routable. */
const VGA_WINDOW = { min: 0xa0000, max: 0xbffff };

function rootResources(pci: AcpiConfig['pci']): ResourceDescriptor[] {
  const windows: ResourceDescriptor[] = [
    wordSpace({ type: 'bus', producer: true, min: pci.busStart, max: pci.busEnd }),
    // All I/O ports pass through the bridge except its own configuration ports 0xCF8-0xCFF.
    wordSpace({ type: 'io', producer: true, min: 0x0000, max: 0x0cf7 }),
    io(0x0cf8, 0x0cf8, 1, 8),
    wordSpace({ type: 'io', producer: true, min: 0x0d00, max: 0xffff }),
    dwordSpace({ type: 'memory', producer: true, caching: 'cacheable', ...VGA_WINDOW }),
    dwordSpace({ type: 'memory', producer: true, min: pci.mmio32.base, max: pci.mmio32.base + pci.mmio32.length - 1 }),
  ];
  if (pci.mmio64 !== undefined) {
    windows.push(qwordSpace({ type: 'memory', producer: true, min: pci.mmio64.base, max: pci.mmio64.base + pci.mmio64.length - 1 }));
  }
  return windows;
}

/**
 * One entry per device and pin: {address 0xDDDDFFFF (any function), pin, source 0, GSI}. Source 0
 * means the last field is a GSI, wired level-triggered and active-low as PCI INTx is.
 */
function routingTable(swizzle: AcpiConfig['pci']['intxSwizzle']): Aml {
  const entries: Aml[] = [];
  for (let dev = 0; dev < 32; dev++) {
    for (let pin = 0; pin < 4; pin++) {
      entries.push(pkg([integer(dev * 0x10000 + 0xffff), integer(pin), integer(0), integer(swizzle(dev, pin))]));
    }
  }
  return pkg(entries);
}

export function pciRoot(config: AcpiConfig): Aml {
  const pci = config.pci;
  return device('PCI0', [
    name('_HID', eisaId('PNP0A08')),
    name('_CID', eisaId('PNP0A03')),
    name('_SEG', integer(0)),
    name('_BBN', integer(pci.busStart)),
    name('_UID', integer(0)),
    name('_CRS', resourceTemplate(rootResources(pci))),
    name('_PRT', routingTable(pci.intxSwizzle)),
    pciRootOsc(),
    ...isaDevices(config),
  ]);
}
