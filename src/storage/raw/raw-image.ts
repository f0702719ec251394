/**
 * A raw image: the file is the disk, byte for byte. Every sector is "allocated" in this layer; the
 * generic operations find zero blocks by reading them.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import type { AllocationRun, DiskImage, DiskInfo, OpenOptions } from '../disk-image.js';
import { checkRange } from '../io/range.js';
import { readUpTo, writeAll } from '../io/file-io.js';

const SECTOR = 512;

export class RawImage implements DiskImage {
  readonly format = 'raw' as const;
  readonly parent: DiskImage | undefined = undefined;
  readonly sectorSize = SECTOR;
  readonly physicalSectorSize = SECTOR;
  private closed = false;

  private constructor(readonly file: string, private readonly fh: FileHandle, readonly sizeBytes: number, readonly readOnly: boolean) {}

  static async open(file: string, opts: OpenOptions): Promise<RawImage> {
    const fh = await open(file, opts.readOnly ? 'r' : 'r+');
    try {
      const st = await fh.stat();
      if (st.size % SECTOR !== 0) {
        throw new UserError(`${file}: raw image size ${st.size} is not a multiple of ${SECTOR} bytes`);
      }
      return new RawImage(file, fh, st.size, opts.readOnly);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    checkRange(this, sector, buf.length);
    await readUpTo(this.fh, buf, sector * SECTOR);
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    this.writable();
    checkRange(this, sector, buf.length);
    await writeAll(this.fh, buf, sector * SECTOR);
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.fh.datasync();
  }

  async discard(sector: number, count: number): Promise<void> {
    this.writable();
    checkRange(this, sector, count * SECTOR);
    // Node has no hole punching; writing zeros keeps the contract that discarded ranges read as zero.
    const zeros = new Uint8Array(Math.min(count, 2048) * SECTOR);
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, 2048);
      await writeAll(this.fh, zeros.subarray(0, n * SECTOR), (sector + done) * SECTOR);
      done += n;
    }
  }

  async allocation(sector: number, count: number): Promise<AllocationRun> {
    checkRange(this, sector, count * SECTOR);
    return { allocated: true, zero: false, sectors: count };
  }

  async info(): Promise<DiskInfo> {
    const st = await stat(this.file);
    return {
      file: this.file, format: 'raw', type: 'fixed', virtualSize: this.sizeBytes,
      allocatedSize: Math.min(st.size, st.blocks * 512), logicalSectorSize: SECTOR, physicalSectorSize: SECTOR,
      identifiers: {},
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private writable(): void {
    if (this.readOnly) throw new UserError(`${this.file}: image is open read-only; write refused`);
  }
}
