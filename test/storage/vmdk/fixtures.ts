/**
 * Shared test fixtures for the VMDK and qcow2 driver tests: temporary folders, a seeded pattern
 * with holes, qemu-img/qemu-io wrappers, a trivial raw reader for parents, and helpers that read a
 * whole image or walk its allocation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AllocationRun, DiskImage, DiskInfo } from '../../../src/storage/disk-image.js';

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `viridian-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs qemu-img and returns its exit status and output instead of throwing. */
export function qemuImgStatus(...args: string[]): { status: number; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function qemuIo(file: string, format: string, ...cmds: string[]): void {
  const args = ['-f', format];
  for (const c of cmds) args.push('-c', c);
  execFileSync('qemu-io', [...args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** xorshift32: a reproducible stream of bytes that compresses badly, unlike a repeated byte. */
export function pattern(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Region { offset: number; length: number }

/** Writes a sparse raw file of `size` bytes with pattern data in `regions` and holes elsewhere. */
export function writePatternRaw(path: string, size: number, regions: Region[], seed = 7): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    regions.forEach((r, i) => writeSync(fd, pattern(seed + i, r.length), 0, r.length, r.offset));
  } finally {
    closeSync(fd);
  }
}

/** Data regions chosen to straddle grain/cluster boundaries and leave whole-grain holes. */
export const SMALL_DISK = 6 * 1024 * 1024;
export const SMALL_REGIONS: Region[] = [
  { offset: 0, length: 70_000 },
  { offset: 200 * 1024 + 512, length: 3 * 512 },
  { offset: 1024 * 1024 - 4096, length: 300 * 1024 },
  { offset: 4 * 1024 * 1024 + 65536 * 3, length: 65536 },
  { offset: SMALL_DISK - 1024, length: 1024 },
];

export async function readAll(img: DiskImage): Promise<Uint8Array> {
  const buf = new Uint8Array(img.sizeBytes);
  const chunk = 1024 * 1024;
  for (let off = 0; off < buf.length; off += chunk) {
    await img.read(off / 512, buf.subarray(off, Math.min(buf.length, off + chunk)));
  }
  return buf;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** All allocation runs of an image, checking that they tile the disk exactly. */
export async function allocationRuns(img: DiskImage): Promise<{ start: number; run: AllocationRun }[]> {
  const total = img.sizeBytes / 512;
  const runs: { start: number; run: AllocationRun }[] = [];
  for (let s = 0; s < total;) {
    const run = await img.allocation(s, total - s);
    if (run.sectors <= 0 || s + run.sectors > total) throw new Error(`allocation run at ${s} has bad length ${run.sectors}`);
    runs.push({ start: s, run });
    s += run.sectors;
  }
  return runs;
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** A minimal read-only raw image for use as a parent, independent of any driver under test. */
export class RawTestImage implements DiskImage {
  readonly format = 'raw' as const;
  readonly parent = undefined;
  readonly sectorSize = 512;
  readonly physicalSectorSize = 512;
  readonly readOnly = true;
  readonly sizeBytes: number;
  private readonly data: Uint8Array;
  constructor(readonly file: string) {
    this.data = readFileSync(file);
    this.sizeBytes = this.data.length;
  }
  async read(sector: number, buf: Uint8Array): Promise<void> {
    if (sector * 512 + buf.length > this.sizeBytes) throw new Error('raw test image: read past end');
    buf.set(this.data.subarray(sector * 512, sector * 512 + buf.length));
  }
  async write(): Promise<void> { throw new Error('read-only'); }
  async flush(): Promise<void> {}
  async discard(): Promise<void> { throw new Error('read-only'); }
  async close(): Promise<void> {}
  async allocation(_s: number, count: number): Promise<AllocationRun> { return { allocated: true, zero: false, sectors: count }; }
  async info(): Promise<DiskInfo> {
    return { file: this.file, format: 'raw', type: 'fixed', virtualSize: this.sizeBytes, allocatedSize: this.sizeBytes, logicalSectorSize: 512, physicalSectorSize: 512, identifiers: {} };
  }
}

/** Patches bytes of a file in place (to build hostile images from good ones). */
export function patchFile(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

export function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

export function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

export function be64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, false);
  return b;
}
