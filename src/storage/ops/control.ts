/** What a long storage operation accepts from its caller: cancellation and progress reporting. */
import { UserError } from '../../common/errors.js';
import type { DiskImage } from '../disk-image.js';

export interface OpControl {
  /** Aborting (Ctrl-C) stops the operation at the next chunk; outputs are cleaned up. */
  signal?: AbortSignal;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new UserError(`${what}: interrupted; nothing was changed`, 130);
}

/** True when any of `layers` holds data of its own somewhere in [sector, sector+count). */
export async function anyAllocated(layers: readonly DiskImage[], sector: number, count: number): Promise<boolean> {
  for (const layer of layers) {
    let s = sector;
    while (s < sector + count) {
      const run = await layer.allocation(s, sector + count - s);
      if (run.allocated) return true;
      s += Math.max(1, run.sectors);
    }
  }
  return false;
}

const ZERO = Buffer.alloc(4 * 1024 * 1024);

export function isAllZero(buf: Uint8Array): boolean {
  for (let off = 0; off < buf.length; off += ZERO.length) {
    const n = Math.min(ZERO.length, buf.length - off);
    if (Buffer.compare(Buffer.from(buf.buffer, buf.byteOffset + off, n), ZERO.subarray(0, n)) !== 0) return false;
  }
  return true;
}
