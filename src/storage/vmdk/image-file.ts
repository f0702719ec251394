/**
 * Random access to one host file backing an image (an extent, a qcow2 file). Shared by the VMDK
 * and qcow2 drivers: every read of a structure is bounds-checked against the file length, so a
 * hostile pointer yields a FormatError naming the structure instead of silently reading zeros.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';

export class ImageFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly readOnly: boolean,
    private length: number,
  ) {}

  static async open(path: string, readOnly: boolean): Promise<ImageFile> {
    const fh = await open(path, readOnly ? 'r' : 'r+');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new FormatError(path, 'is not a regular file');
      return new ImageFile(path, fh, readOnly, st.size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get size(): number {
    return this.length;
  }

  /** Reads exactly buf.length bytes at pos; a structure that does not fit in the file is a FormatError. */
  async readExact(pos: number, buf: Uint8Array, what: string): Promise<void> {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + buf.length > this.length) {
      throw new FormatError(this.path, `${what} at offset ${pos} (+${buf.length} bytes) lies outside the file (${this.length} bytes)`);
    }
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, pos + done);
      if (bytesRead === 0) throw new FormatError(this.path, `${what}: file ended early at offset ${pos + done}`);
      done += bytesRead;
    }
  }

  /** Reads what exists at pos and zero-fills the rest (for data regions a format allows to be short). */
  async readZeroFilled(pos: number, buf: Uint8Array): Promise<void> {
    const avail = Math.max(0, Math.min(buf.length, this.length - pos));
    let done = 0;
    while (done < avail) {
      const { bytesRead } = await this.fh.read(buf, done, avail - done, pos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < buf.length) buf.fill(0, done);
  }

  async write(pos: number, buf: Uint8Array): Promise<void> {
    if (this.readOnly) throw new Error(`${this.path}: internal error: write to a file opened read-only`);
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, pos + done);
      done += bytesWritten;
    }
    if (pos + buf.length > this.length) this.length = pos + buf.length;
  }

  async sync(): Promise<void> {
    if (!this.readOnly) await this.fh.sync();
  }

  /** Bytes the file occupies on the host (allocated blocks, not the apparent length). */
  async allocatedBytes(): Promise<number> {
    const st = await this.fh.stat();
    return st.blocks * 512;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Little- or big-endian u64 as a number; values beyond 2^53 are a FormatError (no image is that large). */
export function u64(view: DataView, off: number, littleEndian: boolean, file: string, what: string): number {
  const lo = view.getUint32(off + (littleEndian ? 0 : 4), littleEndian);
  const hi = view.getUint32(off + (littleEndian ? 4 : 0), littleEndian);
  if (hi > 0x1fffff) throw new FormatError(file, `${what} (0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}) is beyond any supported size`);
  return hi * 0x1_0000_0000 + lo;
}

export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
