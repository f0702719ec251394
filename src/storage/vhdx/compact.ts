/**
 * Compacting a dynamic or differencing VHDX: the image is rebuilt into a new file holding only the
 * blocks that carry data (all-zero blocks of a dynamic image are dropped), then renamed over the
 * original. Identity GUIDs are kept, so children linked to this image stay valid.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';
import { isBitmapIndex, PAYLOAD_FULLY_PRESENT, PAYLOAD_PARTIALLY_PRESENT, SB_PRESENT } from './bat.js';
import { HEADER_OFFSETS, MiB, REGION_TABLE_OFFSETS, serializeHeader, serializeRegionTable } from './layout.js';
import { writeFully } from './log.js';
import { VhdxImage } from './vhdx-image.js';

export async function compactVhdx(file: string): Promise<{ before: number; after: number }> {
  // A read-write open replays any pending log, so the copy starts from a consistent image.
  await (await VhdxImage.open(file, { readOnly: false })).close();
  const before = (await stat(file)).size;
  const img = await VhdxImage.open(file, { readOnly: true });
  const tmp = `${file}.compact-${process.pid}`;
  let renamed = false;
  try {
    const s = img.s;
    if (s.meta.leaveBlocksAllocated) return { before, after: before };
    const out = await open(tmp, 'wx');
    try {
      const logOffset = MiB, logLength = s.header.logLength;
      const mdOffset = logOffset + logLength, mdLength = s.regions.metadata.length;
      const batOffset = mdOffset + mdLength, batLength = Math.ceil((s.bat.state.length * 8) / MiB) * MiB;
      let next = batOffset + batLength;
      const buf = new Uint8Array(MiB);
      const copy = async (from: number, len: number, to: number): Promise<void> => {
        for (let d = 0; d < len; d += MiB) {
          const n = Math.min(MiB, len - d);
          const { bytesRead } = await img.fh.read(buf, 0, n, from + d);
          if (bytesRead !== n) throw new FormatError(file, `block at offset ${from + d} is past the end of the file`);
          await writeFully(out, buf.subarray(0, n), to + d);
        }
      };
      const isZero = async (from: number, len: number): Promise<boolean> => {
        for (let d = 0; d < len; d += MiB) {
          await img.fh.read(buf, 0, MiB, from + d);
          for (let k = 0; k < MiB; k++) if (buf[k] !== 0) return false;
        }
        return true;
      };
      const bat = s.bat.resized(s.bat.state.length);
      for (let i = 0; i < bat.state.length; i++) {
        const st = bat.state[i]!;
        const bitmap = isBitmapIndex(i, s.geometry.chunkRatio);
        const live = bitmap ? st === SB_PRESENT : st === PAYLOAD_FULLY_PRESENT || st === PAYLOAD_PARTIALLY_PRESENT;
        if (!live) continue;
        const len = bitmap ? MiB : s.meta.blockSize;
        const from = bat.offsetMiB[i]! * MiB;
        if (!bitmap && !s.meta.hasParent && (await isZero(from, len))) {
          bat.state[i] = 0;
          bat.offsetMiB[i] = 0;
          continue;
        }
        await copy(from, len, next);
        bat.offsetMiB[i] = next / MiB;
        next += len;
      }
      await out.truncate(next);
      await copy(0, HEADER_OFFSETS[0], 0);
      for (let k = 0; k < 2; k++) {
        const h = { ...s.header, sequenceNumber: s.header.sequenceNumber + 1 + k, logGuid: new Uint8Array(16), logOffset, logLength };
        await writeFully(out, serializeHeader(h), HEADER_OFFSETS[k]!);
      }
      const rt = serializeRegionTable({ bat: { offset: batOffset, length: batLength }, metadata: { offset: mdOffset, length: mdLength } });
      for (const off of REGION_TABLE_OFFSETS) await writeFully(out, rt, off);
      await copy(s.regions.metadata.offset, mdLength, mdOffset);
      const batBytes = new Uint8Array(batLength);
      bat.serialize(0, batBytes);
      await writeFully(out, batBytes, batOffset);
      await out.sync();
    } finally {
      await out.close();
    }
    await img.close();
    await rename(tmp, file);
    renamed = true;
    return { before, after: (await stat(file)).size };
  } finally {
    await img.close().catch(() => undefined);
    if (!renamed) await rm(tmp, { force: true });
  }
}
