/**
 * Resizing a VHD in place, ordered so that a crash at any step leaves a valid image of either the
 * old or the new size. A dynamic disk whose BAT has no spare room gets a new, larger BAT at the end
 * of the file (the header points wherever the BAT is), written before the header switches to it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import { readExact, writeAll } from '../io/file-io.js';
import { serializeDynamicHeader } from './dynamic-header.js';
import { FOOTER_SIZE, chsGeometry, serializeFooter, type VhdFooter } from './footer.js';
import { validateBlockCount, validateVhdSize } from './create.js';
import { BAT_UNUSED, readLayout, type VhdLayout } from './layout.js';

export async function resizeVhd(file: string, newSize: number, opts: { allowShrink: boolean }): Promise<void> {
  validateVhdSize(newSize);
  const fh = await open(file, 'r+');
  try {
    const layout = await readLayout(fh, file);
    const cur = layout.footer.currentSize;
    if (newSize === cur) return;
    if (newSize < cur && !opts.allowShrink) {
      throw new UserError(`${file}: shrinking from ${cur} to ${newSize} bytes needs --allow-shrink`);
    }
    if (layout.footer.diskType === 'differencing') {
      throw new UserError(`${file}: a differencing VHD has its parent's size; resize the merged disk instead`);
    }
    if (layout.footer.diskType === 'fixed') await resizeFixed(fh, file, layout, newSize);
    else await resizeDynamic(fh, file, layout, newSize);
  } finally {
    await fh.close();
  }
}

function resizedFooter(f: VhdFooter, newSize: number): Uint8Array {
  const g = chsGeometry(newSize);
  return serializeFooter({ ...f, currentSize: newSize, cylinders: g.cylinders, heads: g.heads, sectorsPerTrack: g.sectorsPerTrack });
}

async function resizeFixed(fh: FileHandle, file: string, layout: VhdLayout, newSize: number): Promise<void> {
  const cur = layout.footer.currentSize;
  const footer = resizedFooter(layout.footer, newSize);
  if (newSize > cur) {
    await writeAll(fh, footer, newSize);
    await fh.datasync();
    // The old footer is now inside the data area, which must read as zeros.
    await writeAll(fh, new Uint8Array(FOOTER_SIZE), cur);
    await fh.datasync();
    return;
  }
  // A fixed disk has no allocation map: its tail counts as unallocated only when it is all zeros.
  const buf = new Uint8Array(1 << 20);
  for (let pos = newSize; pos < cur; pos += buf.length) {
    const chunk = buf.subarray(0, Math.min(buf.length, cur - pos));
    await readExact(fh, file, chunk, pos, 'VHD data');
    if (chunk.some((b) => b !== 0)) throw new UserError(`${file}: the tail past ${newSize} bytes holds data; refusing to shrink`);
  }
  await writeAll(fh, footer, newSize);
  await fh.datasync();
  await fh.truncate(newSize + FOOTER_SIZE);
  await fh.datasync();
}

async function resizeDynamic(fh: FileHandle, file: string, layout: VhdLayout, newSize: number): Promise<void> {
  const header = layout.header!;
  const cur = layout.footer.currentSize;
  validateBlockCount(newSize, header.blockSize);
  const needed = Math.ceil(newSize / header.blockSize);
  const dataEnd = layout.fileSize - FOOTER_SIZE;
  const footer = resizedFooter(layout.footer, newSize);
  if (newSize < cur) {
    for (let b = needed; b < layout.bat.length; b++) {
      if (layout.bat[b] !== BAT_UNUSED) throw new UserError(`${file}: block ${b} past the new size holds data; refusing to shrink`);
    }
    // The partial last block may hold data past the new end; reads past the size never see it.
    await writeFooters(fh, dataEnd, footer);
    await writeAll(fh, serializeDynamicHeader({ ...header, maxTableEntries: needed }), Number(layout.footer.dataOffset));
    await fh.datasync();
    return;
  }
  const padded = Math.ceil((header.maxTableEntries * 4) / 512) * 512;
  let spare = needed * 4 <= padded;
  if (spare && needed > header.maxTableEntries) {
    const pad = new Uint8Array(padded - header.maxTableEntries * 4);
    await readExact(fh, file, pad, header.tableOffset + header.maxTableEntries * 4, 'VHD BAT padding');
    spare = pad.every((b) => b === 0xff);
  }
  let tableOffset = header.tableOffset;
  let end = dataEnd;
  if (!spare) {
    const batBytes = Math.ceil((needed * 4) / 512) * 512;
    const bat = new Uint8Array(batBytes).fill(0xff);
    const dv = new DataView(bat.buffer);
    for (let i = 0; i < layout.bat.length; i++) dv.setUint32(i * 4, layout.bat[i]!);
    await writeAll(fh, serializeFooter(layout.footer), dataEnd + batBytes);
    await writeAll(fh, bat, dataEnd);
    await fh.datasync();
    tableOffset = dataEnd;
    end = dataEnd + batBytes;
  }
  await writeAll(fh, serializeDynamicHeader({ ...header, tableOffset, maxTableEntries: Math.max(needed, header.maxTableEntries) }), Number(layout.footer.dataOffset));
  await fh.datasync();
  await writeFooters(fh, end, footer);
}

async function writeFooters(fh: FileHandle, end: number, footer: Uint8Array): Promise<void> {
  // Readers trust the footer at the end; the copy at 0 follows it.
  await writeAll(fh, footer, end);
  await fh.datasync();
  await writeAll(fh, footer, 0);
  await fh.datasync();
}
