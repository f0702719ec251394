/**
 * The compressed kernel inside a Linux bzImage: the setup header (boot protocol 2.08+) locates it
 * with payload_offset (0x248) and payload_length (0x24C), relative to the protected-mode code at
 * (setup_sects + 1) * 512. Decompressed, it is the kernel's ELF `vmlinux` (with the relocation table
 * appended), which a loader can place itself and enter through PVH instead of running the kernel's
 * own decompressor in the guest (decision 007).
 *
 * Kernels append the uncompressed size (32-bit little-endian) after every format but gzip, which
 * carries its own; it sizes the output and is checked against it.
 */
import { gunzipSync } from 'node:zlib';
import { FormatError } from '../../common/errors.js';
import { decodeXz } from '../../common/compression/xz/decode-xz.js';
import { decodeLzmaAlone, looksLikeLzmaAlone } from '../../common/compression/xz/decode-lzma-alone.js';

export type PayloadCompression = 'xz' | 'gzip' | 'lzma' | 'bzip2' | 'lzo' | 'lz4' | 'zstd' | 'none';

export interface BzImagePayload {
  compression: PayloadCompression;
  /** Offset and length of the compressed payload in the bzImage. */
  offset: number;
  length: number;
  /** The decompressed payload: an ELF image. */
  elf: Uint8Array;
}

export interface PayloadOptions {
  /** Most bytes the decompressed kernel may have (default 512 MiB). */
  maxOutput?: number;
}

const DEFAULT_MAX_OUTPUT = 512 << 20;

const has = (d: Uint8Array, bytes: number[]): boolean => bytes.every((b, k) => d[k] === b);

/** Names the compression of a kernel payload by its leading bytes. */
export function identifyCompression(payload: Uint8Array): PayloadCompression | undefined {
  if (has(payload, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (has(payload, [0x1f, 0x8b])) return 'gzip';
  if (has(payload, [0x42, 0x5a, 0x68])) return 'bzip2';
  if (has(payload, [0x89, 0x4c, 0x5a, 0x4f])) return 'lzo';
  if (has(payload, [0x02, 0x21, 0x4c, 0x18])) return 'lz4';
  if (has(payload, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (has(payload, [0x7f, 0x45, 0x4c, 0x46])) return 'none';
  if (looksLikeLzmaAlone(payload)) return 'lzma';
  return undefined;
}

/** Finds the payload through the setup header; errors name the field that is wrong. */
export function locatePayload(file: string, image: Uint8Array): { offset: number; length: number } {
  if (image.length < 0x250) throw new FormatError(file, 'too short to be a Linux bzImage');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint16(0x1fe, true) !== 0xaa55 || dv.getUint32(0x202, true) !== 0x53726448) {
    throw new FormatError(file, 'not a Linux bzImage (no boot-sector signature or "HdrS" header)');
  }
  const version = dv.getUint16(0x206, true);
  if (version < 0x208) throw new FormatError(file, `boot protocol ${version >> 8}.${version & 0xff} does not describe its payload (2.08 or newer is needed)`);
  const setupSects = image[0x1f1] === 0 ? 4 : image[0x1f1]!;
  const base = (setupSects + 1) * 512;
  const offset = base + dv.getUint32(0x248, true);
  const length = dv.getUint32(0x24c, true);
  if (length === 0 || offset + length > image.length) {
    throw new FormatError(file, `payload_offset/payload_length (${offset - base}/${length}) point outside the ${image.length}-byte image`);
  }
  return { offset, length };
}

/** Locates, identifies and decompresses the kernel payload; returns the ELF bytes. */
export function extractBzImagePayload(file: string, image: Uint8Array, opts: PayloadOptions = {}): BzImagePayload {
  const { offset, length } = locatePayload(file, image);
  const payload = image.subarray(offset, offset + length);
  const limit = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const name = `${file} (kernel payload)`;
  const compression = identifyCompression(payload);
  if (compression === undefined) {
    const head = Array.from(payload.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FormatError(name, `compression not recognised (starts ${head}); supported: xz, gzip, lzma`);
  }
  const appended = length >= 4 ? new DataView(payload.buffer, payload.byteOffset + length - 4, 4).getUint32(0, true) : 0;
  const checkAppended = (elf: Uint8Array): Uint8Array => {
    if (elf.length !== appended) throw new FormatError(name, `decompresses to ${elf.length} bytes, but the image records ${appended}`);
    return elf;
  };
  let elf: Uint8Array;
  switch (compression) {
    case 'xz':
      if (appended > limit) throw new FormatError(name, `records an uncompressed size of ${appended} bytes, above the limit of ${limit}`);
      elf = checkAppended(decodeXz(payload, { name, maxOutput: limit, sizeHint: appended, singleStream: true }).data);
      break;
    case 'lzma':
      if (appended > limit) throw new FormatError(name, `records an uncompressed size of ${appended} bytes, above the limit of ${limit}`);
      elf = checkAppended(decodeLzmaAlone(payload, { name, maxOutput: limit, sizeHint: appended }).data);
      break;
    case 'gzip':
      try {
        elf = new Uint8Array(gunzipSync(payload, { maxOutputLength: limit }));
      } catch (e) {
        throw new FormatError(name, `gzip data is corrupt or larger than ${limit} bytes (${(e as Error).message})`);
      }
      break;
    case 'none':
      elf = payload;
      break;
    default:
      throw new FormatError(name, `is compressed with ${compression}, which Viridian cannot decompress on the host (supported: xz, gzip, lzma); rebuild the kernel with CONFIG_KERNEL_XZ or CONFIG_KERNEL_GZIP, or let it decompress itself (boot it as a bzImage)`);
  }
  if (!has(elf, [0x7f, 0x45, 0x4c, 0x46])) throw new FormatError(name, 'decompressed payload is not an ELF image');
  return { compression, offset, length, elf };
}
