/**
 * A BlockDevice that counts what passes through it (bytes read and written, requests), for the
 * host's per-VM metrics. Everything else is the wrapped device's.
 */
import type { BlockDevice } from './block-device.js';

export class CountingBlockDevice implements BlockDevice {
  bytesRead = 0;
  bytesWritten = 0;
  requests = 0;

  constructor(private readonly inner: BlockDevice) {}

  get sizeBytes(): number { return this.inner.sizeBytes; }
  get sectorSize(): number { return this.inner.sectorSize; }
  get physicalSectorSize(): number { return this.inner.physicalSectorSize; }
  get readOnly(): boolean { return this.inner.readOnly; }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    this.requests++;
    await this.inner.read(sector, buf);
    this.bytesRead += buf.length;
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    this.requests++;
    await this.inner.write(sector, buf);
    this.bytesWritten += buf.length;
  }

  flush(): Promise<void> { return this.inner.flush(); }
  discard(sector: number, count: number): Promise<void> { return this.inner.discard(sector, count); }
  close(): Promise<void> { return this.inner.close(); }
}
