/**
 * Resizing a VHDX: grow (new BAT entries, fixed images get their blocks allocated; the BAT moves to
 * the end of the file when its region is too small) and shrink when the dropped tail is unallocated.
 * The size change, BAT changes and region table all go through the log, the size last.
 */
import { UserError } from '../../common/errors.js';
import { batGeometry, PAYLOAD_FULLY_PRESENT, PAYLOAD_PARTIALLY_PRESENT, payloadIndex } from './bat.js';
import { MAX_VIRTUAL_SIZE, MiB, REGION_TABLE_OFFSETS, REGION_TABLE_SIZE, serializeRegionTable, setU64 } from './layout.js';
import { SECTOR, writeFully } from './log.js';
import { virtualSizeOffset } from './metadata.js';
import { VhdxImage } from './vhdx-image.js';

export async function resizeVhdx(file: string, newSize: number, opts: { allowShrink: boolean }): Promise<void> {
  const img = await VhdxImage.open(file, { readOnly: false });
  try {
    await resizeOpenImage(img, newSize, opts.allowShrink);
  } finally {
    await img.close();
  }
}

export async function resizeOpenImage(img: VhdxImage, newSize: number, allowShrink: boolean): Promise<void> {
  const s = img.s;
  const { meta } = s;
  const ss = meta.logicalSectorSize;
  if (meta.hasParent) throw new UserError(`${img.file}: a differencing VHDX keeps its parent's size; resize the chain's base instead`);
  if (!Number.isSafeInteger(newSize) || newSize <= 0 || newSize % ss !== 0 || newSize > MAX_VIRTUAL_SIZE) {
    throw new UserError(`new size ${newSize} is not a multiple of the ${ss}-byte sector between 1 sector and 64 TiB`);
  }
  const oldSize = meta.virtualSize;
  if (newSize === oldSize) return;
  if (newSize < oldSize && !allowShrink) throw new UserError(`${img.file}: shrinking from ${oldSize} to ${newSize} bytes discards data; pass allowShrink`);
  const oldG = s.geometry;
  const newG = batGeometry(newSize, meta.blockSize, ss, false);
  if (newSize < oldSize) {
    for (let b = newG.dataBlocks; b < oldG.dataBlocks; b++) {
      const st = s.bat.state[payloadIndex(b, oldG.chunkRatio)];
      if (st === PAYLOAD_FULLY_PRESENT || st === PAYLOAD_PARTIALLY_PRESENT) {
        throw new UserError(`${img.file}: block ${b} past the new size ${newSize} holds data; refusing to shrink`);
      }
    }
    // The kept last block's tail must read as zeros if the disk grows again.
    const tailEnd = Math.min(newG.dataBlocks * meta.blockSize, oldSize);
    if (tailEnd > newSize) await img.discard(newSize / ss, (tailEnd - newSize) / ss);
  }
  await img.prepareMetadataChange();
  const bat = s.bat.resized(newG.totalEntries);
  if (meta.leaveBlocksAllocated) {
    for (let b = oldG.dataBlocks; b < newG.dataBlocks; b++) {
      const i = payloadIndex(b, newG.chunkRatio);
      bat.state[i] = PAYLOAD_FULLY_PRESENT;
      bat.offsetMiB[i] = (await img.allocateSpace(meta.blockSize)) / MiB;
    }
  }
  let regions = s.regions;
  const needed = newG.totalEntries * 8;
  if (needed > regions.bat.length) {
    // The new BAT is written whole into fresh space no structure references yet; the region table switch is logged.
    const length = Math.ceil(needed / MiB) * MiB;
    const offset = await img.allocateSpace(length);
    const bytes = new Uint8Array(length);
    bat.serialize(0, bytes);
    await writeFully(img.fh, bytes, offset);
    regions = { ...regions, bat: { offset, length } };
    const rt = serializeRegionTable(regions);
    for (const base of REGION_TABLE_OFFSETS) {
      for (let p = 0; p < REGION_TABLE_SIZE; p += SECTOR) img.stagePage(base + p, rt.slice(p, p + SECTOR));
    }
  }
  const md = new Uint8Array(SECTOR);
  const at = virtualSizeOffset(await readRegionStart(img, s.regions.metadata.offset), img.file);
  const page = Math.floor(at / SECTOR) * SECTOR;
  await readInto(img, md, s.regions.metadata.offset + page);
  setU64(new DataView(md.buffer), at - page, newSize);
  img.stagePage(s.regions.metadata.offset + page, md);
  img.replaceStructure({ ...s, regions, bat, geometry: newG, meta: { ...meta, virtualSize: newSize } });
  // Only entries past the smaller count change (fixed growth included); a moved BAT was written whole.
  if (regions === s.regions) img.markBatDirty(Math.min(oldG.totalEntries, newG.totalEntries), Math.max(oldG.totalEntries, newG.totalEntries));
  await img.commit();
}

async function readInto(img: VhdxImage, buf: Uint8Array, pos: number): Promise<void> {
  const { bytesRead } = await img.fh.read(buf, 0, buf.length, pos);
  if (bytesRead !== buf.length) throw new UserError(`${img.file}: metadata region is truncated`);
}

async function readRegionStart(img: VhdxImage, pos: number): Promise<Uint8Array> {
  const buf = new Uint8Array(64 * 1024);
  await readInto(img, buf, pos);
  return buf;
}
