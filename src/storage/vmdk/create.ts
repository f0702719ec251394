/**
 * Creates monolithicSparse and monolithicFlat VMDKs. Files are built under temporary names and
 * renamed into place only when complete, so a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../common/errors.js';
import type { CreateOptions } from '../disk-image.js';
import { formatDescriptor } from './descriptor.js';
import { viewOf } from './image-file.js';
import { FLAG_NEWLINE_TEST, FLAG_REDUNDANT_GT, SECTOR, serializeSparseHeader } from './sparse-header.js';

const GTES_PER_GT = 512;
const DESCRIPTOR_SECTORS = 20;
const DEFAULT_GRAIN_BYTES = 64 * 1024;
/** Grain offsets are 32-bit sector numbers: a monolithicSparse file cannot pass 2 TiB. */
const MAX_SPARSE_BYTES = 0xffffffff * SECTOR - 1024 * 1024 * 1024;

export async function createVmdk(file: string, opts: CreateOptions): Promise<void> {
  if (opts.type === 'differencing') throw new UserError(`${file}: creating differencing VMDKs is not supported; create a VHDX/qcow2 child or use qemu-img`);
  if (opts.logicalSectorSize !== undefined && opts.logicalSectorSize !== SECTOR) throw new UserError(`${file}: VMDK has 512-byte sectors only`);
  const sub = opts.subformat ?? (opts.type === 'fixed' ? 'monolithicFlat' : 'monolithicSparse');
  if (!Number.isSafeInteger(opts.size) || opts.size <= 0 || opts.size % SECTOR !== 0) {
    throw new UserError(`${file}: size ${opts.size} must be a positive multiple of 512 bytes`);
  }
  if (await exists(file)) throw new UserError(`${file}: already exists; refusing to overwrite`);
  if (sub === 'monolithicSparse') {
    if (opts.type === 'fixed') throw new UserError(`${file}: monolithicSparse is a dynamic format; use subformat monolithicFlat for a fixed disk`);
    return createSparse(file, opts);
  }
  if (sub === 'monolithicFlat') {
    if (opts.type === 'dynamic' && opts.subformat !== undefined) throw new UserError(`${file}: monolithicFlat is a fixed format; use monolithicSparse for a dynamic disk`);
    return createFlat(file, opts);
  }
  throw new UserError(`${file}: VMDK subformat '${sub}' cannot be created (monolithicSparse and monolithicFlat can)`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function newCid(): string {
  return randomBytes(4).toString('hex');
}

function tempName(file: string): string {
  return `${file}.tmp-${randomBytes(6).toString('hex')}`;
}

async function createSparse(file: string, opts: CreateOptions): Promise<void> {
  const grainBytes = opts.blockSize ?? DEFAULT_GRAIN_BYTES;
  if (grainBytes < 4096 || grainBytes > 1024 * 1024 || (grainBytes & (grainBytes - 1)) !== 0) {
    throw new UserError(`${file}: grain size ${grainBytes} must be a power of two from 4 KiB to 1 MiB`);
  }
  if (opts.size > MAX_SPARSE_BYTES) throw new UserError(`${file}: monolithicSparse VMDKs are limited to about 2 TiB`);
  const grain = grainBytes / SECTOR;
  const capacity = opts.size / SECTOR;
  const gdEntries = Math.ceil(capacity / (grain * GTES_PER_GT));
  const gdSectors = Math.ceil((gdEntries * 4) / SECTOR);
  const gtSectors = (GTES_PER_GT * 4) / SECTOR;
  const rgdOffset = 1 + DESCRIPTOR_SECTORS;
  const rgtStart = rgdOffset + gdSectors;
  const gdOffset = rgtStart + gdEntries * gtSectors;
  const gtStart = gdOffset + gdSectors;
  const overHead = Math.ceil((gtStart + gdEntries * gtSectors) / grain) * grain;
  const header = serializeSparseHeader({
    version: 1, flags: FLAG_NEWLINE_TEST | FLAG_REDUNDANT_GT, capacity, grainSize: grain,
    descriptorOffset: 1, descriptorSize: DESCRIPTOR_SECTORS, numGTEsPerGT: GTES_PER_GT,
    rgdOffset, gdOffset, overHead, uncleanShutdown: false, compressAlgorithm: 0,
  });
  const text = formatDescriptor({
    cid: newCid(), createType: 'monolithicSparse', sizeSectors: capacity,
    extents: [{ access: 'RW', sectors: capacity, type: 'SPARSE', fileName: basename(file), offset: 0 }],
  });
  const desc = Buffer.from(text, 'latin1');
  if (desc.length > DESCRIPTOR_SECTORS * SECTOR) throw new UserError(`${file}: file name too long for the embedded descriptor`);
  const dirTable = (firstGt: number): Uint8Array => {
    const b = new Uint8Array(gdSectors * SECTOR);
    const v = viewOf(b);
    for (let i = 0; i < gdEntries; i++) v.setUint32(i * 4, firstGt + i * gtSectors, true);
    return b;
  };
  const tmp = tempName(file);
  await writeFileAtomically(tmp, file, async (fh) => {
    await fh.write(header, 0, header.length, 0);
    await fh.write(desc, 0, desc.length, SECTOR);
    const rgd = dirTable(rgtStart);
    await fh.write(rgd, 0, rgd.length, rgdOffset * SECTOR);
    const gd = dirTable(gtStart);
    await fh.write(gd, 0, gd.length, gdOffset * SECTOR);
    // Grain tables start all-zero (every grain unallocated): leave them as a hole.
    await fh.truncate(overHead * SECTOR);
  });
}

async function createFlat(file: string, opts: CreateOptions): Promise<void> {
  const flatName = basename(file).replace(/\.vmdk$/i, '') + '-flat.vmdk';
  const flatPath = file.slice(0, file.length - basename(file).length) + flatName;
  if (await exists(flatPath)) throw new UserError(`${flatPath}: already exists; refusing to overwrite`);
  const sectors = opts.size / SECTOR;
  const text = formatDescriptor({
    cid: newCid(), createType: 'monolithicFlat', sizeSectors: sectors,
    extents: [{ access: 'RW', sectors, type: 'FLAT', fileName: flatName, offset: 0 }],
  });
  await writeFileAtomically(tempName(flatPath), flatPath, async (fh) => {
    await fh.truncate(opts.size);
  });
  try {
    await writeFileAtomically(tempName(file), file, async (fh) => {
      const b = Buffer.from(text, 'latin1');
      await fh.write(b, 0, b.length, 0);
    });
  } catch (e) {
    await unlink(flatPath).catch(() => undefined);
    throw e;
  }
}

type Filler = (fh: Awaited<ReturnType<typeof open>>) => Promise<void>;

async function writeFileAtomically(tmp: string, final: string, fill: Filler): Promise<void> {
  const fh = await open(tmp, 'wx');
  try {
    await fill(fh);
    await fh.sync();
    await fh.close();
    await rename(tmp, final);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
