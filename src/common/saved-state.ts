/**
 * Versioned saved state. Every CPU structure and device saves itself as a plain record of numbers,
 * strings, booleans, byte/word arrays and nested records, tagged with an id and a version. The
 * records are what snapshots and live migration carry, so restore treats them as hostile input:
 * a wrong id, an unknown version or a field of the wrong type is an error naming the field.
 */
import { UserError } from './errors.js';

export type StateValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | Uint32Array
  | Float64Array
  | BigUint64Array
  | StateValue[]
  | { [key: string]: StateValue };

export interface SavedState {
  /** Which kind of object saved this record, e.g. "x86.cpu", "pc.pit". */
  id: string;
  version: number;
  data: { [key: string]: StateValue };
}

/** Implemented by every device and CPU structure. */
export interface Saveable {
  save(): SavedState;
  /** Throws SavedStateError when the record does not fit; leaves the object unchanged in that case. */
  restore(state: SavedState): void;
}

export class SavedStateError extends UserError {
  constructor(id: string, message: string) {
    super(`saved state '${id}': ${message}`);
    this.name = 'SavedStateError';
  }
}

/** Checks id and version before a restore; returns the data record. */
export function expectState(state: SavedState, id: string, maxVersion: number): { [key: string]: StateValue } {
  if (state === null || typeof state !== 'object') throw new SavedStateError(id, 'record missing');
  if (state.id !== id) throw new SavedStateError(id, `record is for '${String(state.id)}'`);
  if (!Number.isInteger(state.version) || state.version < 1 || state.version > maxVersion) {
    throw new SavedStateError(id, `version ${String(state.version)} is not supported (this build reads 1..${maxVersion})`);
  }
  if (state.data === null || typeof state.data !== 'object') throw new SavedStateError(id, 'data missing');
  return state.data;
}

export function stateNumber(id: string, data: { [key: string]: StateValue }, field: string): number {
  const v = data[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SavedStateError(id, `field '${field}' must be a number`);
  return v;
}

export function stateBigInt(id: string, data: { [key: string]: StateValue }, field: string): bigint {
  const v = data[field];
  if (typeof v !== 'bigint') throw new SavedStateError(id, `field '${field}' must be a 64-bit integer`);
  return v;
}

export function stateBool(id: string, data: { [key: string]: StateValue }, field: string): boolean {
  const v = data[field];
  if (typeof v !== 'boolean') throw new SavedStateError(id, `field '${field}' must be a boolean`);
  return v;
}

export function stateString(id: string, data: { [key: string]: StateValue }, field: string): string {
  const v = data[field];
  if (typeof v !== 'string') throw new SavedStateError(id, `field '${field}' must be a string`);
  return v;
}

export function stateBytes(id: string, data: { [key: string]: StateValue }, field: string, length?: number): Uint8Array {
  const v = data[field];
  if (!(v instanceof Uint8Array)) throw new SavedStateError(id, `field '${field}' must be bytes`);
  if (length !== undefined && v.length !== length) throw new SavedStateError(id, `field '${field}' must hold ${length} bytes, not ${v.length}`);
  return v;
}

export function stateRecord(id: string, data: { [key: string]: StateValue }, field: string): { [key: string]: StateValue } {
  const v = data[field];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) throw new SavedStateError(id, `field '${field}' must be a record`);
  return v as { [key: string]: StateValue };
}

// ---- binary encoding: a small tagged format, so typed arrays and bigints survive exactly ----

const T_NULL = 0, T_FALSE = 1, T_TRUE = 2, T_NUM = 3, T_BIG = 4, T_STR = 5, T_U8 = 6, T_U32 = 7, T_F64 = 8, T_B64 = 9, T_ARR = 10, T_REC = 11;
const MAGIC = 0x56535431; // "VST1"
const MAX_DEPTH = 64;

