/**
 * One VMDK extent as the image sees it: a run of sectors backed by a flat file region, a sparse
 * extent, or nothing (ZERO). Sector numbers passed to an extent are relative to its start.
 */
import { FormatError } from '../../common/errors.js';
import type { ImageFile } from './image-file.js';
import { SECTOR } from './sparse-header.js';

/** 'data' is allocated in this layer, 'zero' reads as zeros here, 'unallocated' falls through to the parent. */
export type ExtentRunKind = 'data' | 'zero' | 'unallocated';

export interface ExtentRun {
  kind: ExtentRunKind;
  sectors: number;
}

/** Fills dst with what lies under this layer at extent-relative sector `rel` (parent data or zeros). */
export type BelowReader = (rel: number, dst: Uint8Array) => Promise<void>;

export interface Extent {
  readonly sectors: number;
  readonly writable: boolean;
  status(rel: number, max: number): Promise<ExtentRun>;
  read(rel: number, dst: Uint8Array, below: BelowReader): Promise<void>;
  write(rel: number, src: Uint8Array, below: BelowReader): Promise<void>;
}

export class FlatExtent implements Extent {
  constructor(
    private readonly file: ImageFile,
    private readonly startSector: number,
    readonly sectors: number,
    readonly writable: boolean,
  ) {
    if ((startSector + sectors) * SECTOR > file.size) {
      throw new FormatError(file.path, `flat extent needs ${(startSector + sectors) * SECTOR} bytes (from sector ${startSector}) but the file has ${file.size}`);
    }
  }

  async status(_rel: number, max: number): Promise<ExtentRun> {
    return { kind: 'data', sectors: max };
  }

  async read(rel: number, dst: Uint8Array): Promise<void> {
    await this.file.readExact((this.startSector + rel) * SECTOR, dst, 'flat extent data');
  }

  async write(rel: number, src: Uint8Array): Promise<void> {
    await this.file.write((this.startSector + rel) * SECTOR, src);
  }
}

export class ZeroExtent implements Extent {
  readonly writable = false;
  constructor(readonly sectors: number) {}

  async status(_rel: number, max: number): Promise<ExtentRun> {
    return { kind: 'zero', sectors: max };
  }

  async read(_rel: number, dst: Uint8Array): Promise<void> {
    dst.fill(0);
  }

  async write(): Promise<void> {
    throw new Error('internal error: write to a ZERO extent');
  }
}
