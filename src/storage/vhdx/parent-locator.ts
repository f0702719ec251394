/**
 * The VHDX parent locator item: a locator type GUID and UTF-16LE key/value pairs (parent_linkage,
 * relative_path, absolute_win32_path, volume_path ...), plus resolving it to a host path.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { FormatError } from '../../common/errors.js';
import { guidEquals, parseGuid } from './guid.js';

const LOCATOR_TYPE = parseGuid('B04AEFB7-D19E-4A81-B789-25B8E9445913');

function utf16(data: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode(data[off + i]! | (data[off + i + 1]! << 8));
  return s;
}

export function parseParentLocator(data: Uint8Array, file: string): Map<string, string> {
  const bad = (msg: string): FormatError => new FormatError(file, `parent locator: ${msg}`);
  if (data.length < 20) throw bad(`item is ${data.length} bytes, too short for its header`);
  if (!guidEquals(data, 0, LOCATOR_TYPE)) throw bad('unknown locator type GUID (expected the VHDX locator B04AEFB7-...)');
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  const count = dv.getUint16(18, true);
  if (20 + count * 12 > data.length) throw bad(`${count} key/value entries do not fit the ${data.length}-byte item`);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const at = 20 + i * 12;
    const ko = dv.getUint32(at, true), vo = dv.getUint32(at + 4, true);
    const kl = dv.getUint16(at + 8, true), vl = dv.getUint16(at + 10, true);
    if (ko + kl > data.length || vo + vl > data.length || kl === 0) throw bad(`entry ${i} points outside the item`);
    out.set(utf16(data, ko, kl), utf16(data, vo, vl));
  }
  if (!out.has('parent_linkage')) throw bad('the required parent_linkage key is missing');
  return out;
}

export function serializeParentLocator(entries: Map<string, string>): Uint8Array {
  const list = [...entries];
  let size = 20 + list.length * 12;
  for (const [k, v] of list) size += (k.length + v.length) * 2;
  const data = new Uint8Array(size);
  const dv = new DataView(data.buffer);
  data.set(LOCATOR_TYPE, 0);
  dv.setUint16(18, list.length, true);
  let next = 20 + list.length * 12;
  const put = (s: string): number => {
    const at = next;
    for (let i = 0; i < s.length; i++) dv.setUint16(next + i * 2, s.charCodeAt(i), true);
    next += s.length * 2;
    return at;
  };
  list.forEach(([k, v], i) => {
    const at = 20 + i * 12;
    dv.setUint32(at, put(k), true);
    dv.setUint32(at + 4, put(v), true);
    dv.setUint16(at + 8, k.length * 2, true);
    dv.setUint16(at + 10, v.length * 2, true);
  });
  return data;
}

/** Candidate host paths for the parent, most specific first. */
export function parentCandidates(locator: Map<string, string>, childFile: string): string[] {
  const out: string[] = [];
  const rel = locator.get('relative_path');
  if (rel !== undefined) out.push(resolve(dirname(childFile), rel.replace(/\\/g, '/')));
  for (const key of ['absolute_win32_path', 'volume_path']) {
    const p = locator.get(key);
    if (p !== undefined && isAbsolute(p)) out.push(p);
  }
  return out;
}
