/**
 * Executing one virtio-blk request (virtio 1.2 5.2.6) against a BlockDevice. Requests are in
 * 512-byte sectors whatever the disk's logical sector size; a range that is not whole logical
 * sectors, or lies past the end, completes with VIRTIO_BLK_S_IOERR. So does any error of the
 * backend: a bad request never crashes the host.
 *
 * Data moves through a per-request bounce buffer in chunks of at most CHUNK bytes, so a guest
 * cannot make the host allocate more than that per request, and a read lands in guest memory
 * only while the request is still current (never after a reset or a device failure).
 */
import type { GuestMemory } from '../../../hv/memory/guest-memory.js';
import type { BlockDevice } from '../../../storage/block-device.js';
import { DescriptorChain } from '../descriptor-chain.js';
import {
  BLK_HEADER, BLK_ID_BYTES, BLK_S_IOERR, BLK_S_OK, BLK_S_UNSUPP, BLK_SEGMENT, BLK_T_DISCARD, BLK_T_FLUSH, BLK_T_GET_ID,
  BLK_T_IN, BLK_T_OUT, BLK_T_WRITE_ZEROES, DWZ_F_UNMAP, MAX_DWZ_SECTORS, MAX_DWZ_SEGMENTS,
} from './blk-config.js';

/** Largest transfer per backend call; a multiple of every logical sector size. */
export const CHUNK = 128 * 1024;
const ZEROS = new Uint8Array(CHUNK);

export class BlkRequest {
  readonly chain = new DescriptorChain(16);
  queue = 0;
  epoch = 0;
  type = 0;
  sector = 0;
  status = BLK_S_OK;
  /** Bytes placed in the writable buffers before the status byte. */
  written = 0;
  readonly scratch = new Uint8Array(16);
  readonly scratchView = new DataView(this.scratch.buffer);
  private bounce = new Uint8Array(0);

  /** A bounce buffer of exactly n <= CHUNK bytes, reused across requests. */
  buffer(n: number): Uint8Array {
    if (this.bounce.length < n) {
      let size = 4096;
      while (size < n) size *= 2;
      this.bounce = new Uint8Array(Math.min(size, CHUNK));
    }
    return n === this.bounce.length ? this.bounce : this.bounce.subarray(0, n);
  }

  /** Reads the 16-byte header from the readable buffers (the caller checked they hold one). */
  parseHeader(memory: GuestMemory): void {
    this.chain.readFrom(memory, 0, this.scratch);
    const v = this.scratchView;
    this.type = v.getUint32(0, true);
    this.sector = v.getUint32(8, true) + v.getUint32(12, true) * 4294967296;
    this.status = BLK_S_OK;
    this.written = 0;
  }

  /**
   * Data in buffers of the wrong direction (a write whose data the device could only write to,
   * a read whose data it could only read): the driver broke the request format (spec 5.2.6).
   */
  misplacedData(): string | undefined {
    const t = this.type, c = this.chain;
    if ((t === BLK_T_IN || t === BLK_T_GET_ID) && c.readableBytes !== BLK_HEADER) {
      return `type ${t} has ${c.readableBytes - BLK_HEADER} device-readable data bytes, but its data must be device-writable`;
    }
    if ((t === BLK_T_OUT || t === BLK_T_DISCARD || t === BLK_T_WRITE_ZEROES) && c.writableBytes !== 1) {
      return `type ${t} has ${c.writableBytes - 1} device-writable data bytes, but its data must be device-readable`;
    }
    return undefined;
  }

  /** Whether this request changes the disk (a later flush must wait for it). */
  get isWrite(): boolean { return this.type === BLK_T_OUT || this.type === BLK_T_DISCARD || this.type === BLK_T_WRITE_ZEROES; }
}

export interface BlkContext {
  readonly disk: BlockDevice;
  readonly memory: GuestMemory;
  readonly readOnly: boolean;
  /** GET_ID answer: 20 bytes, NUL padded. */
  readonly serial: Uint8Array;
  /** FLUSH not negotiated: every write is made durable before it completes (writethrough). */
  readonly writeThrough: boolean;
  readonly discard: boolean;
  readonly writeZeroes: boolean;
  /** False once the request's epoch is over: it must not touch guest memory any more. */
  current(req: BlkRequest): boolean;
}

/** First logical sector of a range given in 512-byte sectors, or -1 when it is unaligned or past the end. */
function logicalStart(disk: BlockDevice, sector: number, bytes: number): number {
  const s = disk.sectorSize, off = sector * 512;
  if (bytes % s !== 0 || off % s !== 0 || off + bytes > disk.sizeBytes) return -1;
  return off / s;
}

