/** Validating readers for device saved-state fields: restore treats records as hostile input. */
import { SavedStateError, stateNumber, type StateValue } from '../../common/saved-state.js';

type Data = { [key: string]: StateValue };

/** An integer field within [min, max]; anything else is an error naming the field. */
export function stateInt(id: string, data: Data, field: string, min: number, max: number): number {
  const v = stateNumber(id, data, field);
  if (!Number.isInteger(v) || v < min || v > max) throw new SavedStateError(id, `field '${field}' must be an integer in ${min}..${max}, not ${v}`);
  return v;
}

/** A time stamp in VM-clock nanoseconds (finite, not negative). */
export function stateTime(id: string, data: Data, field: string): number {
  const v = stateNumber(id, data, field);
  if (v < 0) throw new SavedStateError(id, `field '${field}' must be a non-negative time, not ${v}`);
  return v;
}

/** A list of records (one per channel, timer, ...) of an exact length. */
export function stateRecordList(id: string, data: Data, field: string, length: number): Data[] {
  const v = data[field];
  if (!Array.isArray(v) || v.length !== length) throw new SavedStateError(id, `field '${field}' must be a list of ${length} records`);
  return v.map((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e) || ArrayBuffer.isView(e)) throw new SavedStateError(id, `field '${field}[${i}]' must be a record`);
    return e as Data;
  });
}
