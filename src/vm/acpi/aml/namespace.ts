/**
 * Named objects and namespace modifiers (ACPI 6.x, 20.2.5.1-20.2.5.2): Scope, Device, Name and
 * Method. Bodies are lists of already-encoded terms.
 */
import { bytes, concat, type Aml } from './bytes.js';
import { nameString } from './names.js';
import { withPkgLength } from './pkg-length.js';
import { DeviceOp, ExtOpPrefix, MethodOp, NameOp, ScopeOp } from './opcodes.js';

export function scope(path: string, body: readonly Aml[]): Aml {
  return withPkgLength(bytes(ScopeOp), [nameString(path), ...body]);
}

export function device(path: string, body: readonly Aml[]): Aml {
  return withPkgLength(bytes(ExtOpPrefix, DeviceOp), [nameString(path), ...body]);
}

/** Name(path, value): `value` is an encoded data object (integer, string, buffer, package). */
export function name(path: string, value: Aml): Aml {
  return concat([bytes(NameOp), nameString(path), value]);
}

export interface MethodOptions {
  /** Number of arguments, 0-7. */
  args: number;
  /** Serialized methods may create named objects without clashing when re-entered. */
  serialized?: boolean;
  /** SyncLevel 0-15 (only meaningful for serialized methods). */
  syncLevel?: number;
}

export function method(path: string, options: MethodOptions, body: readonly Aml[]): Aml {
  const { args, serialized = false, syncLevel = 0 } = options;
  if (!Number.isInteger(args) || args < 0 || args > 7) throw new RangeError(`AML method ${path} argument count ${args} is not 0..7`);
  if (!Number.isInteger(syncLevel) || syncLevel < 0 || syncLevel > 15) throw new RangeError(`AML method ${path} SyncLevel ${syncLevel} is not 0..15`);
  const flags = args | (serialized ? 0x08 : 0) | (syncLevel << 4);
  return withPkgLength(bytes(MethodOp), [nameString(path), bytes(flags), ...body]);
}
