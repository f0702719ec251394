/**
 * Where instruction handlers are registered. Each instruction-group file (alu.ts, string.ts,
 * sse-*.ts...) calls def() at load time; the decoder resolves the handler for a decoded
 * instruction once, at decode time, so execution never dispatches on opcode bytes again.
 */
import { Insn, type Handler } from './insn.js';

export type Prefix = 0 | 0x66 | 0xf3 | 0xf2;

export interface OpSpec {
  /** Mandatory prefix for SSE-style encodings (default: none). */
  prefix?: Prefix;
  /** ModRM.reg for group opcodes. */
  reg?: number;
  /** Restrict to register (mod == 3) or memory forms. */
  form?: 'reg' | 'mem';
  /** ModRM.rm for mod == 3 encodings such as 0F 01 F8 (SWAPGS). */
  rm?: number;
  /** F_* flags. */
  flags?: number;
  /** Mnemonic for disassembly-style diagnostics. */
  name: string;
}

interface Entry { spec: OpSpec; handler: Handler }

const table = new Map<number, Entry[]>();

export function def(map: number, opcode: number, spec: OpSpec, handler: Handler): void {
  const key = (map << 8) | opcode;
  let list = table.get(key);
  if (list === undefined) { list = []; table.set(key, list); }
  list.push({ spec, handler });
}

/** Registers the same handler for a run of opcodes (e.g. 50-57 PUSH r). */
export function defRange(map: number, first: number, count: number, spec: OpSpec, handler: Handler): void {
  for (let k = 0; k < count; k++) def(map, first + k, spec, handler);
}

function score(e: Entry, i: Insn): number {
  const s = e.spec;
  let sc = 0;
  if (s.prefix !== undefined && s.prefix !== 0) {
    if (s.prefix !== i.mand) return -1;
    sc += 8;
  } else if (s.prefix === 0) {
    if (i.mand !== 0 && i.mand !== 0x66) return -1;
  }
  if (s.reg !== undefined) { if (!i.hasModrm || ((i.reg & 7) !== s.reg)) return -1; sc += 4; }
  if (s.form !== undefined) { if ((s.form === 'reg') !== (i.mod === 3)) return -1; sc += 2; }
  if (s.rm !== undefined) { if (i.mod !== 3 || (i.rm & 7) !== s.rm) return -1; sc += 1; }
  return sc;
}

export interface Resolved { handler: Handler; flags: number; name: string }

/**
 * The most specific registered form that fits the decoded prefixes and ModRM, or undefined (#UD).
 * A prefix-specific form (66/F3/F2) wins over the prefix-less form; for instructions where 66 means
 * "operand size", the prefix-less form is registered and still matches.
 */
export function resolve(i: Insn): Resolved | undefined {
  const list = table.get((i.map << 8) | i.opcode);
  if (list === undefined) return undefined;
  let best: Entry | undefined;
  let bestScore = -1;
  for (const e of list) {
    const sc = score(e, i);
    if (sc > bestScore) { best = e; bestScore = sc; }
  }
  return best === undefined ? undefined : { handler: best.handler, flags: best.spec.flags ?? 0, name: best.spec.name };
}

/** Name of the form an instruction resolved to (diagnostics, triple-fault reports). */
export function describe(i: Insn): string {
  return resolve(i)?.name ?? `(undefined ${['', '0f ', '0f38 ', '0f3a '][i.map]}${i.opcode.toString(16)})`;
}

export function registeredCount(): number {
  let n = 0;
  for (const l of table.values()) n += l.length;
  return n;
}
