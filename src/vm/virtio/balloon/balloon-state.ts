/**
 * virtio-balloon's saved state: the target and actual sizes, the inflated pages as runs, the held
 * stats buffer and the latest report. Restore checks everything (runs inside RAM, a stats head
 * inside the queue) before the device changes.
 */
import { expectState, SavedStateError, stateNumber, type SavedState } from '../../../common/saved-state.js';
import { stateInt } from '../../devices/state-fields.js';
import { statsFromLists, statsToLists, type BalloonStats } from './balloon-stats.js';
import { STATS_QUEUE } from './balloon-config.js';
import type { VirtioBalloon } from './virtio-balloon.js';

const ID = 'vm.virtio.balloon';
const U32 = 0xffffffff;

export function saveBalloon(b: VirtioBalloon): SavedState {
  const s = b.stats === undefined ? null : statsToLists(b.stats);
  return {
    id: ID, version: 1, data: {
      targetPages: b.targetPages, actualPages: b.actualPages, inflatedRuns: b.inflated.runs(),
      statsHead: b.statsHead, statsReports: b.statsReports,
      stats: s === null ? null : { tags: s.tags, values: s.values, unknownTags: s.unknown },
    },
  };
}

/** Checks the record against `b`; the returned function applies it and returns the stats head to re-take (or -1). */
export function restoreBalloon(b: VirtioBalloon, state: SavedState): () => number {
  const d = expectState(state, ID, 1);
  const target = stateInt(ID, d, 'targetPages', 0, U32);
  const actual = stateInt(ID, d, 'actualPages', 0, U32);
  const runs = d['inflatedRuns'];
  if (!(runs instanceof Float64Array)) throw new SavedStateError(ID, "field 'inflatedRuns' must be a list of numbers");
  const bad = b.inflated.checkRuns(runs);
  if (bad !== undefined) throw new SavedStateError(ID, `field 'inflatedRuns': ${bad}`);
  const statsQueue = b.queueMaxSizes[STATS_QUEUE];
  const head = stateInt(ID, d, 'statsHead', -1, statsQueue === undefined ? -1 : statsQueue - 1);
  const reports = stateNumber(ID, d, 'statsReports');
  if (!Number.isInteger(reports) || reports < 0) throw new SavedStateError(ID, "field 'statsReports' must be a count");
  let stats: BalloonStats | undefined;
  const s = d['stats'];
  if (s !== null) {
    if (typeof s !== 'object' || Array.isArray(s) || ArrayBuffer.isView(s)) throw new SavedStateError(ID, "field 'stats' must be a record or null");
    const tags = s['tags'], values = s['values'], unknown = s['unknownTags'];
    stats = tags instanceof Uint32Array && values instanceof Float64Array && typeof unknown === 'number' && Number.isInteger(unknown) && unknown >= 0
      ? statsFromLists(tags, values, unknown) : undefined;
    if (stats === undefined) throw new SavedStateError(ID, "field 'stats' must hold matching known tags and non-negative values");
  }
  return () => {
    b.targetPages = target;
    b.actualPages = actual;
    b.inflated.load(runs);
    b.stats = stats;
    b.statsReports = reports;
    return head;
  };
}
