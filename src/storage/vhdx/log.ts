/**
 * The VHDX metadata log (MS-VHDX 2.3): building entries of whole 4 KiB pages, and finding and
 * replaying the active sequence of a log left behind by a crash.
 *
 * Writing: every transaction is one entry at the start of the log whose tail points at itself, so the
 * active sequence is always that single entry. An entry that was torn by a crash fails its checksum
 * and is ignored; the in-place pages it would have changed were not touched yet, because pages are
 * written in place only after the entry is durable.
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError } from '../../common/errors.js';
import { crc32c, crc32cWithZeroField } from './crc32c.js';
import { guidEquals, type Guid } from './guid.js';
import { bytesEqual, KiB, MiB, REGION_TABLE_OFFSETS, setU64, u64 } from './layout.js';

export const SECTOR = 4 * KiB;
/** The largest log this driver reads into memory when looking for a pending transaction. */
export const MAX_LOG_LENGTH = 64 * MiB;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const ENTRY_SIG = enc('loge');
const DATA_DESC_SIG = enc('desc');
const ZERO_DESC_SIG = enc('zero');
const DATA_SIG = enc('data');

/** One 4 KiB-aligned page of metadata to be written at `offset` in the file. */
export interface Page {
  offset: number;
  data: Uint8Array;
}

export interface ZeroRange {
  offset: number;
  length: number;
}

export interface LogEntry {
  offset: number;
  length: number;
  tail: number;
  sequenceNumber: number;
  flushedFileOffset: number;
  lastFileOffset: number;
  pages: Page[];
  zeros: ZeroRange[];
}

function descriptorSectors(count: number): number {
  return Math.ceil((64 + 32 * count) / SECTOR);
}

/** How many data pages one entry can carry in a log of `logLength` bytes. */
export function maxPagesPerEntry(logLength: number): number {
  let n = Math.floor(logLength / SECTOR) - 1;
  while (n > 0 && (descriptorSectors(n) + n) * SECTOR > logLength) n--;
  return n;
}

/** `tail` is the log offset of the oldest entry still needed; this driver always writes entries at 0 with tail 0. */
export function buildEntry(seq: number, logGuid: Guid, pages: Page[], flushedFileOffset: number, lastFileOffset: number, tail = 0): Uint8Array {
  const ds = descriptorSectors(pages.length);
  const entry = new Uint8Array((ds + pages.length) * SECTOR);
  const dv = new DataView(entry.buffer);
  entry.set(ENTRY_SIG, 0);
  dv.setUint32(8, entry.length, true);
  dv.setUint32(12, tail, true);
  setU64(dv, 16, seq);
  dv.setUint32(24, pages.length, true);
  entry.set(logGuid, 32);
  setU64(dv, 48, flushedFileOffset);
  setU64(dv, 56, lastFileOffset);
  const seqLo = seq % 0x100000000, seqHi = Math.floor(seq / 0x100000000);
  pages.forEach((p, i) => {
    const d = 64 + i * 32;
    entry.set(DATA_DESC_SIG, d);
    entry.set(p.data.subarray(4092, 4096), d + 4);
    entry.set(p.data.subarray(0, 8), d + 8);
    setU64(dv, d + 16, p.offset);
    setU64(dv, d + 24, seq);
    const s = (ds + i) * SECTOR;
    entry.set(DATA_SIG, s);
    dv.setUint32(s + 4, seqHi, true);
    entry.set(p.data.subarray(8, 4092), s + 8);
    dv.setUint32(s + 4092, seqLo, true);
  });
  dv.setUint32(4, crc32c(entry), true);
  return entry;
}

export interface LogScanContext {
  file: string;
  log: Uint8Array;
  logGuid: Guid;
  logOffset: number;
  logLength: number;
}

/** Copies `len` bytes starting at `off` in the circular log. */
function circular(log: Uint8Array, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let done = 0; done < len;) {
    const at = (off + done) % log.length;
    const n = Math.min(len - done, log.length - at);
    out.set(log.subarray(at, at + n), done);
    done += n;
  }
  return out;
}

