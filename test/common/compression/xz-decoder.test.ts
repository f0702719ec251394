/**
 * The XZ decoder against the host's xz: every check type, LZMA2 settings, block layouts, the x86
 * and delta filters, concatenated streams with padding, and the .lzma container. Output must equal
 * the original input byte for byte.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeXz } from '../../../src/common/compression/xz/decode-xz.js';
import { decodeLzmaAlone } from '../../../src/common/compression/xz/decode-lzma-alone.js';
import { xz, randomBytes, textLike, runsAndPeriods, branchDense, hostCode } from './xz-host.js';

function same(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), `${what}: bytes differ`);
}

const INPUTS: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', new Uint8Array([0x42])],
  ['random 150 KB', randomBytes(150_000, 1)],
  ['text 150 KB', textLike(150_000, 2)],
  ['runs and periods 200 KB', runsAndPeriods(200_000, 3)],
];

const OPTION_SETS: string[][] = [
  ['--check=crc32'],
  ['--check=crc64'],
  ['--check=sha256'],
  ['--check=none'],
  ['-0'],
  ['-9e', '--check=crc64'],
  ['--lzma2=dict=4KiB,lc=0,lp=0,pb=0'],
  ['--lzma2=lc=4,lp=0,pb=4'],
  ['--lzma2=lc=0,lp=4,pb=2'],
  ['--lzma2=lc=1,lp=3,pb=1,mode=fast,nice=8'],
  ['--block-size=40000'],
  ['-T2', '--block-size=30000', '--check=sha256'],
  ['--delta=dist=4', '--lzma2'],
  ['--delta=dist=256', '--lzma2=preset=1'],
];

test('decodes what xz writes, for every check type, LZMA2 setting, block layout and the delta filter', () => {
  for (const [name, input] of INPUTS) {
    for (const args of OPTION_SETS) {
      const packed = xz(['-c', ...args], input);
      const r = decodeXz(packed, { name });
      same(r.data, input, `${name} with xz ${args.join(' ')}`);
      assert.equal(r.consumed, packed.length);
      assert.equal(r.streams, 1);
    }
  }
});

test('the x86 BCJ filter undoes exactly what xz did, on real machine code and on E8/E9-dense data', () => {
  const code = hostCode(600_000);
  const dense = branchDense(200_000, 4);
  for (const [name, input] of [['node binary slice', code], ['branch-dense', dense]] as const) {
    for (const args of [['--x86', '--lzma2'], ['--x86=start=12345', '--lzma2=preset=1'], ['--x86', '--lzma2', '--block-size=100000'], ['-T2', '--x86', '--lzma2', '--block-size=70000']]) {
      const packed = xz(['-c', '--check=crc32', ...args], input);
      same(decodeXz(packed, { name }).data, input, `${name} with xz ${args.join(' ')}`);
    }
  }
  // Filter chains: delta then x86 (both undone in reverse order).
  const packed = xz(['-c', '--delta=dist=2', '--x86', '--lzma2'], dense);
  same(decodeXz(packed).data, dense, 'delta + x86 + LZMA2');
});

test('concatenated streams with stream padding; --single-stream stops after the first', () => {
  const a = textLike(50_000, 5), b = randomBytes(20_000, 6);
  const sa = xz(['-c', '--check=crc32'], a), sb = xz(['-c', '--check=sha256'], b);
  const file = new Uint8Array(sa.length + 8 + sb.length + 4);
  file.set(sa, 0);
  file.set(sb, sa.length + 8);
  const r = decodeXz(file);
  same(r.data, Buffer.concat([a, b]), 'two streams');
  assert.equal(r.streams, 2);
  const first = decodeXz(file, { singleStream: true });
  same(first.data, a, 'first stream only');
  assert.equal(first.consumed, sa.length);
  // Padding must come in multiples of four zero bytes, and only zeros or another stream may follow.
  assert.throws(() => decodeXz(Buffer.concat([sa, new Uint8Array(3)])), /stream padding .* not a multiple of 4/);
  assert.throws(() => decodeXz(Buffer.concat([sa, new Uint8Array([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])])), /bad magic bytes .* at offset/);
});

test('the .lzma container (LZMA1 with an end marker) decodes like xz --format=lzma writes it', () => {
  for (const [name, input] of INPUTS) {
    for (const args of [['--format=lzma'], ['--format=lzma', '--lzma1=preset=1,lc=0,lp=2,pb=0']]) {
      const packed = xz(['-c', ...args], input);
      const r = decodeLzmaAlone(packed, { name });
      same(r.data, input, `${name} with xz ${args.join(' ')}`);
      assert.equal(r.consumed, packed.length);
    }
  }
  // A hint smaller than the output only sizes the first allocation.
  const text = textLike(3_000_000, 7);
  same(decodeLzmaAlone(xz(['-c', '--format=lzma', '-1'], text), { sizeHint: 1000 }).data, text, 'growing output');
});

test('large inputs spanning many LZMA2 chunks and dictionary-sized distances', () => {
  const input = Buffer.concat([textLike(1_500_000, 8), hostCode(800_000, 1 << 20), textLike(1_000_000, 8)]);
  const packed = xz(['-c', '-6', '--check=crc64'], input);
  same(decodeXz(packed).data, input, '3.3 MB mixed');
});
