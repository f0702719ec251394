/**
 * The VHD format driver. Dynamic and differencing disks start with a footer copy; a fixed disk has
 * its only footer at the end, so the registry also offers the last sector to `probeTail`.
 */
import type { FormatDriver } from '../disk-image.js';
import { checkVhd } from './check.js';
import { compactVhd } from './compact.js';
import { createVhd } from './create.js';
import { FOOTER_SIZE, hasFooterCookie } from './footer.js';
import { resizeVhd } from './resize.js';
import { VhdImage } from './vhd-image.js';

export const vhdDriver: FormatDriver & { probeTail(tail: Uint8Array): boolean } = {
  format: 'vhd',
  probe(head: Uint8Array): boolean {
    return hasFooterCookie(head) && head.length >= 1024 + 8 && Buffer.from(head.subarray(512, 520)).toString('latin1') === 'cxsparse';
  },
  probeTail(tail: Uint8Array): boolean {
    return tail.length === FOOTER_SIZE && hasFooterCookie(tail);
  },
  open: (file, opts) => VhdImage.open(file, opts),
  create: createVhd,
  resize: resizeVhd,
  compact: compactVhd,
  check: checkVhd,
};
