/**
 * Malformed XZ input: every failure is a FormatError naming what is wrong, within bounded time and
 * memory. Single-byte corruption of every position of small streams must give a FormatError or,
 * when the check still matches, exactly the original bytes; every truncation is an error.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../../src/common/errors.js';
import { decodeXz } from '../../../src/common/compression/xz/decode-xz.js';
import { decodeLzmaAlone } from '../../../src/common/compression/xz/decode-lzma-alone.js';
import { crc32 } from '../../../src/common/compression/xz/crc.js';
import { xz, randomBytes, textLike, rng } from './xz-host.js';

/** Runs `fn` and returns the FormatError it throws, failing on any other outcome. */
function formatError(fn: () => unknown, what: string): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw new Error(`${what}: expected a FormatError, got ${(e as Error).stack ?? String(e)}`);
  }
  throw new Error(`${what}: expected a FormatError, but decoding succeeded`);
}

const setU32 = (b: Uint8Array, at: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);

/** Rewrites one byte of the first block header (which starts at 12) and fixes the header's CRC32. */
function patchBlockHeader(stream: Uint8Array, offsetInHeader: number, value: number): Uint8Array {
  const s = stream.slice();
  const size = (s[12]! + 1) * 4;
  s[12 + offsetInHeader] = value;
  setU32(s, 12 + size - 4, crc32(s.subarray(12, 12 + size - 4)));
  return s;
}

