/**
 * The VMDK format driver: reads monolithicSparse, streamOptimized, monolithicFlat and the
 * twoGbMaxExtent variants (and differencing disks through opts.openParent); writes sparse and
 * flat extents; creates monolithicSparse and monolithicFlat; checks sparse extents.
 */
import type { FormatDriver } from '../disk-image.js';
import { checkVmdk } from './check.js';
import { createVmdk } from './create.js';
import { openVmdk } from './open.js';
import { hasSparseMagic } from './sparse-header.js';

function looksLikeDescriptor(head: Uint8Array): boolean {
  // Descriptor files are often NUL-padded to a sector: the text is what precedes the first NUL.
  let n = Math.min(head.length, 4096);
  const nul = head.subarray(0, n).indexOf(0);
  if (nul >= 0) n = nul;
  const text = Buffer.from(head.subarray(0, n)).toString('latin1');
  if (/[\x01-\x08\x0e-\x1f]/.test(text)) return false;
  if (/^\s*#\s*Disk DescriptorFile/.test(text)) return true;
  return /^\s*createType\s*=/m.test(text) && /^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(FLAT|SPARSE|ZERO|VMFS)\b/m.test(text);
}

export const vmdkDriver: FormatDriver = {
  format: 'vmdk',
  probe(head: Uint8Array): boolean {
    return hasSparseMagic(head) || looksLikeDescriptor(head);
  },
  open: openVmdk,
  create: createVmdk,
  check: checkVmdk,
};
