/**
 * Guest writes and discards on a qcow2 image. Ordering is what keeps the file consistent across a
 * crash: new clusters get their refcount and contents first, one fsync, and only then the L2 and
 * L1 entries that make them reachable; freed clusters are unlinked before their refcount drops.
 * Shared clusters (internal snapshots) are refused at open, so every reachable data cluster is
 * owned by the active L2 tables and can be rewritten in place.
 */
import { FormatError } from '../../common/errors.js';
import type { ImageFile } from '../vmdk/image-file.js';
import type { ClusterLocation, ClusterMap } from './cluster-map.js';
import type { Qcow2Header } from './header.js';
import type { Refcounts } from './refcounts.js';

const SECTOR = 512;

/** Reads the layer's current contents of one whole guest cluster (backing data, zeros, inflated data). */
export type ClusterFiller = (cluster: number, loc: ClusterLocation, dst: Uint8Array) => Promise<void>;

interface PendingL2 { l1i: number; slot: number; offset: number; zero: boolean }

export class Qcow2Writer {
  private queue: Promise<void> = Promise.resolve();
  private readonly cs: number;

  constructor(
    private readonly file: ImageFile,
    private readonly h: Qcow2Header,
    private readonly map: ClusterMap,
    private readonly refs: Refcounts,
    private readonly fill: ClusterFiller,
    private readonly hasBacking: boolean,
  ) {
    this.cs = h.clusterSize;
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  write(sector: number, buf: Uint8Array): Promise<void> {
    return this.serial(() => this.writeLocked(sector, buf));
  }

  discard(sector: number, count: number): Promise<void> {
    return this.serial(() => this.discardLocked(sector, count));
  }

  private async writeLocked(sector: number, buf: Uint8Array): Promise<void> {
    const pendingL1 = new Map<number, number>();
    const pendingL2: PendingL2[] = [];
    const freed: ClusterLocation[] = [];
    let done = 0;
    while (done < buf.length) {
      const at = sector + done / SECTOR;
      const cluster = Math.floor((at * SECTOR) / this.cs);
      const inCluster = at * SECTOR - cluster * this.cs;
      const n = Math.min(buf.length - done, this.cs - inCluster);
      const part = buf.subarray(done, done + n);
      const loc = await this.map.locate(cluster);
      if (loc.kind === 'data') {
        this.assertDataCluster(loc.offset, cluster);
        await this.file.write(loc.offset + inCluster, part);
      } else {
        let data = part;
        if (n < this.cs) {
          data = new Uint8Array(this.cs);
          await this.fill(cluster, loc, data);
          data.set(part, inCluster);
        }
        const l1i = Math.floor(cluster / this.map.l2Entries);
        if (this.map.l1[l1i] === 0 && !pendingL1.has(l1i)) {
          const l2 = await this.refs.allocate();
          await this.file.write(l2, new Uint8Array(this.cs));
          pendingL1.set(l1i, l2);
        }
        // A zero cluster that keeps its preallocated host cluster is reused; otherwise append one.
        const reuse = loc.kind === 'zero' && loc.offset !== 0;
        if (reuse) this.assertDataCluster(loc.offset, cluster);
        const target = reuse ? loc.offset : await this.refs.allocate();
        await this.file.write(target, data);
        pendingL2.push({ l1i, slot: cluster % this.map.l2Entries, offset: target, zero: false });
        if (loc.kind === 'compressed') freed.push(loc);
      }
      done += n;
    }
    if (pendingL2.length === 0) return;
    await this.file.sync();
    // A new L2 table is filled before the L1 entry makes it reachable.
    for (const [l1i, l2] of pendingL1) this.map.l1[l1i] = l2;
    for (const p of pendingL2) await this.map.setL2(p.l1i, p.slot, p.offset, p.zero);
    for (const [l1i, l2] of pendingL1) {
      this.map.l1[l1i] = 0;
      await this.file.sync();
      await this.map.setL1(l1i, l2);
    }
    if (freed.length > 0) {
      await this.file.sync();
      for (const f of freed) await this.release(f);
    }
  }

  /**
   * A guest write lands in place only in a real data cluster: a hostile L2 entry aimed at the
   * header, an L1/L2 table or a refcount structure is refused before anything is written.
   */
  private assertDataCluster(offset: number, cluster: number): void {
    const cs = this.cs;
    const inside = (start: number, bytes: number): boolean => offset < start + bytes && start < offset + cs;
    let hit = inside(0, cs) || inside(this.h.l1Offset, this.h.l1Size * 8) || inside(this.h.refcountTableOffset, this.h.refcountTableClusters * cs);
    for (let i = 0; !hit && i < this.map.l1.length; i++) hit = this.map.l1[i] === offset;
    const blocks = this.refs.blockOffsets;
    for (let i = 0; !hit && i < blocks.length; i++) hit = blocks[i] === offset;
    if (hit) throw new FormatError(this.file.path, `L2 entry for guest cluster ${cluster} points at metadata (offset ${offset}); refusing to write`);
    if (offset + cs > this.file.size) throw new FormatError(this.file.path, `L2 entry for guest cluster ${cluster} points past the end of the file; refusing to write`);
  }

  private async release(loc: ClusterLocation): Promise<void> {
    if (loc.kind === 'compressed') {
      const first = Math.floor(loc.offset / this.cs);
      const last = Math.floor((loc.offset + loc.compressedSize - 1) / this.cs);
      for (let c = first; c <= last; c++) await this.refs.adjust(c, -1);
    } else if (loc.offset !== 0) {
      await this.refs.adjust(loc.offset / this.cs, -1);
    }
  }

  private async discardLocked(sector: number, count: number): Promise<void> {
    if (this.h.version === 2 && this.hasBacking) return this.zeroFillLocked(sector, count);
    const spc = this.cs / SECTOR;
    let at = sector;
    const end = sector + count;
    const freed: ClusterLocation[] = [];
    while (at < end) {
      const cluster = Math.floor(at / spc);
      const clusterEnd = (cluster + 1) * spc;
      if (at % spc !== 0 || clusterEnd > end) {
        // A partial cluster cannot be unmapped: zero its sectors instead.
        const stop = Math.min(end, clusterEnd);
        await this.zeroFillLocked(at, stop - at);
        at = stop;
        continue;
      }
      const loc = await this.map.locate(cluster);
      const l1i = Math.floor(cluster / this.map.l2Entries);
      const holdsData = loc.kind === 'data' || loc.kind === 'compressed' || (loc.kind === 'zero' && loc.offset !== 0);
      if (this.map.l1[l1i] === 0) {
        if (this.hasBacking) await this.zeroFillLocked(at, spc);
      } else if (holdsData || (loc.kind === 'unallocated' && this.hasBacking)) {
        // With a backing file the cluster must read as zeros, not fall through: use the zero flag (v3).
        await this.map.setL2(l1i, cluster % this.map.l2Entries, 0, this.hasBacking);
        if (holdsData) freed.push(loc);
      }
      at = clusterEnd;
    }
    if (freed.length > 0) {
      await this.file.sync();
      for (const f of freed) await this.release(f);
    }
  }

  private async zeroFillLocked(sector: number, count: number): Promise<void> {
    const chunk = Math.max(1, this.cs / SECTOR);
    for (let s = sector; s < sector + count; s += chunk) {
      const n = Math.min(chunk, sector + count - s);
      await this.writeLocked(s, new Uint8Array(n * SECTOR));
    }
  }
}

export function refuseWrites(h: Qcow2Header, file: string): void {
  if (h.corrupt) throw new FormatError(file, 'image is marked corrupt; it can only be opened read-only (repair it with qemu-img check -r all)');
  if (h.dirty) throw new FormatError(file, 'image was not closed cleanly (dirty bit set); repair its refcounts with qemu-img check -r all before writing');
  if (h.nbSnapshots > 0) throw new FormatError(file, `image has ${h.nbSnapshots} internal snapshot(s); writing such images is not supported (open read-only)`);
}

/**
 * Before the first write: every L2 table and refcount block must lie inside the file and clear of
 * the header, the L1 table and the refcount table, or updating one would overwrite another.
 */
export function validateMetadataForWrite(file: ImageFile, h: Qcow2Header, map: ClusterMap, refs: Refcounts): void {
  const cs = h.clusterSize;
  const fixed: [number, number, string][] = [
    [0, cs, 'the header'],
    [h.l1Offset, h.l1Size * 8, 'the L1 table'],
    [h.refcountTableOffset, h.refcountTableClusters * cs, 'the refcount table'],
  ];
  const checkOne = (off: number, what: string): void => {
    if (off + cs > file.size) throw new FormatError(file.path, `${what} at offset ${off} lies past the end of the file; refusing to write`);
    for (const [start, bytes, name] of fixed) {
      if (off < start + bytes && start < off + cs) throw new FormatError(file.path, `${what} at offset ${off} overlaps ${name}; refusing to write`);
    }
  };
  map.l1.forEach((off, i) => { if (off !== 0) checkOne(off, `L2 table ${i}`); });
  refs.blockOffsets.forEach((off, i) => { if (off !== 0) checkOne(off, `refcount block ${i}`); });
}
