/**
 * The few statements and expressions the tables' control methods need (ACPI 6.x, 20.2.5.3-20.2.5.4):
 * Return, If/Else, Store, And, Or, LEqual, LNot, CreateDWordField, ArgN and LocalN. Operands are
 * encoded terms; targets are encoded SuperNames (a name string, ArgN or LocalN).
 */
import { bytes, concat, type Aml } from './bytes.js';
import { nameString } from './names.js';
import { withPkgLength } from './pkg-length.js';
import {
  AndOp, Arg0Op, CreateDWordFieldOp, ElseOp, IfOp, LEqualOp, LNotOp, Local0Op, OrOp, ReturnOp, StoreOp, ZeroOp,
} from './opcodes.js';

export function arg(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`AML Arg${n} does not exist (Arg0-Arg6)`);
  return bytes(Arg0Op + n);
}

export function local(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new RangeError(`AML Local${n} does not exist (Local0-Local7)`);
  return bytes(Local0Op + n);
}

/** A reference to a named object, e.g. a field created by createDWordField. */
export function ref(path: string): Aml { return nameString(path); }

export function ret(value: Aml): Aml { return concat([bytes(ReturnOp), value]); }

export function ifThen(predicate: Aml, body: readonly Aml[]): Aml {
  return withPkgLength(bytes(IfOp), [predicate, ...body]);
}

/** The Else that must directly follow an ifThen(). */
export function orElse(body: readonly Aml[]): Aml {
  return withPkgLength(bytes(ElseOp), body);
}

export function store(source: Aml, target: Aml): Aml { return concat([bytes(StoreOp), source, target]); }

/** And(a, b, target); without a target the result is only the expression's value. */
export function and(a: Aml, b: Aml, target?: Aml): Aml { return concat([bytes(AndOp), a, b, target ?? bytes(ZeroOp)]); }

export function or(a: Aml, b: Aml, target?: Aml): Aml { return concat([bytes(OrOp), a, b, target ?? bytes(ZeroOp)]); }

export function lEqual(a: Aml, b: Aml): Aml { return concat([bytes(LEqualOp), a, b]); }

export function lNot(a: Aml): Aml { return concat([bytes(LNotOp), a]); }

/** CreateDWordField(source buffer, byte index, name of the new field). */
export function createDWordField(source: Aml, byteIndex: Aml, fieldName: string): Aml {
  return concat([bytes(CreateDWordFieldOp), source, byteIndex, nameString(fieldName)]);
}
