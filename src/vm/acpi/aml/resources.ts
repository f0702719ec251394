/**
 * Resource data (ACPI 6.x, 6.4) for _CRS: the small descriptors IRQ (no flags) and I/O port, the
 * large descriptors Memory32Fixed and Word/DWord/QWord address space, and the End Tag. A resource
 * template is a Buffer of descriptors closed by an End Tag whose checksum makes the whole template
 * sum to zero.
 */
import { bytes, checksumByte, concat, le, type Aml } from './bytes.js';
import { buffer } from './data.js';

/** The bytes of one resource descriptor. */
export type ResourceDescriptor = Uint8Array;

const SMALL_IRQ = 0x04, SMALL_IO = 0x08, SMALL_END = 0x0f;
const LARGE_MEMORY32_FIXED = 0x06, LARGE_DWORD_SPACE = 0x07, LARGE_WORD_SPACE = 0x08, LARGE_QWORD_SPACE = 0x0a;

function small(item: number, body: Uint8Array): ResourceDescriptor {
  return concat([bytes((item << 3) | body.length), body]);
}

function large(item: number, body: Uint8Array): ResourceDescriptor {
  return concat([bytes(0x80 | item), le(body.length, 2), body]);
}

/** IRQNoFlags(){irqs}: ISA IRQs 0-15, edge-triggered, active high, exclusive. */
export function irqNoFlags(irqs: readonly number[]): ResourceDescriptor {
  let mask = 0;
  for (const irq of irqs) {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new RangeError(`ISA IRQ ${irq} is not 0..15`);
    mask |= 1 << irq;
  }
  return small(SMALL_IRQ, le(mask, 2));
}

/** IO(Decode16, min, max, alignment, length): a port range decoding all 16 address bits. */
export function io(min: number, max: number, alignment: number, length: number): ResourceDescriptor {
  return small(SMALL_IO, concat([bytes(1), le(min, 2), le(max, 2), le(alignment, 1), le(length, 1)]));
}

/** Memory32Fixed(ReadWrite|ReadOnly, base, length). */
export function memory32Fixed(writable: boolean, base: number, length: number): ResourceDescriptor {
  return large(LARGE_MEMORY32_FIXED, concat([bytes(writable ? 1 : 0), le(base, 4), le(length, 4)]));
}

export type SpaceType = 'memory' | 'io' | 'bus';
const SPACE_CODE: Record<SpaceType, number> = { memory: 0, io: 1, bus: 2 };

/** Memory attributes (_MEM) of a memory address space descriptor. */
export type MemoryCaching = 'non-cacheable' | 'cacheable' | 'write-combining' | 'prefetchable';
const CACHING_CODE: Record<MemoryCaching, number> = { 'non-cacheable': 0, cacheable: 1, 'write-combining': 2, prefetchable: 3 };

export interface AddressSpace {
  type: SpaceType;
  /** True for a window the device passes on to its children (a bridge), false for one it decodes itself. */
  producer: boolean;
  min: number | bigint;
  max: number | bigint;
  /** Memory only. */
  caching?: MemoryCaching;
  /** Memory only; default true. */
  writable?: boolean;
}

/**
 * Byte 3 (general flags): _MAF and _MIF (the range is fixed), positive decode, bit 0 = consumer.
 * Byte 4 (type flags): memory _MEM and _RW; I/O _RNG = both ISA and non-ISA ports; bus numbers none.
 */
function addressSpace(space: AddressSpace, size: 2 | 4 | 8): Uint8Array {
  const min = BigInt(space.min), max = BigInt(space.max);
  if (max < min) throw new RangeError(`address space descriptor max 0x${max.toString(16)} is below min 0x${min.toString(16)}`);
  const general = 0x0c | (space.producer ? 0 : 1);
  let typeFlags = 0;
  if (space.type === 'memory') typeFlags = (CACHING_CODE[space.caching ?? 'non-cacheable'] << 1) | (space.writable === false ? 0 : 1);
  else if (space.type === 'io') typeFlags = 3;
  return concat([bytes(SPACE_CODE[space.type], general, typeFlags), le(0, size), le(min, size), le(max, size), le(0, size), le(max - min + 1n, size)]);
}

/** WordBusNumber / WordIO / WordMemory: 16-bit granularity, min, max, translation and length. */
export function wordSpace(space: AddressSpace): ResourceDescriptor { return large(LARGE_WORD_SPACE, addressSpace(space, 2)); }

export function dwordSpace(space: AddressSpace): ResourceDescriptor { return large(LARGE_DWORD_SPACE, addressSpace(space, 4)); }

export function qwordSpace(space: AddressSpace): ResourceDescriptor { return large(LARGE_QWORD_SPACE, addressSpace(space, 8)); }

/** ResourceTemplate(){...}: the descriptors and a checksummed End Tag, as a Buffer. */
export function resourceTemplate(descriptors: readonly ResourceDescriptor[]): Aml {
  const body = concat([...descriptors, bytes((SMALL_END << 3) | 1)]);
  return buffer(concat([body, bytes(checksumByte(body))]));
}
