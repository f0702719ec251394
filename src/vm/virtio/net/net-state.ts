/**
 * The receive filter's saved state (part of virtio-net's record): active MAC, modes, both MAC
 * tables and a pending announce. Restore checks every field before anything changes and returns
 * the change to apply.
 */
import { SavedStateError, stateBool, stateBytes, type StateValue } from '../../../common/saved-state.js';
import { MAC_BYTES } from '../../net/mac-address.js';
import { MAC_TABLE_ENTRIES, type MacTable, type RxFilter } from './net-control.js';

type Data = { [key: string]: StateValue };

export function saveFilter(f: RxFilter): Data {
  return {
    mac: f.mac.slice(), promisc: f.promisc, allmulti: f.allmulti, announcePending: f.announcePending,
    unicast: f.unicast.bytes.slice(0, f.unicast.count * MAC_BYTES), unicastOverflow: f.unicast.overflow,
    multicast: f.multicast.bytes.slice(0, f.multicast.count * MAC_BYTES), multicastOverflow: f.multicast.overflow,
  };
}

function table(id: string, d: Data, field: string): Uint8Array {
  const b = stateBytes(id, d, field);
  if (b.length % MAC_BYTES !== 0 || b.length > MAC_TABLE_ENTRIES * MAC_BYTES) {
    throw new SavedStateError(id, `field '${field}' must hold at most ${MAC_TABLE_ENTRIES} six-byte addresses, not ${b.length} bytes`);
  }
  return b;
}

function load(t: MacTable, bytes: Uint8Array, overflow: boolean): void {
  t.bytes.set(bytes);
  t.count = bytes.length / MAC_BYTES;
  t.overflow = overflow;
}

/** Validates the filter fields of record `d`; the returned function applies them. */
export function restoreFilter(id: string, d: Data): (f: RxFilter) => void {
  const v = d['filter'];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) throw new SavedStateError(id, "field 'filter' must be a record");
  const r = v as Data;
  const mac = stateBytes(id, r, 'mac', MAC_BYTES);
  if ((mac[0]! & 1) !== 0) throw new SavedStateError(id, "field 'filter.mac' is a multicast address");
  const promisc = stateBool(id, r, 'promisc'), allmulti = stateBool(id, r, 'allmulti'), announce = stateBool(id, r, 'announcePending');
  const uc = table(id, r, 'unicast'), ucOver = stateBool(id, r, 'unicastOverflow');
  const mc = table(id, r, 'multicast'), mcOver = stateBool(id, r, 'multicastOverflow');
  return (f) => {
    f.mac.set(mac);
    f.promisc = promisc;
    f.allmulti = allmulti;
    f.announcePending = announce;
    load(f.unicast, uc, ucOver);
    load(f.multicast, mc, mcOver);
  };
}
