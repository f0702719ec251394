/**
 * `disk check` for VHD: validates the footer, its copy, the dynamic header and the BAT. --repair
 * fixes what can be fixed without guessing at data: a damaged footer restored from its copy (or the
 * copy from the footer), and BAT entries that point outside the file or into metadata dropped.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../../common/errors.js';
import type { CheckReport } from '../disk-image.js';
import { readUpTo, writeAll } from '../io/file-io.js';
import { DYN_HEADER_SIZE, parseDynamicHeader } from './dynamic-header.js';
import { FOOTER_SIZE, hasFooterCookie, parseFooter, serializeFooter, type VhdFooter } from './footer.js';
import { BAT_UNUSED, bitmapBytes, readLayout } from './layout.js';

export async function checkVhd(file: string, opts: { repair: boolean }): Promise<CheckReport> {
  const fh = await open(file, opts.repair ? 'r+' : 'r');
  const report: CheckReport = { ok: true, problems: [], repaired: [] };
  try {
    await checkFooters(fh, file, report, opts.repair);
    let layoutError: string | undefined;
    try {
      await readLayout(fh, file);
    } catch (e) {
      layoutError = errorMessage(e);
    }
    if (layoutError !== undefined && !report.problems.includes(layoutError)) report.problems.push(layoutError);
    if (opts.repair && layoutError !== undefined) await repairBat(fh, file, report);
    if (report.repaired.length > 0) await fh.datasync();
    // After a repair the image counts as healthy only if the final validation passes.
    report.ok = report.problems.length === 0 || (opts.repair && (await validates(fh, file)));
  } finally {
    await fh.close();
  }
  return report;
}

async function validates(fh: FileHandle, file: string): Promise<boolean> {
  try {
    await readLayout(fh, file);
    return true;
  } catch {
    return false;
  }
}

function tryFooter(file: string, bytes: Uint8Array, where: string): VhdFooter | string {
  try {
    return parseFooter(file, bytes, where);
  } catch (e) {
    return errorMessage(e);
  }
}

async function checkFooters(fh: FileHandle, file: string, report: CheckReport, repair: boolean): Promise<void> {
  const size = (await fh.stat()).size;
  const endBytes = new Uint8Array(FOOTER_SIZE);
  const copyBytes = new Uint8Array(FOOTER_SIZE);
  if (size >= FOOTER_SIZE) await readUpTo(fh, endBytes, size - FOOTER_SIZE);
  await readUpTo(fh, copyBytes, 0);
  const end = tryFooter(file, endBytes, 'at the end of the file');
  const copy = hasFooterCookie(copyBytes) ? tryFooter(file, copyBytes, 'copy at offset 0') : undefined;
  if (typeof end === 'string') report.problems.push(end);
  if (typeof copy === 'string') report.problems.push(copy);
  const dynamic = (typeof end === 'object' && end.diskType !== 'fixed') || (typeof copy === 'object' && copy.diskType !== 'fixed');
  if (typeof end === 'object' && typeof copy === 'object' && Buffer.compare(endBytes, copyBytes) !== 0) {
    report.problems.push('VHD footer copy at offset 0 differs from the footer at the end');
  }
  if (dynamic && copy === undefined) report.problems.push('VHD footer copy at offset 0 is missing');
  if (!repair) return;
  if (typeof end === 'object' && end.diskType !== 'fixed' && (typeof copy !== 'object' || Buffer.compare(endBytes, copyBytes) !== 0)) {
    await writeAll(fh, serializeFooter(end), 0);
    report.repaired.push('rewrote the footer copy at offset 0 from the footer at the end');
  } else if (typeof end !== 'object' && typeof copy === 'object' && copy.diskType !== 'fixed') {
    // A torn footer sits in place; a missing one (truncated file) goes after the last whole sector.
    const pos = hasFooterCookie(endBytes) ? size - FOOTER_SIZE : Math.ceil(size / 512) * 512;
    await writeAll(fh, serializeFooter(copy), pos);
    report.repaired.push(`restored the footer at offset ${pos} from the copy at offset 0`);
  }
}

async function repairBat(fh: FileHandle, file: string, report: CheckReport): Promise<void> {
  const size = (await fh.stat()).size;
  const end = new Uint8Array(FOOTER_SIZE);
  await readUpTo(fh, end, size - FOOTER_SIZE);
  const footer = tryFooter(file, end, 'at the end of the file');
  if (typeof footer !== 'object' || footer.diskType === 'fixed') return;
  const hpos = Number(footer.dataOffset);
  if (!(hpos >= 512 && hpos + DYN_HEADER_SIZE <= size - FOOTER_SIZE)) return;
  const hbuf = new Uint8Array(DYN_HEADER_SIZE);
  await readUpTo(fh, hbuf, hpos);
  let header;
  try {
    header = parseDynamicHeader(file, hbuf, size);
  } catch {
    return;
  }
  const entries = Math.min(header.maxTableEntries, Math.ceil(footer.currentSize / header.blockSize));
  if (header.tableOffset + entries * 4 > size - FOOTER_SIZE) return;
  const raw = new Uint8Array(entries * 4);
  await readUpTo(fh, raw, header.tableOffset);
  const dv = new DataView(raw.buffer);
  const span = bitmapBytes(header.blockSize) + header.blockSize;
  const batEnd = header.tableOffset + Math.ceil((header.maxTableEntries * 4) / 512) * 512;
  const meta: [number, number][] = [[0, FOOTER_SIZE], [hpos, hpos + DYN_HEADER_SIZE], [header.tableOffset, batEnd]];
  const seen: [number, number][] = [];
  for (let i = 0; i < entries; i++) {
    const e = dv.getUint32(i * 4);
    if (e === BAT_UNUSED) continue;
    const off = e * 512;
    const bad = off + span > size - FOOTER_SIZE ? 'past the end of the file'
      : meta.some(([a, b]) => off < b && off + span > a) ? 'into metadata'
        : seen.some(([a, b]) => off < b && off + span > a) ? 'into another block' : undefined;
    if (bad === undefined) {
      seen.push([off, off + span]);
      continue;
    }
    dv.setUint32(i * 4, BAT_UNUSED);
    await writeAll(fh, raw.subarray(i * 4, i * 4 + 4), header.tableOffset + i * 4);
    report.repaired.push(`dropped BAT entry ${i} pointing ${bad} (that block now reads as unallocated)`);
  }
}