class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  pos = 0;
  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.need(1); this.buf[this.pos++] = v; }
  u32(v: number): void { this.need(4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  f64(v: number): void { this.need(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  bytes(b: Uint8Array): void { this.need(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u32(b.length); this.bytes(b); }
  result(): Uint8Array { return this.buf.slice(0, this.pos); }
}

function writeValue(w: Writer, v: StateValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('saved state nests too deeply');
  if (v === null) w.u8(T_NULL);
  else if (v === false) w.u8(T_FALSE);
  else if (v === true) w.u8(T_TRUE);
  else if (typeof v === 'number') { w.u8(T_NUM); w.f64(v); }
  else if (typeof v === 'bigint') { w.u8(T_BIG); w.str(v.toString(16)); }
  else if (typeof v === 'string') { w.u8(T_STR); w.str(v); }
  else if (v instanceof Uint8Array) { w.u8(T_U8); w.u32(v.length); w.bytes(v); }
  else if (v instanceof Uint32Array) { w.u8(T_U32); w.u32(v.length); w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); }
  else if (v instanceof Float64Array) { w.u8(T_F64); w.u32(v.length); w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); }
  else if (v instanceof BigUint64Array) { w.u8(T_B64); w.u32(v.length); w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); }
  else if (Array.isArray(v)) { w.u8(T_ARR); w.u32(v.length); for (const e of v) writeValue(w, e, depth + 1); }
  else {
    const keys = Object.keys(v);
    w.u8(T_REC); w.u32(keys.length);
    for (const k of keys) { w.str(k); writeValue(w, v[k]!, depth + 1); }
  }
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) { this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
  private need(n: number): void { if (n < 0 || this.pos + n > this.buf.length) throw new SavedStateError('encoding', `truncated at byte ${this.pos}`); }
  u8(): number { this.need(1); return this.buf[this.pos++]!; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  f64(): number { this.need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  // A copy, always: on a Node Buffer slice() is a view, and typed arrays built on its .buffer would
  // see the whole pool.
  bytes(n: number): Uint8Array { this.need(n); const b = new Uint8Array(this.buf.subarray(this.pos, this.pos + n)); this.pos += n; return b; }
  str(): string { return Buffer.from(this.bytes(this.u32())).toString('utf8'); }
}

function readValue(r: Reader, depth: number): StateValue {
  if (depth > MAX_DEPTH) throw new SavedStateError('encoding', 'nests too deeply');
  const tag = r.u8();
  switch (tag) {
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_NUM: return r.f64();
    case T_BIG: {
      const s = r.str();
      if (!/^-?[0-9a-f]{1,32}$/.test(s)) throw new SavedStateError('encoding', 'bad 64-bit integer');
      return s.startsWith('-') ? -BigInt('0x' + s.slice(1)) : BigInt('0x' + s);
    }
    case T_STR: return r.str();
    case T_U8: return r.bytes(r.u32());
    case T_U32: { const n = r.u32(); return new Uint32Array(r.bytes(n * 4).buffer); }
    case T_F64: { const n = r.u32(); return new Float64Array(r.bytes(n * 8).buffer); }
    case T_B64: { const n = r.u32(); return new BigUint64Array(r.bytes(n * 8).buffer); }
    case T_ARR: {
      const n = r.u32();
      const out: StateValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case T_REC: {
      const n = r.u32();
      const out: { [key: string]: StateValue } = {};
      // defineProperty, not assignment: a hostile key such as "__proto__" must stay plain data.
      for (let i = 0; i < n; i++) {
        const k = r.str();
        Object.defineProperty(out, k, { value: readValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default: throw new SavedStateError('encoding', `unknown tag ${tag} at byte ${r.pos - 1}`);
  }
}

export function encodeState(states: SavedState[]): Uint8Array {
  const w = new Writer();
  w.u32(MAGIC);
  writeValue(w, states.map((s) => ({ id: s.id, version: s.version, data: s.data })), 0);
  return w.result();
}

export function decodeState(bytes: Uint8Array): SavedState[] {
  const r = new Reader(bytes);
  if (r.u32() !== MAGIC) throw new SavedStateError('encoding', 'not a Viridian saved-state stream (bad magic)');
  const list = readValue(r, 0);
  if (!Array.isArray(list)) throw new SavedStateError('encoding', 'top level is not a list');
  return list.map((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e) || ArrayBuffer.isView(e)) throw new SavedStateError('encoding', `entry ${i} is not a record`);
    const rec = e as { [key: string]: StateValue };
    if (typeof rec['id'] !== 'string' || typeof rec['version'] !== 'number') throw new SavedStateError('encoding', `entry ${i} lacks id/version`);
    const data = rec['data'];
    if (data === null || typeof data !== 'object' || Array.isArray(data) || ArrayBuffer.isView(data)) throw new SavedStateError(rec['id'], 'data is not a record');
    return { id: rec['id'], version: rec['version'], data: data as { [key: string]: StateValue } };
  });
}
