/**
 * The whole ACPI table set as one contiguous image for guest RAM at `baseAddress`. The machine puts
 * it at 0xE0000 (reserved in the E820 map): the RSDP comes first, 16-byte aligned, so both the Linux
 * boot protocol's acpi_rsdp_addr and a legacy scan of 0xE0000-0xFFFFF find it.
 */
import { UserError } from '../../common/errors.js';
import { hex, validateAcpiConfig, type AcpiConfig } from './acpi-config.js';
import { buildDsdt } from './dsdt.js';
import { buildFacs, FACS_ALIGNMENT } from './facs.js';
import { buildFadt } from './fadt.js';
import { buildHpetTable } from './hpet-table.js';
import { buildMadt } from './madt.js';
import { buildMcfg } from './mcfg.js';
import { buildRsdp, RSDP_LENGTH } from './rsdp.js';
import { buildRsdt } from './rsdt.js';
import { buildXsdt } from './xsdt.js';

/** The image must fit the 128 KiB of 0xE0000-0xFFFFF. */
export const ACPI_IMAGE_MAX = 0x20000;
const TABLE_ALIGNMENT = 16;

export interface AcpiTableInfo {
  /** The table's signature; 'RSDP' for the root pointer. */
  signature: string;
  address: number;
  length: number;
}

export interface AcpiImage {
  image: Uint8Array;
  rsdpAddress: number;
  tables: AcpiTableInfo[];
}

/** Places tables one after another, each aligned in guest-physical terms. */
class ImageLayout {
  private readonly parts: { offset: number; data: Uint8Array }[] = [];
  readonly tables: AcpiTableInfo[] = [];
  private end = 0;

  constructor(private readonly base: number) {}

  place(signature: string, data: Uint8Array, alignment = TABLE_ALIGNMENT): number {
    const address = Math.ceil((this.base + this.end) / alignment) * alignment;
    const offset = address - this.base;
    this.parts.push({ offset, data });
    this.tables.push({ signature, address, length: data.length });
    this.end = offset + data.length;
    return address;
  }

  finish(): Uint8Array {
    if (this.end > ACPI_IMAGE_MAX) throw new UserError(`ACPI tables need ${this.end} bytes, more than the ${ACPI_IMAGE_MAX} reserved for them`);
    const image = new Uint8Array(this.end);
    for (const p of this.parts) image.set(p.data, p.offset);
    return image;
  }
}

export function buildAcpiTables(config: AcpiConfig, baseAddress: number): AcpiImage {
  validateAcpiConfig(config);
  if (!Number.isSafeInteger(baseAddress) || baseAddress < 0 || baseAddress % 16 !== 0 || baseAddress + ACPI_IMAGE_MAX > 0x1_0000_0000) {
    throw new UserError(`ACPI tables base address ${hex(baseAddress)} must be 16-byte aligned with ${hex(ACPI_IMAGE_MAX)} bytes below 4 GiB (the RSDT and FADT hold 32-bit pointers)`);
  }
  const layout = new ImageLayout(baseAddress);
  // The RSDP points at the RSDT/XSDT, built last; its slot is reserved first so it sits at the base.
  const rsdpAddress = layout.place('RSDP', new Uint8Array(RSDP_LENGTH));
  const facs = layout.place('FACS', buildFacs(), FACS_ALIGNMENT);
  const dsdt = layout.place('DSDT', buildDsdt(config));
  const listed = [
    layout.place('FACP', buildFadt(config, facs, dsdt)),
    layout.place('APIC', buildMadt(config)),
    ...(config.hpet !== undefined ? [layout.place('HPET', buildHpetTable(config.hpet))] : []),
    layout.place('MCFG', buildMcfg(config.pci)),
  ];
  const rsdt = layout.place('RSDT', buildRsdt(listed));
  const xsdt = layout.place('XSDT', buildXsdt(listed));
  const image = layout.finish();
  image.set(buildRsdp(rsdt, xsdt), rsdpAddress - baseAddress);
  return { image, rsdpAddress, tables: layout.tables };
}
