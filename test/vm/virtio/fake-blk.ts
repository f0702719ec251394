/**
 * Helpers for virtio-blk tests: requests laid out as Linux's virtio_blk lays them out (header,
 * data segments, status byte, optionally through an indirect table), a rig that builds a guest
 * with a virtio-blk function, and an in-memory BlockDevice whose operations can be held back to
 * test ordering, in-flight saves and resets.
 */
import type { BlockDevice } from '../../../src/storage/block-device.js';
import { createVirtioBlk } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioBlkOptions } from '../../../src/vm/virtio/blk/virtio-blk.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, until } from './fake-guest.js';
import { FakeVirtioDriver, type InitOptions } from './fake-driver.js';
import type { Buf } from './fake-vring.js';

export const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
export const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
export const BAR = 0xfe000000;

export interface BlkRig { guest: Guest; fn: VirtioPciFunction; drv: FakeVirtioDriver; errors: string[] }

export function blkRig(disk: BlockDevice, opts: Partial<VirtioBlkOptions> = {}, init: InitOptions | false = {}, guest = new Guest()): BlkRig {
  const errors: string[] = [];
  const fn = createVirtioBlk({ disk, memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'vblk', onError: (m) => errors.push(m), ...opts });
  const drv = new FakeVirtioDriver(guest, fn, BAR);
  drv.probe();
  if (init !== false) drv.init(init);
  return { guest, fn, drv, errors };
}

export interface BlkReq {
  type: number;
  sector?: number;
  /** OUT data, or discard / write-zeroes segments. */
  out?: Uint8Array;
  /** Bytes the device may write before the status (IN data, GET_ID). */
  inLen?: number;
  /** Split data into descriptors of this many bytes. */
  segment?: number;
  indirect?: boolean;
  queue?: number;
}

export interface Submitted { head: number; queue: number; dataAt: number; inLen: number; statusAt: number }

/** Lays the request out in guest RAM, makes it available and kicks (when the device wants kicks). */
export function submit(r: BlkRig, q: BlkReq): Submitted {
  const g = r.guest, queue = q.queue ?? 0;
  const hdr = g.alloc(16);
  const h = new DataView(new ArrayBuffer(16));
  h.setUint32(0, q.type, true);
  const sector = q.sector ?? 0;
  h.setUint32(8, sector % 2 ** 32, true);
  h.setUint32(12, Math.floor(sector / 2 ** 32), true);
  g.write(hdr, new Uint8Array(h.buffer));
  const bufs: Buf[] = [{ addr: hdr, len: 16, write: false }];
  const seg = q.segment ?? Number.MAX_SAFE_INTEGER;
  let dataAt = 0;
  if (q.out !== undefined && q.out.length > 0) {
    dataAt = g.alloc(q.out.length);
    g.write(dataAt, q.out);
    for (let o = 0; o < q.out.length; o += seg) bufs.push({ addr: dataAt + o, len: Math.min(seg, q.out.length - o), write: false });
  }
  const inLen = q.inLen ?? 0;
  if (inLen > 0) {
    dataAt = g.alloc(inLen);
    for (let o = 0; o < inLen; o += seg) bufs.push({ addr: dataAt + o, len: Math.min(seg, inLen - o), write: true });
  }
  const statusAt = g.alloc(1, 1);
  g.write(statusAt, Uint8Array.of(0xee));
  bufs.push({ addr: statusAt, len: 1, write: true });
  const vr = r.drv.vrings[queue]!;
  const head = vr.add(bufs, q.indirect === true);
  vr.kick();
  return { head, queue, dataAt, inLen, statusAt };
}

export interface Completed { status: number; usedLen: number; data: Uint8Array }

const done = new WeakMap<FakeVirtioDriver, Map<string, number>>();

