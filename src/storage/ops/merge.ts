/**
 * Merges a differencing image into its parent (or an ancestor further down with --into): every
 * range any merged layer holds is written, as the child sees it, into the target; then the target is
 * flushed and the merged layers are deleted. Until the flush, the child still holds all its data and
 * masks the target, so an interrupted merge loses nothing and can simply be run again.
 */
import { realpath, rm } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import { chainOf, openImage } from '../registry.js';
import { anyAllocated, throwIfAborted, type OpControl } from './control.js';

export interface MergeResult {
  target: string;
  removed: string[];
  mergedBytes: number;
}

const CHUNK = 2 * 1024 * 1024;

export async function mergeImage(childFile: string, into: string | undefined, opts: OpControl = {}): Promise<MergeResult> {
  const child = await openImage(childFile, { readOnly: true });
  let layers;
  let targetFile: string;
  try {
    const chain = chainOf(child);
    if (chain.length < 2) throw new UserError(`${childFile}: not a differencing image; nothing to merge into`);
    let k = 1;
    if (into !== undefined) {
      const want = await realpath(into).catch(() => {
        throw new UserError(`--into ${into}: file not found`);
      });
      k = chain.findIndex((img, i) => i > 0 && img.file === want);
      if (k < 0) throw new UserError(`--into ${into} is not an ancestor of ${childFile} (chain: ${chain.map((c) => c.file).join(' -> ')})`);
    }
    layers = chain.slice(0, k);
    targetFile = chain[k]!.file;
    const target = await openImage(targetFile, { readOnly: false });
    let mergedBytes = 0;
    try {
      const total = child.sizeBytes / 512;
      const per = CHUNK / 512;
      const buf = new Uint8Array(CHUNK);
      for (let s = 0; s < total; s += per) {
        throwIfAborted(opts.signal, 'merge');
        opts.onProgress?.(s * 512, child.sizeBytes);
        const n = Math.min(per, total - s);
        if (!(await anyAllocated(layers, s, n))) continue;
        const part = buf.subarray(0, n * 512);
        await child.read(s, part);
        await target.write(s, part);
        mergedBytes += part.length;
      }
      await target.flush();
      opts.onProgress?.(child.sizeBytes, child.sizeBytes);
    } finally {
      await target.close();
    }
    const removed = layers.map((l) => l.file);
    await child.close();
    for (const f of removed) await rm(f, { force: true });
    return { target: targetFile, removed, mergedBytes };
  } finally {
    await child.close();
  }
}
