/**
 * Flag parsing for `viridian vm` and `viridian serve`: every accepted flag is declared (unknown
 * ones are errors), flags may repeat where declared so (--disk, --nic, --listen), and values may
 * be given as `--flag value` or `--flag=value`.
 */
import { UserError } from '../../common/errors.js';

/** 'bool' takes no value; 'one' takes one value; 'many' takes a value and may repeat. */
export type FlagKind = 'bool' | 'one' | 'many';

export interface Parsed {
  positional: string[];
  bools: Set<string>;
  values: Map<string, string[]>;
}

export function parseFlags(cmd: string, argv: string[], spec: Record<string, FlagKind>): Parsed {
  const p: Parsed = { positional: [], bools: new Set(), values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      p.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const kind = spec[name];
    if (kind === undefined) throw new UserError(`${cmd}: unknown option --${name}`);
    if (kind === 'bool') {
      if (eq >= 0) throw new UserError(`${cmd}: --${name} takes no value`);
      p.bools.add(name);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UserError(`${cmd}: --${name} needs a value`);
    const list = p.values.get(name) ?? [];
    if (kind === 'one' && list.length > 0) throw new UserError(`${cmd}: --${name} given twice`);
    list.push(value);
    p.values.set(name, list);
  }
  return p;
}

export function one(p: Parsed, name: string): string | undefined {
  return p.values.get(name)?.[0];
}

export function many(p: Parsed, name: string): string[] | undefined {
  return p.values.get(name);
}

export function positionals(cmd: string, p: Parsed, names: string[]): string[] {
  if (p.positional.length !== names.length) {
    throw new UserError(`${cmd}: expected ${names.length === 0 ? 'no arguments' : names.join(' ')}, got ${p.positional.length} argument(s)`);
  }
  return p.positional;
}

export function intFlag(cmd: string, p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UserError(`${cmd}: --${name} '${v}' must be a whole number from ${min} to ${max}`);
  return Number(v);
}
