/**
 * Format detection, opening and creating through the registered drivers. Parent chains are opened
 * here, not in drivers: every parent goes through the same detection, is opened read-only, and the
 * chain is checked for loops (by real path) and for depth.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { FormatError, UserError } from '../common/errors.js';
import type { CreateOptions, DiskFormat, DiskImage, FormatDriver } from './disk-image.js';
import { DRIVERS } from './drivers.js';

export const ALL_FORMATS: readonly DiskFormat[] = ['raw', 'vhd', 'vhdx', 'vmdk', 'qcow2'];
export const MAX_CHAIN_DEPTH = 64;
const PROBE_BYTES = 64 * 1024;
const TAIL_BYTES = 512;

/** A driver whose signature may sit at the end of the file (a fixed VHD). */
interface TailProbe {
  probeTail(tail: Uint8Array, fileSize: number): boolean;
}

function hasTailProbe(d: FormatDriver): d is FormatDriver & TailProbe {
  return typeof (d as Partial<TailProbe>).probeTail === 'function';
}

export function driverFor(format: string): FormatDriver {
  if (!(ALL_FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`unknown disk format '${format}' (known: ${ALL_FORMATS.join(', ')})`);
  }
  const d = DRIVERS.find((x) => x.format === format);
  if (d === undefined) {
    const have = DRIVERS.map((x) => x.format).join(', ');
    throw new UserError(`disk format '${format}' is not available in this build (available: ${have})`);
  }
  return d;
}

/** Detects the format of an existing file from its first 64 KiB (and last sector). */
export async function probe(file: string): Promise<FormatDriver> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new UserError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
    const head = new Uint8Array(Math.min(PROBE_BYTES, st.size));
    await fh.read(head, 0, head.length, 0);
    for (const d of DRIVERS) if (d.format !== 'raw' && d.probe(head, st.size)) return d;
    if (st.size >= TAIL_BYTES) {
      const tail = new Uint8Array(TAIL_BYTES);
      await fh.read(tail, 0, TAIL_BYTES, st.size - TAIL_BYTES);
      for (const d of DRIVERS) if (hasTailProbe(d) && d.probeTail(tail, st.size)) return d;
    }
    const raw = DRIVERS.find((d) => d.format === 'raw');
    if (raw === undefined) throw new FormatError(file, 'format not recognised');
    return raw;
  } finally {
    await fh.close();
  }
}

export interface OpenImageOptions {
  readOnly: boolean;
  /** Force a format instead of probing (e.g. to open a file that probes as something else as raw). */
  format?: DiskFormat;
}

/** Opens an image and, through drivers, its whole parent chain. */
export async function openImage(file: string, opts: OpenImageOptions): Promise<DiskImage> {
  const top = await realpath(file).catch(() => {
    throw new UserError(`${file}: file not found`);
  });
  return openInChain(top, opts.readOnly, opts.format, [top]);
}

async function openInChain(path: string, readOnly: boolean, format: DiskFormat | undefined, chain: string[]): Promise<DiskImage> {
  const driver = format !== undefined ? driverFor(format) : await probe(path);
  return driver.open(path, {
    readOnly,
    openParent: async (parentPath: string, from: string) => {
      const real = await realpath(parentPath).catch(() => {
        throw new FormatError(from, `parent ${parentPath} not found`);
      });
      if (chain.includes(real)) {
        throw new FormatError(from, `parent chain loops back to ${real} (chain: ${[...chain, real].join(' -> ')})`);
      }
      if (chain.length >= MAX_CHAIN_DEPTH) {
        throw new FormatError(from, `parent chain is deeper than ${MAX_CHAIN_DEPTH} images`);
      }
      return openInChain(real, true, undefined, [...chain, real]);
    },
  });
}

export async function createImage(file: string, format: DiskFormat, opts: CreateOptions): Promise<void> {
  const driver = driverFor(format);
  if (opts.parent !== undefined) {
    const st = await stat(opts.parent).catch(() => undefined);
    if (st === undefined) throw new UserError(`--parent ${opts.parent}: file not found`);
  }
  await driver.create(file, opts);
}

/** The chain from `img` down to its base, top first. */
export function chainOf(img: DiskImage): DiskImage[] {
  const out: DiskImage[] = [];
  for (let cur: DiskImage | undefined = img; cur !== undefined; cur = cur.parent) out.push(cur);
  return out;
}
