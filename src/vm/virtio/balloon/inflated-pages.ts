/**
 * The set of guest pages a balloon holds: one bit per 4 KiB page of every RAM region, so the set
 * costs 32 KiB per GiB of RAM however many pages are in it. Page frame numbers are guest-physical
 * (address >> 12, VIRTIO_BALLOON_PFN_SHIFT); a PFN outside RAM is refused. Regions added later
 * (memory hot-add) get their bitmap on first use.
 */
import { PAGE_SIZE, type GuestMemory } from '../../../hv/memory/guest-memory.js';

export const PAGE_ADDED = 0;
export const PAGE_ALREADY = 1;
export const PAGE_NOT_RAM = 2;

export class InflatedPages {
  private maps: (Uint32Array | undefined)[] = [];
  /** Pages in the set. */
  count = 0;
  private region = -1;
  private page = 0;

  constructor(private readonly memory: GuestMemory) {}

  /** Sets `region`/`page` for `pfn`; false when the page is not RAM. */
  private locate(pfn: number): boolean {
    const pa = pfn * PAGE_SIZE;
    const i = this.memory.regionIndex(pa);
    if (i < 0) return false;
    const r = this.memory.regions[i]!;
    if (pa + PAGE_SIZE > r.end) return false;
    this.region = i;
    this.page = Math.floor((pa - r.base) / PAGE_SIZE);
    return true;
  }

  private map(i: number): Uint32Array {
    let m = this.maps[i];
    if (m === undefined) { m = new Uint32Array(Math.ceil(this.memory.regions[i]!.size / PAGE_SIZE / 32)); this.maps[i] = m; }
    return m;
  }

  has(pfn: number): boolean {
    if (!this.locate(pfn)) return false;
    const m = this.maps[this.region];
    return m !== undefined && (m[this.page >>> 5]! & (1 << (this.page & 31))) !== 0;
  }

  add(pfn: number): number {
    if (!this.locate(pfn)) return PAGE_NOT_RAM;
    const m = this.map(this.region), w = this.page >>> 5, b = 1 << (this.page & 31);
    if ((m[w]! & b) !== 0) return PAGE_ALREADY;
    m[w] = m[w]! | b;
    this.count++;
    return PAGE_ADDED;
  }

  /** PAGE_ADDED (meaning: removed), PAGE_ALREADY (was not in the set) or PAGE_NOT_RAM. */
  remove(pfn: number): number {
    if (!this.locate(pfn)) return PAGE_NOT_RAM;
    const m = this.maps[this.region], w = this.page >>> 5, b = 1 << (this.page & 31);
    if (m === undefined || (m[w]! & b) === 0) return PAGE_ALREADY;
    m[w] = m[w]! & ~b;
    this.count--;
    return PAGE_ADDED;
  }

  /** Zeroes the page `pfn` (known RAM) and marks it dirty. */
  zero(pfn: number): void {
    if (!this.locate(pfn)) return;
    const r = this.memory.regions[this.region]!, off = this.page * PAGE_SIZE;
    r.u8.fill(0, off, off + PAGE_SIZE);
    this.memory.markDirty(this.region, off);
  }

  clear(): void { this.maps = []; this.count = 0; }

  /** The set as runs [firstPfn, pages, firstPfn, pages, ...] in address order within each region. */
  runs(): Float64Array {
    const out: number[] = [];
    this.maps.forEach((m, i) => {
      if (m === undefined) return;
      const basePfn = this.memory.regions[i]!.base / PAGE_SIZE;
      let start = -1;
      const pages = Math.floor(this.memory.regions[i]!.size / PAGE_SIZE);
      for (let p = 0; p <= pages; p++) {
        const set = p < pages && (m[p >>> 5]! & (1 << (p & 31))) !== 0;
        if (set && start < 0) start = p;
        else if (!set && start >= 0) { out.push(basePfn + start, p - start); start = -1; }
      }
    });
    return Float64Array.from(out);
  }

  /** Checks that every run lies in RAM: a sentence saying which does not, or undefined. */
  checkRuns(runs: Float64Array): string | undefined {
    if (runs.length % 2 !== 0) return 'the run list has an odd length';
    for (let i = 0; i < runs.length; i += 2) {
      const first = runs[i]!, n = runs[i + 1]!;
      if (!Number.isInteger(first) || !Number.isInteger(n) || first < 0 || n < 1) return `run ${i / 2} (${first}+${n}) is not a page range`;
      if (!this.memory.isRam(first * PAGE_SIZE, n * PAGE_SIZE)) return `run ${i / 2} (pages ${first}+${n}) is not inside one RAM region`;
    }
    return undefined;
  }

  /** Replaces the set with `runs` (checked with checkRuns). */
  load(runs: Float64Array): void {
    this.clear();
    for (let i = 0; i < runs.length; i += 2) for (let k = 0; k < runs[i + 1]!; k++) this.add(runs[i]! + k);
  }
}
