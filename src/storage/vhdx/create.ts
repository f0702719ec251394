/**
 * Creating a VHDX: identifier, two headers, two region tables, a 1 MiB log, the metadata region and
 * the BAT; fixed images also get every payload block allocated (and zero) up front.
 */
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { UserError } from '../../common/errors.js';
import type { CreateOptions } from '../disk-image.js';
import { createAtomically } from '../io/file-io.js';
import { batGeometry, BatTable, PAYLOAD_FULLY_PRESENT, payloadIndex } from './bat.js';
import { randomGuid } from './guid.js';
import {
  fileIdentifier, HEADER_OFFSETS, MAX_VIRTUAL_SIZE, MiB, REGION_TABLE_OFFSETS, serializeHeader, serializeRegionTable,
} from './layout.js';
import { writeFully } from './log.js';
import { serializeMetadata, type VhdxMetadata } from './metadata.js';
import { VhdxImage } from './vhdx-image.js';

const DEFAULT_BLOCK_SIZE = 32 * MiB;
const LOG_OFFSET = 1 * MiB;
const LOG_LENGTH = 1 * MiB;
const METADATA_OFFSET = 2 * MiB;
const METADATA_LENGTH = 1 * MiB;
const BAT_OFFSET = 3 * MiB;

export async function createVhdx(file: string, opts: CreateOptions): Promise<void> {
  const lss = opts.logicalSectorSize ?? 512;
  if (lss !== 512 && lss !== 4096) throw new UserError(`logical sector size ${String(lss)} is not 512 or 4096`);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) {
    throw new UserError(`block size ${blockSize} is not a power of two between 1 MiB and 256 MiB`);
  }
  let size = opts.size;
  let parentLocator: Map<string, string> | undefined;
  let parentSectorSize: number | undefined;
  if (opts.type === 'differencing') {
    if (opts.parent === undefined) throw new UserError('a differencing VHDX needs a parent file');
    const parentPath = resolve(opts.parent);
    const parent = await VhdxImage.open(parentPath, { readOnly: true });
    try {
      const info = await parent.info();
      if (size === 0) size = info.virtualSize;
      if (size !== info.virtualSize) throw new UserError(`a differencing VHDX must have its parent's size (${info.virtualSize} bytes), not ${size}`);
      parentSectorSize = info.logicalSectorSize;
      const rel = relative(dirname(resolve(file)), parentPath);
      parentLocator = new Map([
        ['parent_linkage', `{${info.identifiers['dataWriteGuid']!}}`],
        ['relative_path', (rel.startsWith('..') ? rel : `.${sep}${rel}`).split(sep).join('\\')],
        ['absolute_win32_path', parentPath],
      ]);
      if (basename(parentPath) === '') throw new UserError(`parent ${opts.parent} is not a file`);
    } finally {
      await parent.close();
    }
  }
  const sectorSize = parentSectorSize ?? lss;
  if (!Number.isSafeInteger(size) || size <= 0 || size % sectorSize !== 0 || size > MAX_VIRTUAL_SIZE) {
    throw new UserError(`size ${size} is not a multiple of the ${sectorSize}-byte sector between 1 sector and 64 TiB`);
  }
  const meta: VhdxMetadata = {
    blockSize, leaveBlocksAllocated: opts.type === 'fixed', hasParent: opts.type === 'differencing', virtualSize: size,
    diskId: randomGuid(), logicalSectorSize: sectorSize, physicalSectorSize: 4096, parentLocator,
  };
  const g = batGeometry(size, blockSize, sectorSize, meta.hasParent);
  const batLength = Math.ceil((g.totalEntries * 8) / MiB) * MiB;
  const payloadStart = BAT_OFFSET + batLength;
  const bat = BatTable.empty(g.totalEntries);
  if (opts.type === 'fixed') {
    for (let b = 0; b < g.dataBlocks; b++) {
      const i = payloadIndex(b, g.chunkRatio);
      bat.state[i] = PAYLOAD_FULLY_PRESENT;
      bat.offsetMiB[i] = (payloadStart + b * blockSize) / MiB;
    }
  }
  const fileEnd = opts.type === 'fixed' ? payloadStart + g.dataBlocks * blockSize : payloadStart;
  await createAtomically(file, async (fh) => {
    await fh.truncate(fileEnd);
    await writeFully(fh, fileIdentifier('Viridian'), 0);
    const fileWriteGuid = randomGuid(), dataWriteGuid = randomGuid();
    for (let k = 0; k < 2; k++) {
      const h = { sequenceNumber: k, fileWriteGuid, dataWriteGuid, logGuid: new Uint8Array(16), logLength: LOG_LENGTH, logOffset: LOG_OFFSET };
      await writeFully(fh, serializeHeader(h), HEADER_OFFSETS[k]!);
    }
    const rt = serializeRegionTable({ bat: { offset: BAT_OFFSET, length: batLength }, metadata: { offset: METADATA_OFFSET, length: METADATA_LENGTH } });
    for (const off of REGION_TABLE_OFFSETS) await writeFully(fh, rt, off);
    await writeFully(fh, serializeMetadata(meta, METADATA_LENGTH), METADATA_OFFSET);
    const batBytes = new Uint8Array(batLength);
    bat.serialize(0, batBytes);
    await writeFully(fh, batBytes, BAT_OFFSET);
  });
}
