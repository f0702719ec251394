/**
 * Consistency check of a VHDX, with repair where it is safe: replaying a pending log, rewriting an
 * invalid header or region table copy from the good one, and clearing BAT entries that point outside
 * the file or into other structures (their data is unreachable either way).
 */
import { open } from 'node:fs/promises';
import { errorMessage, FormatError } from '../../common/errors.js';
import type { CheckReport } from '../disk-image.js';
import { HEADER_OFFSETS, HEADER_SIZE, parseHeader, parseRegionTable, REGION_TABLE_OFFSETS, REGION_TABLE_SIZE, serializeRegionTable } from './layout.js';
import { readPendingLog, SECTOR } from './log.js';
import { logIsPending, readHeaders } from './structure.js';
import { VhdxImage } from './vhdx-image.js';

export async function checkVhdx(file: string, opts: { repair: boolean }): Promise<CheckReport> {
  const problems: string[] = [];
  const repaired: string[] = [];
  const copies = { badHeaders: [] as number[], badTables: [] as number[] };
  try {
    await scanWithoutOpening(file, problems, copies);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return { ok: false, problems: [...problems, errorMessage(e)], repaired };
  }
  const logPending = problems.some((p) => p.startsWith('log:'));
  if (logPending && !opts.repair) return { ok: false, problems, repaired };
  const batProblems: string[] = [];
  let img: VhdxImage;
  try {
    img = await VhdxImage.open(file, { readOnly: !opts.repair }, batProblems);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return { ok: false, problems: [...problems, errorMessage(e)], repaired };
  }
  try {
    problems.push(...batProblems);
    if (opts.repair && problems.length > 0) {
      if (logPending) repaired.push('log: replayed the pending log entries');
      if (batProblems.length > 0) {
        img.markBatDirty(0, img.s.bat.state.length);
        repaired.push(`BAT: cleared ${batProblems.length} bad entr${batProblems.length === 1 ? 'y' : 'ies'}`);
      }
      const rt = serializeRegionTable(img.s.regions);
      for (const k of copies.badTables) {
        for (let p = 0; p < REGION_TABLE_SIZE; p += SECTOR) img.stagePage(REGION_TABLE_OFFSETS[k]! + p, rt.slice(p, p + SECTOR));
        repaired.push(`region table ${k + 1}: rewritten from the valid copy`);
      }
      // Starting a write session rewrites the non-current (bad) header slot; closing rewrites the other.
      await img.prepareMetadataChange();
      if (copies.badHeaders.length > 0) repaired.push('headers: both slots rewritten');
    }
  } finally {
    await img.close();
  }
  if (!opts.repair || problems.length === 0) return { ok: problems.length === 0, problems, repaired };
  const after = await checkVhdx(file, { repair: false });
  return { ok: after.ok, problems: [...problems, ...after.problems.map((p) => `after repair: ${p}`)], repaired };
}

/** Per-copy checks of headers and region tables, and whether a log is pending. */
async function scanWithoutOpening(file: string, problems: string[], copies: { badHeaders: number[]; badTables: number[] }): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const { header } = await readHeaders(fh, file);
    for (let k = 0; k < 2; k++) {
      const buf = new Uint8Array(HEADER_SIZE);
      await fh.read(buf, 0, HEADER_SIZE, HEADER_OFFSETS[k]!);
      const h = parseHeader(buf);
      if (typeof h === 'string') { problems.push(`header ${k + 1}: ${h}`); copies.badHeaders.push(k); }
    }
    for (let k = 0; k < 2; k++) {
      const buf = new Uint8Array(REGION_TABLE_SIZE);
      await fh.read(buf, 0, REGION_TABLE_SIZE, REGION_TABLE_OFFSETS[k]!);
      const t = parseRegionTable(buf, file);
      if (typeof t === 'string') { problems.push(`region table ${k + 1}: ${t}`); copies.badTables.push(k); }
    }
    if (logIsPending(header)) {
      const entries = await readPendingLog(fh, file, header.logOffset, header.logLength, header.logGuid);
      if (entries.length > 0) problems.push(`log: ${entries.length} pending entr${entries.length === 1 ? 'y' : 'ies'} not yet replayed (the image was not closed cleanly)`);
    }
  } finally {
    await fh.close();
  }
}
