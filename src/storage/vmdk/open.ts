/**
 * Opens a VMDK from either a text descriptor file or a sparse extent with an embedded descriptor,
 * then its extent files and parent. Everything opened is closed again if any step fails.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { FormatError } from '../../common/errors.js';
import type { DiskImage, OpenOptions } from '../disk-image.js';
import { MAX_DESCRIPTOR_BYTES, parseDescriptor, sameCid, type Descriptor, type ExtentLine } from './descriptor.js';
import { FlatExtent, ZeroExtent, type Extent } from './extent.js';
import { ImageFile } from './image-file.js';
import { withinChain } from './parent-chain.js';
import { SECTOR, FLAG_COMPRESSED, hasSparseMagic } from './sparse-header.js';
import { SparseExtent, readSparseHeader } from './sparse-extent.js';
import { VmdkImage } from './vmdk-image.js';

export function openVmdk(path: string, opts: OpenOptions): Promise<VmdkImage> {
  return withinChain(path, () => openInChain(path, opts));
}

async function openInChain(path: string, opts: OpenOptions): Promise<VmdkImage> {
  const files = new Map<string, ImageFile>();
  const extents: Extent[] = [];
  let parent: DiskImage | undefined;
  try {
    const main = await ImageFile.open(path, opts.readOnly);
    files.set(resolve(path), main);
    const { descriptor, textDescriptor, cidOffset } = await loadDescriptor(main);
    let grainSize: number | undefined;
    const dir = dirname(resolve(path));
    // A descriptor embedded in a sparse extent describes that very file, whatever name it gives
    // (the file may have been renamed or copied since).
    const selfContained = !textDescriptor && descriptor.extents.length === 1 && descriptor.extents[0]!.type === 'SPARSE';
    for (const line of descriptor.extents) {
      const e = selfContained
        ? await SparseExtent.open(main, line.sectors, !opts.readOnly && line.access === 'RW')
        : await openExtent(line, dir, path, textDescriptor, files, opts.readOnly);
      if (e instanceof SparseExtent) grainSize ??= e.header.grainSize;
      extents.push(e);
    }
    if (descriptor.parentCID !== undefined) {
      parent = await openParentOf(path, dir, descriptor, opts);
    }
    return new VmdkImage({
      file: path, descriptor, extents, files: [...files.values()], parent, readOnly: opts.readOnly, grainSize,
      cid: cidOffset === undefined ? undefined : { file: main, ...cidOffset },
    });
  } catch (e) {
    for (const f of files.values()) await f.close().catch(() => undefined);
    if (parent) await parent.close().catch(() => undefined);
    throw e;
  }
}

export interface LoadedDescriptor {
  descriptor: Descriptor;
  textDescriptor: boolean;
  /** Where the hex digits of `CID=` sit in the main file, when the line has that form. */
  cidOffset?: { offset: number; digits: number };
}

/**
 * Where the CID value sits, so the first write can give the disk a new CID in place. QEMU
 * writes it with %x, not %08x: one CID in sixteen has fewer than 8 digits.
 */
function cidOffsetIn(text: string, base: number): { offset: number; digits: number } | undefined {
  const m = /^CID=([0-9a-fA-F]{1,8})[ \t]*\r?$/m.exec(text);
  return m ? { offset: base + m.index + 4, digits: m[1]!.length } : undefined;
}


export async function loadDescriptor(main: ImageFile): Promise<LoadedDescriptor> {
  const head = new Uint8Array(Math.min(4, main.size));
  await main.readExact(0, head, 'file head');
  if (hasSparseMagic(head)) {
    const h = await readSparseHeader(main);
    if (h.descriptorOffset === 0 || h.descriptorSize === 0) {
      // A bare extent (e.g. one piece of a twoGbMaxExtentSparse disk): present it as a one-extent disk.
      const name = main.path.slice(dirname(main.path).length + 1);
      const createType = h.flags & FLAG_COMPRESSED ? 'streamOptimized' : 'monolithicSparse';
      return {
        descriptor: {
          fields: new Map(), createType, cid: 'ffffffff', parentCID: undefined, parentFileNameHint: undefined,
          extents: [{ access: 'RW', sectors: h.capacity, type: 'SPARSE', fileName: name, offset: 0 }],
        },
        textDescriptor: false,
      };
    }
    if (h.descriptorSize * SECTOR > MAX_DESCRIPTOR_BYTES) {
      throw new FormatError(main.path, `embedded descriptor of ${h.descriptorSize} sectors is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
    }
    const raw = new Uint8Array(h.descriptorSize * SECTOR);
    await main.readExact(h.descriptorOffset * SECTOR, raw, 'embedded descriptor');
    const text = Buffer.from(raw).toString('latin1');
    return { descriptor: parseDescriptor(text, main.path), textDescriptor: false, cidOffset: cidOffsetIn(text, h.descriptorOffset * SECTOR) };
  }
  if (main.size > MAX_DESCRIPTOR_BYTES) {
    throw new FormatError(main.path, `not a VMDK: no sparse extent magic, and too large (${main.size} bytes) for a text descriptor`);
  }
  const raw = new Uint8Array(main.size);
  await main.readExact(0, raw, 'descriptor');
  const text = Buffer.from(raw).toString('latin1');
  return { descriptor: parseDescriptor(text, main.path), textDescriptor: true, cidOffset: cidOffsetIn(text, 0) };
}

async function openExtent(
  line: ExtentLine, dir: string, descriptorPath: string, textDescriptor: boolean,
  files: Map<string, ImageFile>, readOnly: boolean,
): Promise<Extent> {
  if (line.type === 'ZERO') return new ZeroExtent(line.sectors);
  if (line.access === 'NOACCESS') throw new FormatError(descriptorPath, `extent "${line.fileName}" is NOACCESS and cannot be read`);
  const target = resolve(dir, line.fileName);
  const rel = relative(dir, target);
  if (isAbsolute(line.fileName) || rel.startsWith('..') || isAbsolute(rel)) {
    throw new FormatError(descriptorPath, `extent "${line.fileName}" points outside the descriptor's folder; refused`);
  }
  if (textDescriptor && target === resolve(descriptorPath)) {
    throw new FormatError(descriptorPath, `extent "${line.fileName}" names the descriptor file itself`);
  }
  const writable = !readOnly && line.access === 'RW';
  let f = files.get(target);
  if (f === undefined) {
    try {
      f = await ImageFile.open(target, readOnly);
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(descriptorPath, `cannot open extent "${line.fileName}": ${(e as Error).message}`);
    }
    files.set(target, f);
  }
  if (line.type === 'SPARSE') return SparseExtent.open(f, line.sectors, writable);
  return new FlatExtent(f, line.offset, line.sectors, writable);
}

async function openParentOf(path: string, dir: string, d: Descriptor, opts: OpenOptions): Promise<DiskImage> {
  const hint = d.parentFileNameHint!;
  const parentPath = isAbsolute(hint) ? hint : resolve(dir, hint);
  if (!opts.openParent) {
    throw new FormatError(path, `is a differencing disk (parent "${hint}") but no way to open parents was given`);
  }
  const parent = await opts.openParent(parentPath, path);
  const parentCid = parent.format === 'vmdk' ? (await parent.info()).identifiers.CID : undefined;
  if (parentCid !== undefined && !sameCid(parentCid, d.parentCID!)) {
    await parent.close();
    throw new FormatError(path, `parent "${hint}" has CID ${parentCid} but this disk expects parentCID ${d.parentCID}: the parent was modified after this disk was created`);
  }
  return parent;
}
