/**
 * The bzImage payload: Debian's real kernel decompressed by our XZ decoder and compared with the
 * host's `xz -dc` of the same bytes, then synthetic bzImages for each compression and each way
 * the header or payload can be wrong.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { extractBzImagePayload, identifyCompression, locatePayload } from '../../../src/vm/boot/bzimage-payload.js';
import { decodeXz } from '../../../src/common/compression/xz/decode-xz.js';
import { parseElf, EM_X86_64 } from '../../../src/vm/boot/elf.js';
import { pvhEntryPoint } from '../../../src/vm/boot/pvh.js';
import { ensureDebianGuest } from '../../../src/images/debian-guest.js';
import { xz } from '../../common/compression/xz-host.js';
import { buildElf, pvhNote } from './elf-builder.js';

test("Debian's XZ payload decodes exactly as xz -dc does, to a PVH-capable vmlinux", (t) => {
  const image = new Uint8Array(readFileSync(ensureDebianGuest().kernel));
  const { offset, length } = locatePayload('vmlinuz', image);
  const payload = image.subarray(offset, offset + length);
  assert.equal(identifyCompression(payload), 'xz');

  const t0 = process.hrtime.bigint();
  const peer = spawnSync('xz', ['-dc', '--single-stream'], { input: payload, maxBuffer: 1 << 30 });
  const peerSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.equal(peer.status, 0, `xz -dc: ${peer.stderr?.toString()}`);
  const t1 = process.hrtime.bigint();
  const p = extractBzImagePayload('vmlinuz', image);
  const ourSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  t.diagnostic(`${length} -> ${p.elf.length} bytes: ours ${ourSeconds.toFixed(2)} s, xz ${peerSeconds.toFixed(2)} s (wall clock, informational)`);
  assert.equal(p.compression, 'xz');
  assert.equal(p.elf.length, peer.stdout.length);
  assert.ok(peer.stdout.equals(p.elf), 'decoded payload equals xz -dc output');
  const elf = parseElf('vmlinux', p.elf);
  assert.equal(elf.machine, EM_X86_64);
  const entry = pvhEntryPoint('vmlinux', elf);
  assert.ok(entry !== undefined && elf.loads.some((s) => entry >= s.paddr && entry < s.paddr + s.filesz), 'PVH entry inside a segment');
});

/** A minimal bzImage: 7 setup sectors after the boot sector, payload behind 0x40 bytes of other code. */
function bzImage(payload: Uint8Array, version = 0x20f): Uint8Array {
  const img = new Uint8Array(8 * 512 + 0x40 + payload.length);
  const v = new DataView(img.buffer);
  img[0x1f1] = 7;
  v.setUint16(0x1fe, 0xaa55, true);
  v.setUint32(0x202, 0x53726448, true);
  v.setUint16(0x206, version, true);
  v.setUint32(0x248, 0x40, true);
  v.setUint32(0x24c, payload.length, true);
  img.set(payload, 8 * 512 + 0x40);
  return img;
}

const withSize = (data: Uint8Array, size: number): Uint8Array => {
  const out = new Uint8Array(data.length + 4);
  out.set(data);
  new DataView(out.buffer).setUint32(data.length, size, true);
  return out;
};

test('synthetic bzImages: xz, lzma and gzip payloads, and every way they can be wrong', () => {
  const vmlinux = buildElf({ bits: 64, segments: [{ paddr: 0x1000000, data: new Uint8Array(20000).map((_, i) => (i * 7) & 0xff) }], notes: [pvhNote(0x1000000)] });
  const cases: [string, Uint8Array][] = [
    ['xz', withSize(xz(['-c', '--check=crc32', '--x86', '--lzma2'], vmlinux), vmlinux.length)],
    ['lzma', withSize(xz(['-c', '--format=lzma'], vmlinux), vmlinux.length)],
    ['gzip', gzipSync(vmlinux)],
  ];
  for (const [kind, payload] of cases) {
    const p = extractBzImagePayload('bz', bzImage(payload));
    assert.equal(p.compression, kind);
    assert.equal(p.offset, 8 * 512 + 0x40);
    assert.ok(Buffer.from(vmlinux).equals(p.elf), `${kind} payload`);
  }
  const xzPayload = cases[0]![1];
  assert.equal(decodeXz(xzPayload, { singleStream: true }).consumed, xzPayload.length - 4, 'the stream ends where the appended size begins');
  assert.throws(() => extractBzImagePayload('bz', bzImage(withSize(xzPayload.subarray(0, -4), 999))), /decompresses to \d+ bytes, but the image records 999/);
  assert.throws(() => extractBzImagePayload('bz', bzImage(withSize(xzPayload.subarray(0, -4), 2 ** 31))), /uncompressed size of 2147483648 bytes, above the limit/);
  assert.throws(() => extractBzImagePayload('bz', bzImage(xzPayload), { maxOutput: 1000 }), /above the limit of 1000/);
  const corrupt = xzPayload.slice();
  corrupt[100] ^= 0x20;
  assert.throws(() => extractBzImagePayload('bz', bzImage(corrupt)), /bz \(kernel payload\): /);
  assert.throws(() => extractBzImagePayload('bz', bzImage(gzipSync(vmlinux).subarray(0, 200))), /gzip data is corrupt/);
  assert.throws(() => extractBzImagePayload('bz', bzImage(withSize(xz(['-c'], new Uint8Array(100).fill(1)), 100))), /not an ELF image/);
  const zstd = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]);
  assert.throws(() => extractBzImagePayload('bz', bzImage(zstd)), /compressed with zstd, which Viridian cannot decompress on the host/);
  assert.throws(() => extractBzImagePayload('bz', bzImage(new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0]))), /compression not recognised \(starts aa bb cc dd ee ff\)/);
  assert.throws(() => extractBzImagePayload('bz', bzImage(xzPayload, 0x206)), /boot protocol 2.6 does not describe its payload/);
  const outside = bzImage(xzPayload);
  new DataView(outside.buffer).setUint32(0x24c, xzPayload.length + 1, true);
  assert.throws(() => extractBzImagePayload('bz', outside), /point outside the \d+-byte image/);
  assert.throws(() => extractBzImagePayload('bz', new Uint8Array(0x300)), /not a Linux bzImage/);
});
