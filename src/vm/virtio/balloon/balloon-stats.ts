/**
 * The memory statistics a balloon driver reports on the stats queue (virtio 1.2 5.5.6.3): a packed
 * array of struct virtio_balloon_stat { le16 tag; le64 val; }, 10 bytes each. Memory amounts are
 * in bytes. Tags 10..15 are newer Linux additions (6.10+: OOM kills, allocation stalls, scans and
 * reclaims); tags this table does not know are counted and skipped.
 */

export const STAT_ENTRY_BYTES = 10;
/** Entries read from one buffer (Linux sends at most 16). */
export const MAX_STAT_ENTRIES = 64;

export const BALLOON_STAT_NAMES = [
  'swapIn', 'swapOut', 'majorFaults', 'minorFaults', 'freeMemory', 'totalMemory', 'availableMemory', 'diskCaches',
  'hugetlbAllocations', 'hugetlbFailures', 'oomKills', 'allocStalls', 'asyncScans', 'directScans', 'asyncReclaims', 'directReclaims',
] as const;

export type BalloonStatName = (typeof BALLOON_STAT_NAMES)[number];

/** One report: the values the guest sent (absent ones undefined), and how many tags were unknown. */
export type BalloonStats = { [K in BalloonStatName]?: number } & { unknownTags: number };

/** Parses `count` entries from `bytes`. Values beyond 2^53 lose their low bits (they are counters and byte sizes). */
export function parseBalloonStats(bytes: Uint8Array, count: number): BalloonStats {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BalloonStats = { unknownTags: 0 };
  for (let i = 0; i < count; i++) {
    const o = i * STAT_ENTRY_BYTES;
    const tag = v.getUint16(o, true);
    const value = v.getUint32(o + 2, true) + v.getUint32(o + 6, true) * 4294967296;
    const name = BALLOON_STAT_NAMES[tag];
    if (name === undefined) out.unknownTags++;
    else out[name] = value;
  }
  return out;
}

/** Stats as two parallel lists for saved state. */
export function statsToLists(s: BalloonStats): { tags: Uint32Array; values: Float64Array; unknown: number } {
  const tags: number[] = [], values: number[] = [];
  BALLOON_STAT_NAMES.forEach((n, tag) => { const x = s[n]; if (x !== undefined) { tags.push(tag); values.push(x); } });
  return { tags: Uint32Array.from(tags), values: Float64Array.from(values), unknown: s.unknownTags };
}

/** The inverse of statsToLists; undefined when a tag is unknown or the lists disagree. */
export function statsFromLists(tags: Uint32Array, values: Float64Array, unknown: number): BalloonStats | undefined {
  if (tags.length !== values.length) return undefined;
  const out: BalloonStats = { unknownTags: unknown };
  for (let i = 0; i < tags.length; i++) {
    const name = BALLOON_STAT_NAMES[tags[i]!];
    if (name === undefined || !(values[i]! >= 0)) return undefined;
    out[name] = values[i]!;
  }
  return out;
}
