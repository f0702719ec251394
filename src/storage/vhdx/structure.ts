/**
 * Loads and validates the on-disk structure of a VHDX file: identifier, current header, region
 * table, metadata and BAT. Every offset and size from the file is checked against the file and the
 * other regions before it is used, so a hostile file yields a FormatError naming the structure.
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';
import { batGeometry, BatTable, isBitmapIndex, PAYLOAD_FULLY_PRESENT, PAYLOAD_PARTIALLY_PRESENT, SB_PRESENT, type BatGeometry } from './bat.js';
import { isZeroGuid } from './guid.js';
import {
  bytesEqual, FILE_SIGNATURE, HEADER_OFFSETS, HEADER_SECTION_END, HEADER_SIZE, MiB, parseHeader, parseRegionTable,
  REGION_TABLE_OFFSETS, REGION_TABLE_SIZE, type Region, type RegionTable, type VhdxHeader,
} from './layout.js';
import { parseMetadata, type VhdxMetadata } from './metadata.js';

/** The largest metadata region this driver reads (the spec's items need a few KiB). */
const MAX_METADATA_REGION = 16 * MiB;

export interface VhdxStructure {
  header: VhdxHeader;
  /** Which header slot (0 or 1) holds the current header. */
  headerSlot: number;
  regions: RegionTable;
  meta: VhdxMetadata;
  geometry: BatGeometry;
  bat: BatTable;
  fileSize: number;
}

async function readAt(fh: FileHandle, file: string, pos: number, len: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) throw new FormatError(file, `${what} at offset ${pos} (${len} bytes) is past the end of the file (file truncated?)`);
    done += bytesRead;
  }
  return buf;
}

export async function readHeaders(fh: FileHandle, file: string): Promise<{ header: VhdxHeader; slot: number; fileSize: number }> {
  const fileSize = (await fh.stat()).size;
  const ident = await readAt(fh, file, 0, 8, 'file type identifier');
  if (!bytesEqual(ident, 0, FILE_SIGNATURE)) throw new FormatError(file, 'file type identifier: bad signature (expected "vhdxfile"); not a VHDX file');
  const parsed: (VhdxHeader | string)[] = [];
  for (const off of HEADER_OFFSETS) parsed.push(parseHeader(await readAt(fh, file, off, HEADER_SIZE, 'header')));
  const [a, b] = parsed as [VhdxHeader | string, VhdxHeader | string];
  if (typeof a === 'string' && typeof b === 'string') throw new FormatError(file, `both headers are invalid: header 1 ${a}; header 2 ${b}`);
  const slot = typeof a === 'string' ? 1 : typeof b === 'string' ? 0 : a.sequenceNumber >= b.sequenceNumber ? 0 : 1;
  const header = parsed[slot] as VhdxHeader;
  const { logOffset, logLength } = header;
  if (logLength === 0 || logLength % MiB !== 0 || logOffset % MiB !== 0 || logOffset < HEADER_SECTION_END) {
    throw new FormatError(file, `header: log at offset ${logOffset} length ${logLength} is not 1 MiB aligned above the header section`);
  }
  if (logOffset + logLength > fileSize) throw new FormatError(file, `header: log at offset ${logOffset} length ${logLength} lies past the end of the ${fileSize}-byte file`);
  return { header, slot, fileSize };
}

function checkRegion(file: string, name: string, r: Region, fileSize: number, others: [string, Region][]): void {
  if (r.offset % MiB !== 0 || r.length % MiB !== 0 || r.length === 0 || r.offset < HEADER_SECTION_END) {
    throw new FormatError(file, `region table: ${name} region at offset ${r.offset} length ${r.length} is not 1 MiB aligned above the header section`);
  }
  if (r.offset + r.length > fileSize) throw new FormatError(file, `region table: ${name} region at offset ${r.offset} length ${r.length} lies past the end of the ${fileSize}-byte file`);
  for (const [other, o] of others) {
    if (r.offset < o.offset + o.length && o.offset < r.offset + r.length) throw new FormatError(file, `region table: ${name} region overlaps the ${other}`);
  }
}

/**
 * Loads everything after the headers. `problems`, when given, collects BAT entry faults instead of
 * throwing and clears those entries in memory (used by check/repair).
 */