export async function executeBlk(ctx: BlkContext, req: BlkRequest, priorWrites: readonly Promise<void>[]): Promise<void> {
  switch (req.type) {
    case BLK_T_IN: return readData(ctx, req);
    case BLK_T_OUT: return writeData(ctx, req);
    case BLK_T_FLUSH:
      // Everything submitted before the flush is covered by it, not only what already completed.
      await Promise.allSettled(priorWrites);
      if (ctx.current(req)) await ctx.disk.flush();
      return;
    case BLK_T_GET_ID: {
      const n = Math.min(BLK_ID_BYTES, req.chain.writableBytes - 1);
      req.chain.writeTo(ctx.memory, 0, ctx.serial.subarray(0, n));
      req.written = n;
      return;
    }
    case BLK_T_DISCARD: return discardOrZero(ctx, req, false);
    case BLK_T_WRITE_ZEROES: return discardOrZero(ctx, req, true);
    default: req.status = BLK_S_UNSUPP;
  }
}

async function readData(ctx: BlkContext, req: BlkRequest): Promise<void> {
  const total = req.chain.writableBytes - 1, disk = ctx.disk;
  const first = logicalStart(disk, req.sector, total);
  if (first < 0) { req.status = BLK_S_IOERR; return; }
  for (let done = 0; done < total;) {
    const n = Math.min(CHUNK, total - done);
    const buf = req.buffer(n);
    await disk.read(first + done / disk.sectorSize, buf);
    if (!ctx.current(req)) return;
    req.chain.writeTo(ctx.memory, done, buf);
    done += n;
  }
  req.written = total;
}

async function writeData(ctx: BlkContext, req: BlkRequest): Promise<void> {
  if (ctx.readOnly) { req.status = BLK_S_IOERR; return; }
  const total = req.chain.readableBytes - BLK_HEADER, disk = ctx.disk;
  const first = logicalStart(disk, req.sector, total);
  if (first < 0) { req.status = BLK_S_IOERR; return; }
  for (let done = 0; done < total;) {
    if (!ctx.current(req)) return;
    const n = Math.min(CHUNK, total - done);
    const buf = req.buffer(n);
    req.chain.readFrom(ctx.memory, BLK_HEADER + done, buf);
    await disk.write(first + done / disk.sectorSize, buf);
    done += n;
  }
  if (ctx.writeThrough && ctx.current(req)) await disk.flush();
}

interface Segment { sector: number; count: number; flags: number }

function segment(ctx: BlkContext, req: BlkRequest, i: number, out: Segment): void {
  req.chain.readFrom(ctx.memory, BLK_HEADER + i * BLK_SEGMENT, req.scratch);
  const v = req.scratchView;
  out.sector = v.getUint32(0, true) + v.getUint32(4, true) * 4294967296;
  out.count = v.getUint32(8, true);
  out.flags = v.getUint32(12, true);
}

async function discardOrZero(ctx: BlkContext, req: BlkRequest, zero: boolean): Promise<void> {
  if (!(zero ? ctx.writeZeroes : ctx.discard)) { req.status = BLK_S_UNSUPP; return; }
  if (ctx.readOnly) { req.status = BLK_S_IOERR; return; }
  const bytes = req.chain.readableBytes - BLK_HEADER;
  if (bytes === 0 || bytes % BLK_SEGMENT !== 0 || bytes / BLK_SEGMENT > MAX_DWZ_SEGMENTS) { req.status = BLK_S_IOERR; return; }
  const n = bytes / BLK_SEGMENT, disk = ctx.disk, s = disk.sectorSize;
  const seg: Segment = { sector: 0, count: 0, flags: 0 };
  // Check every segment before changing anything, so an unsupported flag leaves the disk alone.
  for (let i = 0; i < n; i++) {
    segment(ctx, req, i, seg);
    if ((seg.flags & ~DWZ_F_UNMAP) !== 0 || (!zero && seg.flags !== 0)) { req.status = BLK_S_UNSUPP; return; }
    if (seg.count > MAX_DWZ_SECTORS || (seg.sector + seg.count) * 512 > disk.sizeBytes) { req.status = BLK_S_IOERR; return; }
    if (zero && logicalStart(disk, seg.sector, seg.count * 512) < 0) { req.status = BLK_S_IOERR; return; }
  }
  for (let i = 0; i < n; i++) {
    if (!ctx.current(req)) return;
    segment(ctx, req, i, seg);
    const start = seg.sector * 512, end = start + seg.count * 512;
    if (!zero) {
      // Discard is a hint: only whole logical sectors inside the range are released.
      const first = Math.ceil(start / s), last = Math.floor(end / s);
      if (last > first) await disk.discard(first, last - first);
      continue;
    }
    if ((seg.flags & DWZ_F_UNMAP) !== 0 && seg.count > 0) { await disk.discard(start / s, (end - start) / s); continue; }
    for (let at = start; at < end;) {
      const len = Math.min(CHUNK, end - at);
      await disk.write(at / s, ZEROS.subarray(0, len));
      at += len;
    }
  }
  if (ctx.writeThrough && ctx.current(req)) await disk.flush();
}
