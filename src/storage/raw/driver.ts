/**
 * The raw format driver. Raw has no signature, so its probe accepts anything; the registry tries it
 * last. Resize changes the file length (shrinking only when asked, since raw has no allocation map).
 */
import { open, truncate, stat } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import type { CreateOptions, FormatDriver } from '../disk-image.js';
import { createAtomically } from '../io/file-io.js';
import { RawImage } from './raw-image.js';

export const rawDriver: FormatDriver = {
  format: 'raw',
  probe(): boolean {
    return true;
  },
  open: (file, opts) => RawImage.open(file, opts),
  async create(file: string, opts: CreateOptions): Promise<void> {
    if (opts.type === 'differencing') throw new UserError('raw images cannot be differencing; use --format vhd or vhdx');
    if (opts.size % 512 !== 0) throw new UserError(`--size ${opts.size} is not a multiple of 512 bytes`);
    await createAtomically(file, async (fh) => {
      await fh.truncate(opts.size);
    });
  },
  async resize(file: string, newSize: number, opts: { allowShrink: boolean }): Promise<void> {
    if (newSize % 512 !== 0) throw new UserError(`--size ${newSize} is not a multiple of 512 bytes`);
    const st = await stat(file);
    if (newSize < st.size && !opts.allowShrink) {
      throw new UserError(`${file}: shrinking from ${st.size} to ${newSize} bytes discards data; pass --allow-shrink`);
    }
    if (newSize < st.size) {
      // Raw has no allocation map: the tail must read as zeros for a shrink to lose nothing.
      const fh = await open(file, 'r');
      try {
        const buf = new Uint8Array(1 << 20);
        for (let pos = newSize; pos < st.size; pos += buf.length) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, st.size - pos), pos);
          for (let i = 0; i < bytesRead; i++) {
            if (buf[i] !== 0) throw new UserError(`${file}: the tail past ${newSize} bytes holds data (at offset ${pos + i}); refusing to shrink`);
          }
        }
      } finally {
        await fh.close();
      }
    }
    await truncate(file, newSize);
  },
};
