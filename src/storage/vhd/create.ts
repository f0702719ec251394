/**
 * Creates VHD files. Dynamic layout: footer copy, dynamic header at 512, BAT at 1536, then (for
 * differencing disks) the parent locator data, then blocks as they are written, then the footer.
 */
import { randomBytes } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { FormatError, UserError } from '../../common/errors.js';
import type { CreateOptions } from '../disk-image.js';
import { createAtomically, writeAll } from '../io/file-io.js';
import { encodeLocatorPath, serializeDynamicHeader, type DynamicHeader, type ParentLocator } from './dynamic-header.js';
import { FOOTER_SIZE, VHD_MAX_SIZE, newFooter, serializeFooter } from './footer.js';
import { MAX_BAT_ENTRIES, readFooterAt } from './layout.js';

export const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;

export function validateVhdSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) throw new UserError(`VHD size ${size} must be a positive multiple of 512 bytes`);
  if (size > VHD_MAX_SIZE) throw new UserError(`VHD size ${size} exceeds the format's limit of 2040 GiB; use vhdx`);
}

export function validateBlockCount(size: number, blockSize: number): void {
  if (Math.ceil(size / blockSize) > MAX_BAT_ENTRIES) {
    throw new UserError(`a ${size}-byte VHD with ${blockSize}-byte blocks needs more than ${MAX_BAT_ENTRIES} blocks; use a larger --block-size`);
  }
}

export async function createVhd(file: string, opts: CreateOptions): Promise<void> {
  if (opts.logicalSectorSize !== undefined && opts.logicalSectorSize !== 512) {
    throw new UserError('VHD supports only 512-byte logical sectors; use vhdx for 4096');
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (opts.type !== 'fixed' && (blockSize < 512 * 8 || blockSize > 256 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0)) {
    throw new UserError(`--block-size ${blockSize} must be a power of two between 4 KiB and 256 MiB`);
  }
  if (opts.type === 'differencing') return createDifferencing(file, opts, blockSize);
  validateVhdSize(opts.size);
  if (opts.type === 'dynamic') validateBlockCount(opts.size, blockSize);
  const footer = newFooter(opts.size, opts.type, randomBytes(16));
  await createAtomically(file, async (fh) => {
    if (opts.type === 'fixed') {
      await fh.truncate(opts.size);
      await writeAll(fh, serializeFooter(footer), opts.size);
      return;
    }
    await writeDynamicLayout(fh, footer, baseHeader(opts.size, blockSize), []);
  });
}

function baseHeader(size: number, blockSize: number): DynamicHeader {
  return {
    tableOffset: 1536, maxTableEntries: Math.ceil(size / blockSize), blockSize,
    parentUniqueId: new Uint8Array(16), parentTimestamp: 0, parentName: '', locators: [],
  };
}

async function writeDynamicLayout(
  fh: import('node:fs/promises').FileHandle, footer: ReturnType<typeof newFooter>, header: DynamicHeader,
  locatorData: { code: string; data: Uint8Array }[],
): Promise<void> {
  const batBytes = Math.ceil((header.maxTableEntries * 4) / 512) * 512;
  let pos = header.tableOffset + batBytes;
  const locators: ParentLocator[] = [];
  for (const l of locatorData) {
    const space = Math.ceil(l.data.length / 512) * 512;
    locators.push({ platformCode: l.code, dataSpace: space / 512, dataLength: l.data.length, dataOffset: pos });
    await writeAll(fh, l.data, pos);
    pos += space;
  }
  header.locators = locators;
  const bat = new Uint8Array(batBytes).fill(0xff);
  const footerBytes = serializeFooter(footer);
  await writeAll(fh, footerBytes, 0);
  await writeAll(fh, serializeDynamicHeader(header), 512);
  await writeAll(fh, bat, header.tableOffset);
  await writeAll(fh, footerBytes, pos);
}

async function createDifferencing(file: string, opts: CreateOptions, blockSize: number): Promise<void> {
  if (opts.parent === undefined) throw new UserError('a differencing VHD needs --parent FILE');
  const parentPath = await realpath(opts.parent).catch(() => {
    throw new UserError(`--parent ${opts.parent}: file not found`);
  });
  const pfh = await open(parentPath, 'r');
  let parentFooter;
  try {
    const size = (await pfh.stat()).size;
    if (size < FOOTER_SIZE) throw new FormatError(parentPath, 'too short to be a VHD parent');
    parentFooter = await readFooterAt(pfh, parentPath, size - FOOTER_SIZE, 'at the end of the file');
  } finally {
    await pfh.close();
  }
  if (opts.size !== 0 && opts.size !== parentFooter.currentSize) {
    throw new UserError(`a differencing VHD has its parent's size (${parentFooter.currentSize} bytes); omit --size`);
  }
  const size = parentFooter.currentSize;
  validateBlockCount(size, blockSize);
  const footer = newFooter(size, 'differencing', randomBytes(16));
  const header = baseHeader(size, blockSize);
  header.parentUniqueId = parentFooter.uniqueId;
  header.parentTimestamp = parentFooter.timestamp;
  header.parentName = parentPath;
  const childDir = await realpath(dirname(file)).catch(() => dirname(file));
  const rel = relative(childDir, parentPath);
  const relWin = (rel.startsWith('..') ? rel : `./${rel}`).replace(/\//g, '\\');
  const absWin = parentPath.replace(/\//g, '\\');
  const locators = [
    { code: 'W2ru', data: encodeLocatorPath('W2ru', relWin) },
    { code: 'W2ku', data: encodeLocatorPath('W2ku', absWin) },
    { code: 'MacX', data: encodeLocatorPath('MacX', parentPath) },
  ];
  await createAtomically(file, (fh) => writeDynamicLayout(fh, footer, header, locators));
}
