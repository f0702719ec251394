/**
 * Compacts a dynamic or differencing VHD by rewriting it: blocks that are all zeros (dynamic) or
 * have an empty sector bitmap (differencing) are dropped, the rest are packed. The new file is built
 * beside the old one and renamed over it, so an interruption leaves the original untouched. The
 * footer, unique id and parent locators are kept, so children of this disk still match it.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import { partialName, readExact, writeAll } from '../io/file-io.js';
import { serializeDynamicHeader } from './dynamic-header.js';
import { FOOTER_SIZE } from './footer.js';
import { BAT_UNUSED, readLayout } from './layout.js';

function allocatedBytes(st: { size: number; blocks: number }): number {
  return Math.min(st.size, st.blocks * 512);
}

export async function compactVhd(file: string): Promise<{ before: number; after: number }> {
  const before = allocatedBytes(await stat(file));
  const src = await open(file, 'r');
  const tmp = partialName(file);
  try {
    const layout = await readLayout(src, file);
    if (layout.header === undefined) return { before, after: before };
    const h = layout.header;
    const differencing = layout.footer.diskType === 'differencing';
    // Keep the footer copy, header and locator data where they are; the BAT stays in place when it
    // lies among them, otherwise (e.g. moved to the end by a resize) it follows them.
    const headerPos = Number(layout.footer.dataOffset);
    let fixedEnd = headerPos + 1024;
    for (const l of h.locators) fixedEnd = Math.max(fixedEnd, Math.ceil((l.dataOffset + l.dataLength) / 512) * 512);
    if (fixedEnd > layout.fileSize - FOOTER_SIZE) throw new UserError(`${file}: parent locator data runs past the end of the file`);
    const batPadded = Math.ceil((h.maxTableEntries * 4) / 512) * 512;
    const tableOffset = h.tableOffset + batPadded <= fixedEnd ? h.tableOffset : fixedEnd;
    const metaEnd = Math.max(fixedEnd, tableOffset + batPadded);
    const dst = await open(tmp, 'wx');
    try {
      const meta = new Uint8Array(fixedEnd);
      await readExact(src, file, meta, 0, 'VHD metadata');
      await writeAll(dst, meta, 0);
      if (tableOffset !== h.tableOffset) await writeAll(dst, serializeDynamicHeader({ ...h, tableOffset }), headerPos);
      const span = layout.bitmapSize + h.blockSize;
      const block = new Uint8Array(span);
      const bat = new Uint8Array(batPadded).fill(0xff);
      const dv = new DataView(bat.buffer);
      let pos = metaEnd;
      for (let i = 0; i < layout.bat.length; i++) {
        const e = layout.bat[i]!;
        let keep = e !== BAT_UNUSED;
        if (keep) {
          await readExact(src, file, block, e * 512, `VHD block ${i}`);
          keep = differencing ? !isZero(block.subarray(0, layout.bitmapSize)) : !isZero(block.subarray(layout.bitmapSize));
        }
        if (!keep) {
          dv.setUint32(i * 4, BAT_UNUSED);
          continue;
        }
        await writeAll(dst, block, pos);
        dv.setUint32(i * 4, pos / 512);
        pos += span;
      }
      await writeAll(dst, bat, tableOffset);
      const footer = new Uint8Array(FOOTER_SIZE);
      await readExact(src, file, footer, layout.fileSize - FOOTER_SIZE, 'VHD footer');
      await writeAll(dst, footer, pos);
      await dst.sync();
    } finally {
      await dst.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await src.close();
  }
  return { before, after: allocatedBytes(await stat(file)) };
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
