/**
 * qcow2 consistency check: recounts every reference to every host cluster (header, L1/L2 tables,
 * data and compressed clusters, refcount structures, snapshot tables) and compares the result with
 * the stored refcounts. Repair is left to qemu-img check -r.
 */
import { FormatError, UserError } from '../../common/errors.js';
import type { CheckReport } from '../disk-image.js';
import { ImageFile, u64, viewOf } from '../vmdk/image-file.js';
import { ClusterMap } from './cluster-map.js';
import { readQcow2Header, type Qcow2Header } from './header.js';

/** Bounds the per-cluster counter array (256 MiB of Uint32). */
const MAX_CHECK_CLUSTERS = 64 * 1024 * 1024;
const MAX_PROBLEMS = 200;

export async function checkQcow2(path: string, opts: { repair: boolean }): Promise<CheckReport> {
  if (opts.repair) throw new UserError(`${path}: qcow2 repair is not supported; use qemu-img check -r all`);
  const file = await ImageFile.open(path, true);
  try {
    const h = await readQcow2Header(file);
    return await new Checker(file, h).run();
  } finally {
    await file.close();
  }
}

class Checker {
  private readonly counts: Uint32Array;
  private readonly problems: string[] = [];
  private readonly cs: number;

  constructor(private readonly file: ImageFile, private readonly h: Qcow2Header) {
    this.cs = h.clusterSize;
    const clusters = Math.ceil(file.size / this.cs);
    if (clusters > MAX_CHECK_CLUSTERS) throw new FormatError(file.path, `file has ${clusters} clusters; too many to check in memory`);
    this.counts = new Uint32Array(clusters);
  }

  private problem(msg: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(msg);
    else if (this.problems.length === MAX_PROBLEMS) this.problems.push('... further problems not listed');
  }

  /** Counts one reference to each cluster overlapped by [offset, offset+bytes). */
  private ref(offset: number, bytes: number, what: string): void {
    if (bytes <= 0) return;
    const first = Math.floor(offset / this.cs);
    const last = Math.floor((offset + bytes - 1) / this.cs);
    if (last >= this.counts.length) {
      this.problem(`${what} at offset ${offset} (+${bytes}) lies past the end of the file`);
      return;
    }
    for (let c = first; c <= last; c++) this.counts[c]!++;
  }

  async run(): Promise<CheckReport> {
    const h = this.h;
    this.ref(0, this.cs, 'header');
    await this.walkL1(h.l1Offset, h.l1Size, 'active L1 table');
    await this.walkSnapshots();
    const stored = await this.readRefcounts();
    for (let c = 0; c < this.counts.length; c++) {
      const want = this.counts[c]!;
      const have = stored(c);
      if (have === want) continue;
      if (want === 0) this.problem(`leaked cluster ${c} (offset ${c * this.cs}): refcount ${have} but nothing references it`);
      else if (have < want) this.problem(`cluster ${c} (offset ${c * this.cs}): refcount ${have} but referenced ${want} times`);
      else this.problem(`cluster ${c} (offset ${c * this.cs}): refcount ${have} is higher than its ${want} references`);
    }
    return { ok: this.problems.length === 0, problems: this.problems, repaired: [] };
  }

  private async walkL1(l1Offset: number, l1Size: number, what: string): Promise<void> {
    this.ref(l1Offset, l1Size * 8, what);
    let map: ClusterMap;
    try {
      map = await ClusterMap.load(this.file, this.h, l1Offset, l1Size);
    } catch (e) {
      this.problem(`${what}: ${(e as Error).message}`);
      return;
    }
    for (let i = 0; i < l1Size; i++) {
      const off = map.l1[i]!;
      if (off === 0) continue;
      this.ref(off, this.cs, `L2 table ${i} of the ${what}`);
      let t: DataView | undefined;
      try {
        t = await map.l2(i);
      } catch (e) {
        this.problem((e as Error).message);
        continue;
      }
      if (t === undefined) continue;
      for (let slot = 0; slot < map.l2Entries; slot++) {
        const cluster = i * map.l2Entries + slot;
        try {
          const loc = map.decode(t, slot, cluster);
          if (loc.kind === 'data' || (loc.kind === 'zero' && loc.offset !== 0)) this.ref(loc.offset, this.cs, `data cluster of guest cluster ${cluster}`);
          else if (loc.kind === 'compressed') this.ref(loc.offset, loc.compressedSize, `compressed cluster of guest cluster ${cluster}`);
        } catch (e) {
          this.problem((e as Error).message);
        }
      }
    }
  }

