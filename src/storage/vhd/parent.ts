/**
 * Finds and opens the parent of a differencing VHD from its parent locators. Tries, in order, the
 * Windows relative path (W2ru), the POSIX file URL (MacX), the Windows absolute path (W2ku) and the
 * parent name in the header; the first that exists is opened through the registry and must carry the
 * unique id and size the child recorded.
 */
import type { FileHandle } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FormatError } from '../../common/errors.js';
import type { DiskImage } from '../disk-image.js';
import { readExact } from '../io/file-io.js';
import { decodeLocatorPath } from './dynamic-header.js';
import { formatUuid } from './footer.js';
import type { VhdLayout } from './layout.js';

/** Paths are short; anything longer than this is a hostile locator, not a path. */
const MAX_LOCATOR_BYTES = 32 * 1024;
const ORDER = ['W2ru', 'MacX', 'W2ku'];

export async function parentCandidates(fh: FileHandle, file: string, layout: VhdLayout): Promise<string[]> {
  const header = layout.header!;
  const dir = dirname(file);
  const out: string[] = [];
  const locators = [...header.locators].sort((a, b) => rank(a.platformCode) - rank(b.platformCode));
  for (const loc of locators) {
    if (!ORDER.includes(loc.platformCode) || loc.dataLength === 0) continue;
    if (loc.dataLength > MAX_LOCATOR_BYTES) throw new FormatError(file, `VHD parent locator ${loc.platformCode} claims ${loc.dataLength} bytes of path`);
    if (loc.dataOffset + loc.dataLength > layout.fileSize - 512) {
      throw new FormatError(file, `VHD parent locator ${loc.platformCode} at offset ${loc.dataOffset} runs past the end of the file`);
    }
    const data = new Uint8Array(loc.dataLength);
    await readExact(fh, file, data, loc.dataOffset, `VHD parent locator ${loc.platformCode}`);
    const p = decodeLocatorPath(loc.platformCode, data);
    if (p === undefined) continue;
    const host = toHostPath(p);
    if (host !== undefined) out.push(isAbsolute(host) ? host : resolve(dir, host));
  }
  if (header.parentName.length > 0) {
    const host = toHostPath(header.parentName);
    if (host !== undefined) out.push(isAbsolute(host) ? host : resolve(dir, host));
  }
  return out;
}

function rank(code: string): number {
  const i = ORDER.indexOf(code);
  return i < 0 ? ORDER.length : i;
}

/** Windows paths become host paths: separators flip; a drive-letter path cannot exist here. */
function toHostPath(p: string): string | undefined {
  if (/^[A-Za-z]:/.test(p) || p.startsWith('\\\\')) return undefined;
  return p.replace(/\\/g, '/');
}

export async function resolveParent(
  fh: FileHandle, file: string, layout: VhdLayout,
  openParent: (path: string, from: string) => Promise<DiskImage>,
): Promise<DiskImage> {
  const candidates = await parentCandidates(fh, file, layout);
  let found: string | undefined;
  for (const c of candidates) {
    try {
      await access(c);
      found = c;
      break;
    } catch {
      // try the next locator
    }
  }
  if (found === undefined) {
    const tried = candidates.length > 0 ? candidates.join(', ') : 'no usable parent locator';
    throw new FormatError(file, `parent of differencing VHD not found (tried: ${tried})`);
  }
  const parent = await openParent(found, file);
  try {
    const want = formatUuid(layout.header!.parentUniqueId);
    const info = await parent.info();
    if (parent.format !== 'vhd' || info.identifiers['uniqueId'] !== want) {
      throw new FormatError(file, `parent ${found} has unique id ${info.identifiers['uniqueId'] ?? '(none)'}, but the child expects ${want}`);
    }
    if (parent.sizeBytes !== layout.footer.currentSize) {
      throw new FormatError(file, `parent ${found} is ${parent.sizeBytes} bytes but the child is ${layout.footer.currentSize}`);
    }
    return parent;
  } catch (e) {
    await parent.close();
    throw e;
  }
}