/** Parses the entry at `off`; undefined when it is not a complete entry of this log (torn, stale, foreign). */
function parseEntry(ctx: LogScanContext, off: number): LogEntry | undefined {
  const { log, file } = ctx;
  if (!bytesEqual(log, off, ENTRY_SIG)) return undefined;
  const hdv = new DataView(log.buffer, log.byteOffset + off, 64);
  const length = hdv.getUint32(8, true);
  if (length < SECTOR || length % SECTOR !== 0 || length > log.length) return undefined;
  const entry = circular(log, off, length);
  const dv = new DataView(entry.buffer);
  if (dv.getUint32(4, true) !== crc32cWithZeroField(entry, 4)) return undefined;
  if (!guidEquals(entry, 32, ctx.logGuid)) return undefined;
  const seq = u64(dv, 16);
  const bad = (msg: string): FormatError => new FormatError(file, `log entry ${seq} at log offset ${off}: ${msg}`);
  const tail = dv.getUint32(12, true);
  if (tail % SECTOR !== 0 || tail >= log.length) throw bad(`tail ${tail} is not a sector inside the ${log.length}-byte log`);
  const count = dv.getUint32(24, true);
  const ds = descriptorSectors(count);
  if (count > length / 32 || ds * SECTOR > length) throw bad(`${count} descriptors do not fit the ${length}-byte entry`);
  const flushedFileOffset = u64(dv, 48), lastFileOffset = u64(dv, 56);
  if (!Number.isFinite(lastFileOffset) || !Number.isFinite(flushedFileOffset)) throw bad('flushed/last file offset is absurdly large');
  const pages: Page[] = [], zeros: ZeroRange[] = [];
  let dataSector = ds;
  const checkTarget = (i: number, at: number, len: number): void => {
    if (at % SECTOR !== 0 || len % SECTOR !== 0) throw bad(`descriptor ${i} targets offset ${at} length ${len}, not 4 KiB aligned`);
    // The log may rewrite region tables and everything above them, never the identifier or headers.
    if (at < REGION_TABLE_OFFSETS[0]) throw bad(`descriptor ${i} would overwrite the file identifier or headers (offset ${at})`);
    if (at < ctx.logOffset + ctx.logLength && at + len > ctx.logOffset) throw bad(`descriptor ${i} would overwrite the log itself (offset ${at})`);
    if (at + len > Math.max(lastFileOffset, flushedFileOffset)) throw bad(`descriptor ${i} writes past the entry's last file offset ${lastFileOffset}`);
  };
  for (let i = 0; i < count; i++) {
    const d = 64 + i * 32;
    if (u64(dv, d + 24) !== seq) throw bad(`descriptor ${i} has sequence number ${u64(dv, d + 24)}, expected ${seq}`);
    if (bytesEqual(entry, d, ZERO_DESC_SIG)) {
      const z = { length: u64(dv, d + 8), offset: u64(dv, d + 16) };
      checkTarget(i, z.offset, z.length);
      zeros.push(z);
    } else if (bytesEqual(entry, d, DATA_DESC_SIG)) {
      if ((dataSector + 1) * SECTOR > length) throw bad(`descriptor ${i} has no data sector inside the entry`);
      const s = dataSector * SECTOR;
      if (!bytesEqual(entry, s, DATA_SIG)) throw bad(`data sector ${dataSector} has a bad signature (expected "data")`);
      const sHi = dv.getUint32(s + 4, true), sLo = dv.getUint32(s + 4092, true);
      if (sHi * 0x100000000 + sLo !== seq) throw bad(`data sector ${dataSector} has sequence number ${sHi * 0x100000000 + sLo}, expected ${seq}`);
      const data = new Uint8Array(SECTOR);
      data.set(entry.subarray(d + 8, d + 16), 0);
      data.set(entry.subarray(s + 8, s + 4092), 8);
      data.set(entry.subarray(d + 4, d + 8), 4092);
      const offset = u64(dv, d + 16);
      checkTarget(i, offset, SECTOR);
      pages.push({ offset, data });
      dataSector++;
    } else {
      throw bad(`descriptor ${i} has an unknown signature`);
    }
  }
  return { offset: off, length, tail, sequenceNumber: seq, flushedFileOffset, lastFileOffset, pages, zeros };
}

/**
 * Finds the active sequence: the chain of entries with consecutive sequence numbers that runs from
 * the tail named by its newest entry to that entry. Returns it oldest first, or [] when there is none.
 */
export function findActiveSequence(ctx: LogScanContext): LogEntry[] {
  const entries = new Map<number, LogEntry>();
  for (let off = 0; off < ctx.log.length; off += SECTOR) {
    const e = parseEntry(ctx, off);
    if (e !== undefined) entries.set(off, e);
  }
  let best: LogEntry[] = [];
  for (const head of entries.values()) {
    if (best.length > 0 && best[best.length - 1]!.sequenceNumber >= head.sequenceNumber) continue;
    const chain: LogEntry[] = [];
    let cur = entries.get(head.tail);
    while (cur !== undefined && chain.length <= entries.size) {
      if (chain.length > 0 && cur.sequenceNumber !== chain[chain.length - 1]!.sequenceNumber + 1) break;
      chain.push(cur);
      if (cur === head) { best = chain; break; }
      cur = entries.get((cur.offset + cur.length) % ctx.log.length);
    }
  }
  return best;
}

/** Reads the log region and returns its active sequence (empty when nothing is pending). */
export async function readPendingLog(fh: FileHandle, file: string, logOffset: number, logLength: number, logGuid: Guid): Promise<LogEntry[]> {
  if (logLength > MAX_LOG_LENGTH) throw new FormatError(file, `log: length ${logLength} exceeds the ${MAX_LOG_LENGTH}-byte limit of this driver`);
  const log = new Uint8Array(logLength);
  const { bytesRead } = await fh.read(log, 0, logLength, logOffset);
  if (bytesRead < logLength) throw new FormatError(file, `log: region at ${logOffset} (${logLength} bytes) is past the end of the file`);
  const seq = findActiveSequence({ file, log, logGuid, logOffset, logLength });
  const size = (await fh.stat()).size;
  for (const e of seq) {
    if (e.flushedFileOffset > size) {
      throw new FormatError(file, `log entry ${e.sequenceNumber}: the file is ${size} bytes but the log says ${e.flushedFileOffset} bytes were flushed (file truncated?)`);
    }
  }
  return seq;
}

/** Applies entries in place (oldest first) and makes them durable. */
export async function applyEntries(fh: FileHandle, entries: LogEntry[]): Promise<void> {
  const zero = new Uint8Array(MiB);
  for (const e of entries) {
    for (const p of e.pages) await writeFully(fh, p.data, p.offset);
    for (const z of e.zeros) {
      const size = (await fh.stat()).size;
      const inFile = Math.max(0, Math.min(z.offset + z.length, size) - z.offset);
      for (let done = 0; done < inFile; done += zero.length) {
        await writeFully(fh, zero.subarray(0, Math.min(zero.length, inFile - done)), z.offset + done);
      }
      if (z.offset + z.length > size) await fh.truncate(z.offset + z.length);
    }
    const size = (await fh.stat()).size;
    if (size < e.lastFileOffset) await fh.truncate(e.lastFileOffset);
  }
  await fh.sync();
}

export async function writeFully(fh: FileHandle, buf: Uint8Array, pos: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, pos + done);
    done += bytesWritten;
  }
}