test('structural errors name the problem', () => {
  const text = textLike(20_000, 11);
  const good = xz(['-c', '--check=crc32'], text);
  assert.match(formatError(() => decodeXz(new Uint8Array(0)), 'empty').message, /empty input/);
  assert.match(formatError(() => decodeXz(new Uint8Array(64)), 'zeros').message, /not XZ data \(bad magic/);
  assert.match(formatError(() => decodeXz(randomBytes(100, 1)), 'random').message, /not XZ data/);

  const badCheck = good.slice();
  badCheck[7] = 0x02; // a check ID the format reserves sizes for but this decoder cannot verify
  setU32(badCheck, 8, crc32(badCheck.subarray(6, 8)));
  assert.match(formatError(() => decodeXz(badCheck), 'check 2').message, /check ID 0x2, which this decoder cannot verify/);

  const badHeaderCrc = good.slice();
  badHeaderCrc[8] ^= 1;
  assert.match(formatError(() => decodeXz(badHeaderCrc), 'header crc').message, /stream header at offset 0: CRC32 mismatch/);

  // The LZMA2 properties byte is at offset 4 of a block header without size fields.
  assert.match(formatError(() => decodeXz(patchBlockHeader(good, 4, 41)), 'dict 41').message, /dictionary size property 41 is invalid/);
  assert.match(formatError(() => decodeXz(patchBlockHeader(good, 1, 0x04)), 'flags').message, /reserved flag bits/);
  assert.match(formatError(() => decodeXz(patchBlockHeader(good, 2, 0x22)), 'filter').message, /filter ID 0x22 is unknown/);

  const arm = xz(['-c', '--arm', '--lzma2'], text);
  assert.match(formatError(() => decodeXz(arm), 'arm').message, /ARM BCJ filter \(0x7\) is not supported/);

  const mb8 = xz(['-c', '--lzma2=dict=8MiB'], text);
  assert.match(formatError(() => decodeXz(mb8, { maxDictionary: 1 << 20 }), 'big dict').message, /dictionary of 8388608 bytes is too large \(limit 1048576\)/);

  const corruptData = good.slice();
  corruptData[40] ^= 0x55;
  assert.ok(formatError(() => decodeXz(corruptData), 'data').message.length > 0);
});

test('output and allocation are bounded by the caller, not by the input', () => {
  const zeros = new Uint8Array(8 << 20);
  const packed = xz(['-c', '-9'], zeros);
  assert.ok(packed.length < 4096);
  assert.match(formatError(() => decodeXz(packed, { maxOutput: 1 << 20 }), 'limit').message, /would exceed the limit of 1048576 bytes/);
  assert.equal(decodeXz(packed, { maxOutput: 8 << 20 }).data.length, 8 << 20);
  // A size hint larger than the limit allocates at most the limit.
  assert.equal(decodeXz(packed, { maxOutput: 9 << 20, sizeHint: 2 ** 40 }).data.length, 8 << 20);
  const lz = xz(['-c', '--format=lzma'], zeros);
  assert.match(formatError(() => decodeLzmaAlone(lz, { maxOutput: 1 << 20 }), 'lzma limit').message, /would exceed the limit/);
});

test('every truncation of a two-block stream and of an .lzma file is a FormatError', () => {
  const input = textLike(3000, 12);
  for (const packed of [xz(['-c', '--check=crc64', '--block-size=1500'], input), xz(['-c', '-T2', '--block-size=1000'], input)]) {
    for (let n = 0; n < packed.length; n++) formatError(() => decodeXz(packed.subarray(0, n)), `xz prefix ${n}`);
  }
  const lz = xz(['-c', '--format=lzma'], input);
  for (let n = 0; n < lz.length; n++) formatError(() => decodeLzmaAlone(lz.subarray(0, n)), `lzma prefix ${n}`);
});

test('every single-byte corruption gives a FormatError or, if undetectable, the original bytes', { timeout: 300_000 }, () => {
  const input = textLike(1200, 13);
  const expected = Buffer.from(input);
  const streams: [string, Uint8Array][] = [
    ['crc32', xz(['-c', '--check=crc32', '--block-size=700'], input)],
    ['crc64 + x86 + delta', xz(['-c', '--check=crc64', '--delta=dist=3', '--x86', '--lzma2=preset=0'], input)],
    ['sha256 sizes in headers', xz(['-c', '--check=sha256', '-T2', '--block-size=500'], input)],
  ];
  let errors = 0, intact = 0;
  for (const [name, packed] of streams) {
    for (let at = 0; at < packed.length; at++) {
      for (const mask of [0x01, 0x10, 0x80, 0xff]) {
        const bad = packed.slice();
        bad[at] ^= mask;
        try {
          const out = decodeXz(bad).data;
          assert.ok(expected.equals(out), `${name}: corrupting byte ${at} with ^0x${mask.toString(16)} gave wrong output without an error`);
          intact++;
        } catch (e) {
          if (!(e instanceof FormatError)) throw new Error(`${name}: byte ${at} ^0x${mask.toString(16)}: ${(e as Error).stack}`);
          errors++;
        }
      }
    }
  }
  assert.ok(errors > 0);
  // Without a check, corruption may go unnoticed, but must still end in output or a FormatError.
  const unchecked = xz(['-c', '--check=none'], input);
  for (let at = 0; at < unchecked.length; at++) {
    const bad = unchecked.slice();
    bad[at] ^= 0x5a;
    try { decodeXz(bad); } catch (e) { if (!(e instanceof FormatError)) throw e; }
  }
  void intact;
});

test('random bytes after valid headers end in a FormatError (LZMA2 chunk and LZMA range coder paths)', () => {
  const next = rng(99);
  const good = xz(['-c', '--check=crc32'], textLike(5000, 14));
  const lz = xz(['-c', '--format=lzma'], textLike(5000, 14));
  for (let k = 0; k < 300; k++) {
    const s = good.slice();
    // Keep the stream and block headers (24 bytes), scramble from somewhere in the data onwards.
    for (let i = 24 + (next() % 200); i < s.length; i++) s[i] = next() & 0xff;
    formatError(() => decodeXz(s), `scrambled xz ${k}`);
    const l = lz.slice();
    for (let i = 13 + (next() % 200); i < l.length; i++) l[i] = next() & 0xff;
    formatError(() => decodeLzmaAlone(l, { maxOutput: 1 << 20 }), `scrambled lzma ${k}`);
  }
});
