/**
 * _OSC for the PCI Express root bridge (PCI Firmware spec 3.3, 4.5): the OS asks for control of
 * native PCIe hotplug, SHPC hotplug, PME, AER, the PCIe capability, LTR and DPC, and is granted all
 * of them. No firmware handles any of these (there is no SMM), and without the grant Linux keeps its
 * hands off them — no native hotplug for disks and NICs added to a running VM, and ASPM disabled.
 *
 *   Method (_OSC, 4, Serialized) {
 *     CreateDWordField (Arg3, 0, CDW1)
 *     If (Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766")) {
 *       CreateDWordField (Arg3, 8, CDW3)
 *       Local0 = CDW3 & GRANTABLE
 *       If (Arg1 != 1) { CDW1 |= 0x08 }        // unrecognised revision
 *       If (CDW3 != Local0) { CDW1 |= 0x10 }   // capabilities masked
 *       CDW3 = Local0
 *       Return (Arg3)
 *     }
 *     CDW1 |= 0x04                              // unrecognised UUID
 *     Return (Arg3)
 *   }
 */
import { integer, uuid } from './aml/data.js';
import { method } from './aml/namespace.js';
import { and, arg, createDWordField, ifThen, lEqual, lNot, local, or, ref, ret, store } from './aml/statements.js';
import type { Aml } from './aml/bytes.js';

export const PCI_HOST_BRIDGE_OSC_UUID = '33db4d5b-1ff7-401c-9657-7441c03dd766';
/** Control bits: PCIe hotplug 0, SHPC hotplug 1, PME 2, AER 3, PCIe capability 4, LTR 5, DPC 7. */
export const OSC_GRANTABLE_CONTROLS = 0xbf;
export const OSC_UNRECOGNIZED_UUID = 0x04, OSC_UNRECOGNIZED_REVISION = 0x08, OSC_CAPABILITIES_MASKED = 0x10;

export function pciRootOsc(): Aml {
  const cdw1 = ref('CDW1'), cdw3 = ref('CDW3');
  return method('_OSC', { args: 4, serialized: true }, [
    createDWordField(arg(3), integer(0), 'CDW1'),
    ifThen(lEqual(arg(0), uuid(PCI_HOST_BRIDGE_OSC_UUID)), [
      createDWordField(arg(3), integer(8), 'CDW3'),
      and(cdw3, integer(OSC_GRANTABLE_CONTROLS), local(0)),
      ifThen(lNot(lEqual(arg(1), integer(1))), [or(cdw1, integer(OSC_UNRECOGNIZED_REVISION), cdw1)]),
      ifThen(lNot(lEqual(cdw3, local(0))), [or(cdw1, integer(OSC_CAPABILITIES_MASKED), cdw1)]),
      store(local(0), cdw3),
      ret(arg(3)),
    ]),
    or(cdw1, integer(OSC_UNRECOGNIZED_UUID), cdw1),
    ret(arg(3)),
  ]);
}
