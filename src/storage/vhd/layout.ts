/**
 * Reads and validates the metadata of a VHD file: footer, dynamic header and BAT. Every number
 * from the file is bounds-checked before it sizes an allocation or addresses a read, so a hostile
 * image produces a FormatError naming the structure, never a crash or a huge allocation.
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';
import { readExact } from '../io/file-io.js';
import { DYN_HEADER_SIZE, parseDynamicHeader, type DynamicHeader } from './dynamic-header.js';
import { FOOTER_SIZE, hasFooterCookie, parseFooter, type VhdFooter } from './footer.js';

export const BAT_UNUSED = 0xffffffff;
/** 16 Mi entries (a 64 MiB BAT) covers 2040 GiB with 128 KiB blocks; more is a hostile header. */
export const MAX_BAT_ENTRIES = 16 * 1024 * 1024;

export interface VhdLayout {
  footer: VhdFooter;
  fileSize: number;
  header?: DynamicHeader;
  /** BAT entries (sector offsets) for the blocks the virtual size needs; empty for fixed disks. */
  bat: Uint32Array;
  /** Bytes of the sector bitmap in front of each block (a whole number of sectors). */
  bitmapSize: number;
}

export function bitmapBytes(blockSize: number): number {
  return Math.ceil(blockSize / 512 / 8 / 512) * 512;
}

export async function readFooterAt(fh: FileHandle, file: string, pos: number, where: string): Promise<VhdFooter> {
  const buf = new Uint8Array(FOOTER_SIZE);
  await readExact(fh, file, buf, pos, `VHD footer ${where}`);
  return parseFooter(file, buf, where);
}

export async function readLayout(fh: FileHandle, file: string): Promise<VhdLayout> {
  const fileSize = (await fh.stat()).size;
  if (fileSize < FOOTER_SIZE) throw new FormatError(file, `file is ${fileSize} bytes, too short to hold a VHD footer`);
  let footer: VhdFooter;
  try {
    footer = await readFooterAt(fh, file, fileSize - FOOTER_SIZE, 'at the end of the file');
  } catch (e) {
    const copy = new Uint8Array(FOOTER_SIZE);
    await readExact(fh, file, copy, 0, 'VHD footer copy');
    if (e instanceof FormatError && hasFooterCookie(copy)) {
      throw new FormatError(file, `${e.message.slice(file.length + 2)} (file truncated or damaged? the footer copy at offset 0 survives; 'viridian disk check --repair' can restore it)`);
    }
    throw e;
  }
  if (footer.diskType === 'fixed') {
    if (fileSize - FOOTER_SIZE !== footer.currentSize) {
      throw new FormatError(file, `fixed VHD holds ${fileSize - FOOTER_SIZE} data bytes but its footer says the disk is ${footer.currentSize} bytes`);
    }
    return { footer, fileSize, bat: new Uint32Array(0), bitmapSize: 0 };
  }
  const headerPos = footer.dataOffset;
  if (headerPos < 512n || headerPos + BigInt(DYN_HEADER_SIZE) > BigInt(fileSize - FOOTER_SIZE) || headerPos % 512n !== 0n) {
    throw new FormatError(file, `VHD footer: dynamic header offset ${headerPos} lies outside the file`);
  }
  const hbuf = new Uint8Array(DYN_HEADER_SIZE);
  await readExact(fh, file, hbuf, Number(headerPos), 'VHD dynamic header');
  const header = parseDynamicHeader(file, hbuf, fileSize);
  const needed = Math.ceil(footer.currentSize / header.blockSize);
  if (header.maxTableEntries < needed) {
    throw new FormatError(file, `VHD dynamic header: BAT has ${header.maxTableEntries} entries but the ${footer.currentSize}-byte disk needs ${needed}`);
  }
  if (needed > MAX_BAT_ENTRIES) {
    throw new FormatError(file, `VHD BAT would need ${needed} entries (block size ${header.blockSize}); more than the supported ${MAX_BAT_ENTRIES}`);
  }
  const batBytes = header.maxTableEntries * 4;
  if (header.tableOffset + batBytes > fileSize - FOOTER_SIZE) {
    throw new FormatError(file, `VHD BAT of ${header.maxTableEntries} entries at offset ${header.tableOffset} runs past the end of the ${fileSize}-byte file`);
  }
  const metadata: [number, number, string][] = [
    [0, FOOTER_SIZE, 'the footer copy'],
    [Number(headerPos), Number(headerPos) + DYN_HEADER_SIZE, 'the dynamic header'],
    [header.tableOffset, header.tableOffset + batBytes, 'the BAT'],
  ];
  if (header.tableOffset < Number(headerPos) + DYN_HEADER_SIZE && header.tableOffset + batBytes > Number(headerPos)) {
    throw new FormatError(file, 'VHD BAT overlaps the dynamic header');
  }
  const raw = new Uint8Array(needed * 4);
  await readExact(fh, file, raw, header.tableOffset, 'VHD BAT');
  const dv = new DataView(raw.buffer);
  const bat = new Uint32Array(needed);
  for (let i = 0; i < needed; i++) bat[i] = dv.getUint32(i * 4);
  const bitmapSize = bitmapBytes(header.blockSize);
  validateBlocks(file, bat, header.blockSize + bitmapSize, metadata, fileSize - FOOTER_SIZE);
  return { footer, fileSize, header, bat, bitmapSize };
}

/** Every used BAT entry must point past the metadata, end before the footer, and not overlap another block. */
function validateBlocks(file: string, bat: Uint32Array, span: number, metadata: [number, number, string][], dataEnd: number): void {
  const used: number[] = [];
  for (let i = 0; i < bat.length; i++) {
    const e = bat[i]!;
    if (e === BAT_UNUSED) continue;
    const off = e * 512;
    for (const [start, end, what] of metadata) {
      if (off < end && off + span > start) throw new FormatError(file, `VHD BAT entry ${i} points to offset ${off}, overlapping ${what}`);
    }
    if (off + span > dataEnd) throw new FormatError(file, `VHD BAT entry ${i} points to offset ${off}; the block runs past the end of the file`);
    used.push(e);
  }
  const sorted = Float64Array.from(used).sort();
  const spanSectors = span / 512;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! - sorted[i - 1]! < spanSectors) {
      throw new FormatError(file, `VHD BAT has overlapping blocks at sectors ${sorted[i - 1]} and ${sorted[i]}`);
    }
  }
}