/** Waits until the request's head shows up in the used ring. */
export async function complete(r: BlkRig, s: Submitted): Promise<Completed> {
  let seen = done.get(r.drv);
  if (seen === undefined) { seen = new Map(); done.set(r.drv, seen); }
  const key = `${s.queue}:${s.head}`;
  const vr = r.drv.vrings[s.queue]!;
  await until(() => {
    for (const u of vr.takeUsed()) seen!.set(`${s.queue}:${u.id}`, u.len);
    return seen!.has(key);
  }, `completion of head ${s.head} on queue ${s.queue}`);
  const usedLen = seen.get(key)!;
  seen.delete(key);
  return { status: r.guest.read(s.statusAt, 1)[0]!, usedLen, data: s.inLen > 0 ? r.guest.read(s.dataAt, s.inLen) : new Uint8Array(0) };
}

export async function blk(r: BlkRig, q: BlkReq): Promise<Completed> { return complete(r, submit(r, q)); }

export function dwz(segments: [sector: number, count: number, flags: number][]): Uint8Array {
  const b = new Uint8Array(16 * segments.length), v = new DataView(b.buffer);
  segments.forEach(([s, c, f], i) => {
    v.setUint32(16 * i, s % 2 ** 32, true);
    v.setUint32(16 * i + 4, Math.floor(s / 2 ** 32), true);
    v.setUint32(16 * i + 8, c, true);
    v.setUint32(16 * i + 12, f, true);
  });
  return b;
}

export function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < len; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 0xff; }
  return b;
}

type Op = { kind: 'read' | 'write' | 'flush' | 'discard'; sector: number; count: number; release: () => void };

/** An in-memory disk; with `hold` set, every operation waits until the test releases it. */
export class MemoryDisk implements BlockDevice {
  readonly data: Uint8Array;
  readonly physicalSectorSize: number;
  hold = false;
  readonly pending: Op[] = [];
  readonly log: string[] = [];
  flushes = 0;
  failReads = false;

  constructor(readonly sizeBytes: number, readonly sectorSize = 512, readonly readOnly = false, data?: Uint8Array) {
    this.data = data ?? new Uint8Array(sizeBytes);
    this.physicalSectorSize = sectorSize;
  }

  private async gate(kind: Op['kind'], sector: number, count: number): Promise<void> {
    if (!this.hold) return;
    await new Promise<void>((release) => this.pending.push({ kind, sector, count, release }));
  }

  private check(sector: number, bytes: number): void {
    if (bytes % this.sectorSize !== 0 || sector < 0 || sector * this.sectorSize + bytes > this.sizeBytes) throw new Error(`memory disk: bad range ${sector}+${bytes}`);
  }

  async read(sector: number, buf: Uint8Array): Promise<void> {
    this.check(sector, buf.length);
    await this.gate('read', sector, buf.length / this.sectorSize);
    if (this.failReads) throw new Error('memory disk: medium error');
    buf.set(this.data.subarray(sector * this.sectorSize, sector * this.sectorSize + buf.length));
    this.log.push(`read ${sector}+${buf.length / this.sectorSize}`);
  }

  async write(sector: number, buf: Uint8Array): Promise<void> {
    if (this.readOnly) throw new Error('memory disk: read-only');
    this.check(sector, buf.length);
    const copy = buf.slice();
    await this.gate('write', sector, buf.length / this.sectorSize);
    this.data.set(copy, sector * this.sectorSize);
    this.log.push(`write ${sector}+${buf.length / this.sectorSize}`);
  }

  async flush(): Promise<void> {
    await this.gate('flush', 0, 0);
    this.flushes++;
    this.log.push('flush');
  }

  async discard(sector: number, count: number): Promise<void> {
    if (this.readOnly) throw new Error('memory disk: read-only');
    this.check(sector, count * this.sectorSize);
    await this.gate('discard', sector, count);
    this.data.fill(0, sector * this.sectorSize, (sector + count) * this.sectorSize);
    this.log.push(`discard ${sector}+${count}`);
  }

  async close(): Promise<void> { /* nothing */ }

  /** Releases the oldest held operation of `kind` (any kind when omitted); false if none. */
  releaseOne(kind?: Op['kind']): boolean {
    const i = this.pending.findIndex((o) => kind === undefined || o.kind === kind);
    if (i < 0) return false;
    const [op] = this.pending.splice(i, 1);
    op!.release();
    return true;
  }

  releaseAll(): void { while (this.releaseOne()) { /* keep going */ } }
}
