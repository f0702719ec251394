/**
 * Converts any readable image (its whole chain, flattened) into a new image of any registered
 * format. Sparse-aware: ranges no layer has allocated are skipped without reading, and chunks that
 * read as all zeros are not written, so they stay unallocated in the destination. The destination is
 * built as DST.partial-<pid> and renamed into place only when complete and flushed.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import type { DiskFormat, DiskType } from '../disk-image.js';
import { partialName } from '../io/file-io.js';
import { chainOf, createImage, driverFor, openImage } from '../registry.js';
import { anyAllocated, isAllZero, throwIfAborted, type OpControl } from './control.js';

export interface ConvertOptions extends OpControl {
  format?: DiskFormat;
  type?: DiskType;
  blockSize?: number;
  subformat?: string;
}

export interface ConvertResult {
  format: DiskFormat;
  type: DiskType;
  virtualSize: number;
  /** Bytes actually written to the destination (non-zero data). */
  dataBytes: number;
}

const CHUNK = 2 * 1024 * 1024;

export async function convertImage(srcFile: string, dstFile: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  if (await stat(dstFile).then(() => true, () => false)) throw new UserError(`${dstFile}: already exists; refusing to overwrite it`);
  const src = await openImage(srcFile, { readOnly: true });
  const tmp = partialName(dstFile);
  let created = false;
  try {
    const info = await src.info();
    const format = opts.format ?? info.format;
    const driver = driverFor(format);
    const type: DiskType = opts.type ?? (format === 'raw' ? 'fixed' : 'dynamic');
    if (type === 'differencing') throw new UserError('convert writes a standalone image; create a differencing disk with `disk create --type differencing`');
    const createOpts: Parameters<typeof createImage>[2] = { size: src.sizeBytes, type };
    if (opts.blockSize !== undefined) createOpts.blockSize = opts.blockSize;
    if (opts.subformat !== undefined) createOpts.subformat = opts.subformat;
    created = true;
    await driver.create(tmp, createOpts);
    const dst = await openImage(tmp, { readOnly: false, format });
    let dataBytes = 0;
    try {
      if (dst.sizeBytes < src.sizeBytes) throw new UserError(`${format} cannot hold a ${src.sizeBytes}-byte disk`);
      const layers = chainOf(src);
      const buf = new Uint8Array(CHUNK);
      const sectorsPerChunk = CHUNK / 512;
      const total = src.sizeBytes / 512;
      for (let s = 0; s < total; s += sectorsPerChunk) {
        throwIfAborted(opts.signal, 'convert');
        const n = Math.min(sectorsPerChunk, total - s);
        opts.onProgress?.(s * 512, src.sizeBytes);
        if (!(await anyAllocated(layers, s, n))) continue;
        const part = buf.subarray(0, n * 512);
        await src.read(s, part);
        if (isAllZero(part)) continue;
        await dst.write(s, part);
        dataBytes += part.length;
      }
      await dst.flush();
      opts.onProgress?.(src.sizeBytes, src.sizeBytes);
    } finally {
      await dst.close();
    }
    throwIfAborted(opts.signal, 'convert');
    await rename(tmp, dstFile);
    return { format, type, virtualSize: src.sizeBytes, dataBytes };
  } catch (e) {
    if (created) await rm(tmp, { force: true });
    throw e;
  } finally {
    await src.close();
  }
}
