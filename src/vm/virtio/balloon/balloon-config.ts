/** virtio-balloon numbers (virtio 1.2, 5.5): feature bits, queues, configuration space, limits. */

export const BALLOON_F_MUST_TELL_HOST = 0;
export const BALLOON_F_STATS_VQ = 1;
export const BALLOON_F_DEFLATE_ON_OOM = 2;
export const INFLATE_QUEUE = 0;
export const DEFLATE_QUEUE = 1;
export const STATS_QUEUE = 2;
/** Configuration space: num_pages, actual (free page hinting and poisoning are not offered). */
export const BALLOON_CONFIG_SIZE = 8;
/** PFNs taken from one request; Linux sends at most 256, the rest of a longer one is ignored. */
export const MAX_PFNS_PER_REQUEST = 1 << 16;
