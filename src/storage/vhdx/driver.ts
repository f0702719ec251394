/**
 * The VHDX format driver (MS-VHDX): fixed, dynamic and differencing images, 512 and 4096-byte
 * logical sectors.
 *
 * Choices worth knowing:
 * - A pending log is replayed when the image is opened read-write. Opened read-only with a pending
 *   log, the open is refused with a FormatError saying to open it read-write once (or check --repair):
 *   an in-memory replay would show data no other reader of the file sees.
 * - BAT, sector bitmap, metadata and region table changes go through the log; the headers use the
 *   spec's two alternating slots with sequence numbers instead, as every VHDX writer does.
 * - Discarding whole blocks marks them UNMAPPED (ZERO in a differencing image, so the parent does
 *   not show through); partial blocks are zero-filled. Freed file space is reclaimed by compact.
 * - Shrinking requires the dropped blocks to be unallocated, so fixed images cannot shrink.
 * - Differencing images can only be created over VHDX parents (the parent_linkage is the parent's
 *   data write GUID); opening follows opts.openParent, or opens VHDX parents itself.
 */
import type { FormatDriver } from '../disk-image.js';
import { checkVhdx } from './check.js';
import { compactVhdx } from './compact.js';
import { createVhdx } from './create.js';
import { bytesEqual, FILE_SIGNATURE } from './layout.js';
import { resizeVhdx } from './resize.js';
import { VhdxImage } from './vhdx-image.js';

export const vhdxDriver: FormatDriver = {
  format: 'vhdx',
  probe: (head) => head.length >= 8 && bytesEqual(head, 0, FILE_SIGNATURE),
  open: (file, opts) => VhdxImage.open(file, opts),
  create: createVhdx,
  resize: resizeVhdx,
  check: checkVhdx,
  compact: compactVhdx,
};