  private async walkSnapshots(): Promise<void> {
    const h = this.h;
    if (h.nbSnapshots === 0) return;
    let at = h.snapshotsOffset;
    const start = at;
    for (let s = 0; s < h.nbSnapshots; s++) {
      const fixed = new Uint8Array(40);
      await this.file.readExact(at, fixed, `snapshot table entry ${s}`);
      const v = viewOf(fixed);
      const l1Offset = u64(v, 0, false, this.file.path, `snapshot ${s} l1_table_offset`);
      const l1Size = v.getUint32(8, false);
      const idLen = v.getUint16(12, false);
      const nameLen = v.getUint16(14, false);
      const extra = v.getUint32(36, false);
      if (extra > 65536) throw new FormatError(this.file.path, `snapshot ${s} extra data of ${extra} bytes is implausible`);
      if (l1Size * 8 > 32 * 1024 * 1024) throw new FormatError(this.file.path, `snapshot ${s} L1 table of ${l1Size} entries is larger than 32 MiB`);
      await this.walkL1(l1Offset, l1Size, `L1 table of snapshot ${s}`);
      at += Math.ceil((40 + extra + idLen + nameLen) / 8) * 8;
    }
    this.ref(start, at - start, 'snapshot table');
  }

  /** Loads the stored refcounts (counting the refcount structures as references) and returns a lookup. */
  private async readRefcounts(): Promise<(cluster: number) => number> {
    const h = this.h;
    const tableBytes = h.refcountTableClusters * this.cs;
    this.ref(h.refcountTableOffset, tableBytes, 'refcount table');
    const raw = new Uint8Array(tableBytes);
    await this.file.readExact(h.refcountTableOffset, raw, 'refcount table');
    const tv = viewOf(raw);
    const bits = 2 ** h.refcountOrder;
    const perBlock = (this.cs * 8) / bits;
    const blocks: (DataView | undefined)[] = [];
    const needed = Math.min(tableBytes / 8, Math.ceil(this.counts.length / perBlock));
    for (let i = 0; i < tableBytes / 8; i++) {
      const off = u64(tv, i * 8, false, this.file.path, `refcount table entry ${i}`) - (tv.getUint32(i * 8 + 4, false) & 0x1ff);
      if (off === 0) continue;
      if (off % this.cs !== 0) { this.problem(`refcount table entry ${i} points to unaligned offset ${off}`); continue; }
      this.ref(off, this.cs, `refcount block ${i}`);
      if (i >= needed || off + this.cs > this.file.size) continue;
      const b = new Uint8Array(this.cs);
      await this.file.readExact(off, b, `refcount block ${i}`);
      blocks[i] = viewOf(b);
    }
    return (cluster: number): number => {
      const blk = blocks[Math.floor(cluster / perBlock)];
      if (blk === undefined) return 0;
      const idx = cluster % perBlock;
      switch (bits) {
        case 64: return blk.getUint32(idx * 8, false) * 0x1_0000_0000 + blk.getUint32(idx * 8 + 4, false);
        case 32: return blk.getUint32(idx * 4, false);
        case 16: return blk.getUint16(idx * 2, false);
        case 8: return blk.getUint8(idx);
        default: return (blk.getUint8(Math.floor((idx * bits) / 8)) >> ((idx * bits) % 8)) & ((1 << bits) - 1);
      }
    };
  }
}