export async function readStructure(fh: FileHandle, file: string, header: VhdxHeader, headerSlot: number, problems?: string[]): Promise<VhdxStructure> {
  const fileSize = (await fh.stat()).size;
  let regions: RegionTable | undefined;
  const reasons: string[] = [];
  for (const off of REGION_TABLE_OFFSETS) {
    const t = parseRegionTable(await readAt(fh, file, off, REGION_TABLE_SIZE, 'region table'), file);
    if (typeof t === 'string') reasons.push(t);
    else { regions = t; break; }
  }
  if (regions === undefined) throw new FormatError(file, `both region tables are invalid: ${reasons.join('; ')}`);
  const log: Region = { offset: header.logOffset, length: header.logLength };
  checkRegion(file, 'metadata', regions.metadata, fileSize, [['log', log]]);
  checkRegion(file, 'BAT', regions.bat, fileSize, [['log', log], ['metadata region', regions.metadata]]);
  if (regions.metadata.length > MAX_METADATA_REGION) throw new FormatError(file, `region table: metadata region length ${regions.metadata.length} exceeds ${MAX_METADATA_REGION} bytes`);
  const meta = parseMetadata(await readAt(fh, file, regions.metadata.offset, regions.metadata.length, 'metadata region'), file);
  const geometry = batGeometry(meta.virtualSize, meta.blockSize, meta.logicalSectorSize, meta.hasParent);
  if (geometry.totalEntries * 8 > regions.bat.length) {
    throw new FormatError(file, `BAT: region of ${regions.bat.length} bytes is too small for the ${geometry.totalEntries} entries a ${meta.virtualSize}-byte disk needs`);
  }
  // Decoded a MiB at a time: the raw table is never held whole next to the decoded one.
  const bat = BatTable.empty(geometry.totalEntries);
  for (let first = 0; first < geometry.totalEntries; first += MiB / 8) {
    const n = Math.min(MiB / 8, geometry.totalEntries - first);
    bat.decode(await readAt(fh, file, regions.bat.offset + first * 8, n * 8, 'BAT'), first);
  }
  validateBat(file, bat, geometry, meta, fileSize, [log, regions.metadata, regions.bat], problems);
  return { header, headerSlot, regions, meta, geometry, bat, fileSize };
}

function validateBat(file: string, bat: BatTable, g: BatGeometry, meta: VhdxMetadata, fileSize: number, reserved: Region[], problems?: string[]): void {
  const spans: { start: number; end: number; index: number }[] = [];
  const fault = (i: number, msg: string): void => {
    const text = `BAT entry ${i}: ${msg}`;
    if (problems === undefined) throw new FormatError(file, text);
    problems.push(text);
    bat.state[i] = 0;
    bat.offsetMiB[i] = 0;
  };
  for (let i = 0; i < bat.state.length; i++) {
    const st = bat.state[i]!;
    const bitmap = isBitmapIndex(i, g.chunkRatio);
    let len = 0;
    if (bitmap) {
      if (st === SB_PRESENT) len = MiB;
      else if (st !== 0) { fault(i, `sector bitmap state ${st} is not defined`); continue; }
    } else if (st === PAYLOAD_FULLY_PRESENT || st === PAYLOAD_PARTIALLY_PRESENT) {
      if (st === PAYLOAD_PARTIALLY_PRESENT && !meta.hasParent) { fault(i, 'partially present block in an image without a parent'); continue; }
      len = meta.blockSize;
    } else if (st === 4 || st === 5) { fault(i, `payload state ${st} is not defined`); continue; }
    if (len === 0) continue;
    const start = bat.offsetMiB[i]! * MiB;
    if (start < HEADER_SECTION_END) { fault(i, `points into the header section (offset ${start})`); continue; }
    if (start + len > fileSize) { fault(i, `block at offset ${start} length ${len} lies past the end of the ${fileSize}-byte file`); continue; }
    const hit = reserved.find((r) => start < r.offset + r.length && r.offset < start + len);
    if (hit !== undefined) { fault(i, `block at offset ${start} overlaps the ${hit === reserved[0] ? 'log' : hit === reserved[1] ? 'metadata region' : 'BAT region'}`); continue; }
    spans.push({ start, end: start + len, index: i });
  }
  spans.sort((x, y) => x.start - y.start);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k]!.start < spans[k - 1]!.end) fault(spans[k]!.index, `block at offset ${spans[k]!.start} overlaps the block of BAT entry ${spans[k - 1]!.index}`);
  }
}

export function logIsPending(h: VhdxHeader): boolean {
  return !isZeroGuid(h.logGuid);
}
