/**
 * Finding and opening the parent of a differencing VHDX, and checking that it is the parent the
 * child was made from (parent_linkage against the parent's data write GUID).
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FormatError } from '../../common/errors.js';
import type { DiskImage, OpenOptions } from '../disk-image.js';
import type { VhdxMetadata } from './metadata.js';
import { parentCandidates } from './parent-locator.js';

const normGuid = (g: string): string => g.replace(/[{}]/g, '').toLowerCase();

/** Longest chain the driver follows on its own (without the registry's openParent). */
const MAX_CHAIN = 32;

export async function openParent(file: string, meta: VhdxMetadata, opts: OpenOptions, chain: string[]): Promise<DiskImage> {
  const locator = meta.parentLocator!;
  const candidates = parentCandidates(locator, file);
  let found: string | undefined;
  for (const c of candidates) {
    if (await access(c).then(() => true, () => false)) { found = c; break; }
  }
  if (found === undefined) {
    throw new FormatError(file, `parent locator: parent not found (tried ${candidates.length === 0 ? 'no usable path' : candidates.join(', ')})`);
  }
  let parent: DiskImage;
  if (opts.openParent !== undefined) parent = await opts.openParent(found, file);
  else {
    // Without the registry only VHDX parents can be opened; the import is lazy to avoid a module cycle.
    const seen = [...chain, resolve(file)];
    if (seen.includes(resolve(found))) throw new FormatError(file, `parent locator: parent ${found} is already in this chain (a loop)`);
    if (seen.length >= MAX_CHAIN) throw new FormatError(file, `parent locator: the chain is deeper than ${MAX_CHAIN} images`);
    const { VhdxImage } = await import('./vhdx-image.js');
    parent = await VhdxImage.open(found, { readOnly: true }, undefined, seen);
  }
  try {
    const info = await parent.info();
    const linkage = normGuid(locator.get('parent_linkage')!);
    const dataWrite = info.identifiers['dataWriteGuid'];
    if (dataWrite === undefined || normGuid(dataWrite) !== linkage) {
      const alt = locator.get('parent_linkage2');
      if (dataWrite === undefined || alt === undefined || normGuid(alt) !== normGuid(dataWrite)) {
        throw new FormatError(file, `parent locator: parent_linkage ${locator.get('parent_linkage')} does not match the data write GUID ${dataWrite ?? '(none)'} of ${found}; the parent changed after this child was made`);
      }
    }
    if (info.virtualSize !== meta.virtualSize) {
      throw new FormatError(file, `parent ${found} is ${info.virtualSize} bytes but this differencing image is ${meta.virtualSize} bytes`);
    }
    if (info.logicalSectorSize !== meta.logicalSectorSize) {
      throw new FormatError(file, `parent ${found} has ${info.logicalSectorSize}-byte sectors, this image ${meta.logicalSectorSize}-byte`);
    }
    return parent;
  } catch (e) {
    await parent.close().catch(() => undefined);
    throw e;
  }
}
