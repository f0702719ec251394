/**
 * Guest physical memory (design rule 2): RAM is one or more SharedArrayBuffer regions placed at
 * guest-physical addresses, with a dirty bitmap per region (one bit per 4 KiB page) for migration
 * and a code bitmap for invalidating decoded instructions. Everything that is not RAM is MMIO:
 * accesses there go to the MMIO handler the VM installs.
 *
 * Physical addresses are plain numbers (exact up to 2^53, beyond any physical address width).
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

export class RamRegion {
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** 1 bit per page: written since the last clearDirty (migration, checkpoints). */
  readonly dirty: Uint32Array;
  /** 1 byte per page: number of reasons the page holds decoded code (non-zero = writes must invalidate). */
  readonly code: Uint8Array;
  readonly pages: number;

  constructor(readonly base: number, readonly size: number, readonly buffer: SharedArrayBuffer) {
    if (base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size <= 0) throw new Error(`RAM region ${base.toString(16)}+${size.toString(16)} is not page aligned`);
    if (buffer.byteLength !== size) throw new Error('RAM region buffer size mismatch');
    this.u8 = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.pages = size / PAGE_SIZE;
    this.dirty = new Uint32Array(new SharedArrayBuffer(Math.ceil(this.pages / 32) * 4));
    this.code = new Uint8Array(this.pages);
  }

  get end(): number { return this.base + this.size; }
}

export interface MmioHandler {
  mmioRead(addr: number, data: Uint8Array): void;
  mmioWrite(addr: number, data: Uint8Array): void;
}

const NO_MMIO: MmioHandler = {
  mmioRead(_addr: number, data: Uint8Array): void { data.fill(0xff); },
  mmioWrite(): void { /* unclaimed: dropped */ },
};

export class GuestMemory {
  readonly regions: RamRegion[] = [];
  mmio: MmioHandler = NO_MMIO;
  /** Called with (region index, page index) when a page holding decoded code is written (one per processor). */
  readonly codeWriteListeners: ((region: number, page: number) => void)[] = [];
  private readonly scratch = new Uint8Array(16);

  /** Adds a RAM region (boot-time layout or memory hot-add). */
  addRegion(base: number, size: number, buffer = new SharedArrayBuffer(size)): RamRegion {
    for (const r of this.regions) {
      if (base < r.end && r.base < base + size) throw new Error(`RAM region at ${base.toString(16)} overlaps an existing one`);
    }
    const region = new RamRegion(base, size, buffer);
    this.regions.push(region);
    return region;
  }

  /** Index of the region holding `pa`, or -1 (MMIO or unbacked). */
  regionIndex(pa: number): number {
    const rs = this.regions;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (pa >= r.base && pa < r.base + r.size) return i;
    }
    return -1;
  }

  isRam(pa: number, len: number): boolean {
    const i = this.regionIndex(pa);
    return i >= 0 && pa + len <= this.regions[i]!.end;
  }

  get totalRam(): number { return this.regions.reduce((s, r) => s + r.size, 0); }

  markDirty(regionIdx: number, offset: number): void {
    const r = this.regions[regionIdx]!;
    const page = offset >>> PAGE_SHIFT;
    r.dirty[page >>> 5]! |= 1 << (page & 31);
    if (r.code[page] !== 0) {
      r.code[page] = 0;
      for (const l of this.codeWriteListeners) l(regionIdx, page);
    }
  }

  // ---- byte-granular physical access for devices, loaders and the CPU's slow path ----
  // Accesses may span regions or MMIO; each byte goes where it belongs.

  readBytes(pa: number, out: Uint8Array): void {
    let done = 0;
    while (done < out.length) {
      const addr = pa + done;
      const i = this.regionIndex(addr);
      if (i < 0) {
        const n = Math.min(out.length - done, this.scratch.length);
        const chunk = this.scratch.subarray(0, n);
        this.mmio.mmioRead(addr, chunk);
        out.set(chunk, done);
        done += n;
        continue;
      }
      const r = this.regions[i]!;
      const off = addr - r.base;
      const n = Math.min(out.length - done, r.size - off);
      out.set(r.u8.subarray(off, off + n), done);
      done += n;
    }
  }

  writeBytes(pa: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const addr = pa + done;
      const i = this.regionIndex(addr);
      if (i < 0) {
        const n = Math.min(data.length - done, 16);
        this.mmio.mmioWrite(addr, data.subarray(done, done + n));
        done += n;
        continue;
      }
      const r = this.regions[i]!;
      const off = addr - r.base;
      const n = Math.min(data.length - done, r.size - off);
      r.u8.set(data.subarray(done, done + n), off);
      for (let p = off >>> PAGE_SHIFT; p <= (off + n - 1) >>> PAGE_SHIFT; p++) this.markDirty(i, p << PAGE_SHIFT);
      done += n;
    }
  }

  read32(pa: number): number {
    const i = this.regionIndex(pa);
    if (i >= 0 && pa + 4 <= this.regions[i]!.end) return this.regions[i]!.view.getUint32(pa - this.regions[i]!.base, true);
    const b = this.scratch.subarray(0, 4);
    this.readBytes(pa, b);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  write32(pa: number, value: number): void {
    const i = this.regionIndex(pa);
    if (i >= 0 && pa + 4 <= this.regions[i]!.end) {
      const r = this.regions[i]!;
      r.view.setUint32(pa - r.base, value, true);
      this.markDirty(i, pa - r.base);
      return;
    }
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value, true);
    this.writeBytes(pa, b);
  }

  /** Clears and returns the dirty pages of one region (for a migration pass). */
  takeDirty(regionIdx: number): Uint32Array {
    const r = this.regions[regionIdx]!;
    const copy = r.dirty.slice();
    r.dirty.fill(0);
    return copy;
  }
}
