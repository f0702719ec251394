/**
 * The qcow2 format driver: reads v2 and v3 images (compressed and zero clusters, backing files
 * through opts.openParent), writes and discards (allocating clusters and keeping refcounts),
 * creates v3 images and checks refcounts.
 */
import type { FormatDriver } from '../disk-image.js';
import { checkQcow2 } from './check.js';
import { createQcow2 } from './create.js';
import { hasQcow2Magic } from './header.js';
import { openQcow2 } from './qcow2-image.js';

export const qcow2Driver: FormatDriver = {
  format: 'qcow2',
  probe(head: Uint8Array): boolean {
    return hasQcow2Magic(head);
  },
  open: openQcow2,
  create: createQcow2,
  check: checkQcow2,
};
