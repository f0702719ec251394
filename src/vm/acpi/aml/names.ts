/**
 * Name strings (ACPI 6.x, 20.2.2): four-character segments, an optional root ('\') or parent ('^')
 * prefix, and multi-segment paths joined with '.' as in ASL. Segments shorter than four characters
 * are padded with '_' as the ASL compiler does ("_S5" is "_S5_").
 */
import { bytes, concat } from './bytes.js';
import { DualNamePrefix, MultiNamePrefix, ParentPrefixChar, RootChar, ZeroOp } from './opcodes.js';

const SEGMENT = /^[A-Z_][A-Z0-9_]{0,3}$/;

/** One NameSeg: exactly four bytes. */
export function nameSeg(segment: string): Uint8Array {
  if (!SEGMENT.test(segment)) throw new RangeError(`AML name segment "${segment}" must be 1-4 characters of A-Z, 0-9, _ and not start with a digit`);
  const padded = segment.padEnd(4, '_');
  return Uint8Array.from(padded, (c) => c.charCodeAt(0));
}

/** A NameString from ASL path syntax: "PCI0", "\\_SB.PCI0", "^^FOO", "\\" (the root itself). */
export function nameString(path: string): Uint8Array {
  let i = 0;
  const prefix: number[] = [];
  if (path.startsWith('\\')) { prefix.push(RootChar); i = 1; }
  else while (path[i] === '^') { prefix.push(ParentPrefixChar); i++; }
  const rest = path.slice(i);
  if (rest === '') {
    if (prefix.length === 0) throw new RangeError('AML name path is empty');
    return bytes(...prefix, ZeroOp); // NullName after the prefix
  }
  const segs = rest.split('.').map(nameSeg);
  if (segs.length > 255) throw new RangeError(`AML name path "${path}" has more than 255 segments`);
  const head = segs.length === 1 ? [] : segs.length === 2 ? [DualNamePrefix] : [MultiNamePrefix, segs.length];
  return concat([bytes(...prefix, ...head), ...segs]);
}
