/**
 * Finding the active log sequence in logs other writers leave: several entries, one wrapping past the
 * end of the circular log, stale entries from an older pass, and a torn newest entry.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../../src/common/errors.js';
import { crc32c } from '../../../src/storage/vhdx/crc32c.js';
import { parseGuid } from '../../../src/storage/vhdx/guid.js';
import { buildEntry, findActiveSequence, maxPagesPerEntry, type LogScanContext } from '../../../src/storage/vhdx/log.js';
import { pattern } from './fixtures.js';

const KiB = 1024, MiB = 1024 * KiB;
const GUID = parseGuid('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
const LOG_LENGTH = 64 * KiB;

function place(log: Uint8Array, at: number, entry: Uint8Array): void {
  for (let i = 0; i < entry.length; i++) log[(at + i) % log.length] = entry[i]!;
}
const page = (seed: number): Uint8Array => pattern(seed, 4096);
const ctx = (log: Uint8Array): LogScanContext => ({ file: 'test.vhdx', log, logGuid: GUID, logOffset: MiB, logLength: log.length });

test('the active sequence runs from the newest entry\'s tail, across the wrap, oldest first', () => {
  const log = new Uint8Array(LOG_LENGTH);
  // A stale entry of an older pass (lower sequence, its own tail) sits at 24 KiB.
  place(log, 24 * KiB, buildEntry(3, GUID, [{ offset: 4 * MiB, data: page(1) }], 8 * MiB, 8 * MiB, 24 * KiB));
  // Active: 10 at 44 KiB (3 sectors), 11 at 56 KiB (3 sectors, wraps to 0..4 KiB), 12 after it; tails name 44 KiB.
  const e10 = buildEntry(10, GUID, [{ offset: 5 * MiB, data: page(2) }, { offset: 5 * MiB + 4096, data: page(3) }], 8 * MiB, 8 * MiB, 44 * KiB);
  const e11 = buildEntry(11, GUID, [{ offset: 6 * MiB, data: page(4) }, { offset: 7 * MiB, data: page(5) }], 8 * MiB, 8 * MiB, 44 * KiB);
  const e12 = buildEntry(12, GUID, [{ offset: 5 * MiB, data: page(6) }], 8 * MiB, 8 * MiB, 44 * KiB);
  place(log, 44 * KiB, e10);
  place(log, 44 * KiB + e10.length, e11);
  const after11 = (44 * KiB + e10.length + e11.length) % LOG_LENGTH;
  assert.ok(44 * KiB + e10.length + e11.length > LOG_LENGTH, 'entry 11 must wrap for this test to mean anything');
  place(log, after11, e12);
  const seq = findActiveSequence(ctx(log));
  assert.deepEqual(seq.map((e) => e.sequenceNumber), [10, 11, 12]);
  assert.deepEqual(seq[1]!.pages.map((p) => p.offset), [6 * MiB, 7 * MiB]);
  assert.deepEqual(seq[1]!.pages[1]!.data, page(5));
  assert.deepEqual(seq[2]!.pages[0]!.data, page(6));

  // Tearing entry 12 leaves 10..11 active only if 11's tail closes the chain: it does (tail 44 KiB).
  log[(after11 + 4096 + 100) % LOG_LENGTH]! ^= 0xff;
  assert.deepEqual(findActiveSequence(ctx(log)).map((e) => e.sequenceNumber), [10, 11]);
});

test('entries of another log GUID and a broken chain are not replayed', () => {
  const log = new Uint8Array(LOG_LENGTH);
  const other = parseGuid('12345678-1234-4234-8234-123456789abc');
  place(log, 0, buildEntry(5, other, [{ offset: 4 * MiB, data: page(1) }], 8 * MiB, 8 * MiB));
  assert.deepEqual(findActiveSequence(ctx(log)), []);
  // An entry whose tail names a slot with no entry has no valid sequence.
  const lone = new Uint8Array(LOG_LENGTH);
  place(lone, 8 * KiB, buildEntry(9, GUID, [{ offset: 4 * MiB, data: page(1) }], 8 * MiB, 8 * MiB, 0));
  assert.deepEqual(findActiveSequence(ctx(lone)), []);
});

test('a checksum-valid entry with a bad data sector is a FormatError naming the entry', () => {
  const log = new Uint8Array(LOG_LENGTH);
  const e = buildEntry(4, GUID, [{ offset: 4 * MiB, data: page(1) }], 8 * MiB, 8 * MiB);
  e.set(new TextEncoder().encode('DATA'), 4096);
  const dv = new DataView(e.buffer);
  dv.setUint32(4, 0, true);
  // Recompute the checksum so only the structure is wrong.
  dv.setUint32(4, crc32c(e), true);
  place(log, 0, e);
  assert.throws(() => findActiveSequence(ctx(log)), (err: unknown) => err instanceof FormatError && /log entry 4 .*data sector 1 has a bad signature/.test(err.message));
});

test('an entry of the largest size still fits the log', () => {
  const n = maxPagesPerEntry(MiB);
  const pages = Array.from({ length: n }, (_, i) => ({ offset: 4 * MiB + i * 4096, data: page(i) }));
  const e = buildEntry(1, GUID, pages, 8 * MiB, 8 * MiB);
  assert.ok(e.length <= MiB);
  assert.ok(buildEntry(1, GUID, [...pages, pages[0]!], 8 * MiB, 8 * MiB).length > MiB || n === 0);
  const log = new Uint8Array(MiB);
  place(log, 0, e);
  assert.equal(findActiveSequence({ ...ctx(log), logLength: MiB }).at(0)?.pages.length, n);
});
