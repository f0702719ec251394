/**
 * The host files a VM worker may touch for its disks. A disk is more than the file the operator
 * named: a differencing image reads its parents (down to the base), and a VMDK may keep its data
 * in extent files beside its descriptor. The service opens each disk read-only before the worker
 * starts, walks the chain and lists every file: the top layer's writable unless the disk is
 * read-only, the parents' read-only. A disk that does not open stops the start with its error.
 */
import type { DiskImage } from '../../storage/disk-image.js';
import { chainOf, driverFor, openImage } from '../../storage/registry.js';

export interface DiskAccess { read: string[]; write: string[] }

export interface DiskSpec { path: string; readOnly: boolean; format: string | null }

export async function diskAccess(disks: readonly DiskSpec[]): Promise<DiskAccess> {
  const read = new Set<string>(), write = new Set<string>();
  for (const d of disks) {
    read.add(d.path);
    if (!d.readOnly) write.add(d.path);
    let img: DiskImage;
    try {
      img = await openImage(d.path, { readOnly: true, ...(d.format !== null ? { format: driverFor(d.format).format } : {}) });
    } catch (e) {
      throw new Error(`disk ${d.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      const chain = chainOf(img);
      for (let k = 0; k < chain.length; k++) {
        const info = await chain[k]!.info();
        for (const f of [info.file, ...(info.files ?? [])]) {
          read.add(f);
          if (k === 0 && !d.readOnly) write.add(f);
        }
      }
    } finally {
      await img.close();
    }
  }
  return { read: [...read], write: [...write] };
}
