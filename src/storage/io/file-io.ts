/**
 * Small helpers over node:fs/promises that every driver needs: exact positional reads (a short read
 * is a truncated file, not silent zeros), full writes, and create-by-rename so a failed create or
 * convert never leaves a half-written file under the final name.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';

/** Reads exactly buf.length bytes at `pos`; a short read means the file is truncated. */
export async function readExact(fh: FileHandle, file: string, buf: Uint8Array, pos: number, what: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) {
      throw new FormatError(file, `${what} at offset ${pos} (${buf.length} bytes) is past the end of the file (file truncated?)`);
    }
    done += bytesRead;
  }
}

/** Reads up to buf.length bytes; the unread tail is zero-filled. Returns the bytes actually read. */
export async function readUpTo(fh: FileHandle, buf: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < buf.length) buf.fill(0, done);
  return done;
}

export async function writeAll(fh: FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, pos + done);
    done += bytesWritten;
  }
}

/** The temporary name a new file is built under before it is renamed into place. */
export function partialName(file: string): string {
  return `${file}.partial-${process.pid}`;
}

/**
 * Builds `file` by running `build` on a fresh temporary file, syncing it and renaming it into place.
 * On any failure the temporary file is removed and `file` is untouched. Refuses to replace an
 * existing file: creating over an image by accident destroys it.
 */
export async function createAtomically(file: string, build: (fh: FileHandle, tmp: string) => Promise<void>): Promise<void> {
  const tmp = partialName(file);
  let fh: FileHandle | undefined;
  try {
    try {
      const probe = await open(file, 'r');
      await probe.close();
      throw new FormatError(file, 'already exists; refusing to overwrite it');
    } catch (e) {
      if (!(e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
    }
    fh = await open(tmp, 'wx');
    await build(fh, tmp);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (e) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
