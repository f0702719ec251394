/** A small, strict flag parser for `viridian disk`: unknown flags and missing values are errors. */
import { UserError } from '../../common/errors.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** `spec` maps each accepted flag to whether it takes a value. */
export function parseArgs(cmd: string, argv: string[], spec: Record<string, boolean>): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const takes = spec[name];
    if (takes === undefined) throw new UserError(`disk ${cmd}: unknown option --${name}`);
    if (!takes) {
      if (eq >= 0) throw new UserError(`disk ${cmd}: --${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UserError(`disk ${cmd}: --${name} needs a value`);
    flags.set(name, value);
  }
  return { positional, flags };
}

export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function expectPositional(cmd: string, p: ParsedArgs, names: string[], optional = 0): string[] {
  if (p.positional.length < names.length - optional || p.positional.length > names.length) {
    throw new UserError(`disk ${cmd}: expected ${names.join(' ')}, got ${p.positional.length} argument(s)`);
  }
  return p.positional;
}
