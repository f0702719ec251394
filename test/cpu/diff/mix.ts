/**
 * The operand-mix template sets (mix-integer, mix-sse, mix-float): instructions with a 4 KiB
 * random data window at the window's start, pointer registers set into it by each template, and,
 * for SSE floating point, operands drawn from normals, zeros, infinities, quiet and signaling NaNs
 * and denormals under every MXCSR rounding mode with DAZ/FTZ and sometimes unmasked exceptions.
 * They were once a second harness of their own; `fromMix` turns them into ordinary templates.
 */
import { DATA_BASE, type DataRun } from './wire.js';
import type { Rng as DiffRng } from './rng.js';
import type { Area, Template } from './template.js';
import { F } from './template.js';

/** Bytes of the random window a mix case starts with, at the data window's start. */
export const MIX_WINDOW = 4096;

/** A case as a mix template's setup sees it: all views onto the diff case being built. */
export interface Case { regs: BigUint64Array; flags: number; data: Uint8Array; fx: Uint8Array }

export interface Rng { next(): bigint; below(n: number): number; edgy(): bigint }

export interface MixTemplate {
  asm: string;
  /** Arithmetic flags the SDM leaves undefined for this instruction (masked in the comparison). */
  undefinedFlags?: number;
  /** Adjusts generated inputs (pointer registers into the data window, small counts...). */
  setup?: (c: Case, rng: Rng) => void;
  /** Registers whose value is undefined after the instruction (masked). */
  undefinedRegs?: number[];
  /** The template needs a host CPU flag from /proc/cpuinfo. */
  needs?: string;
  /** Kept from the old harness, which compared x87 state only when asked; every template compares it now. */
  compareX87?: boolean;
  /** Data-window byte ranges [offset, length] whose contents are model-specific (not compared). */
  ignoreMemory?: [number, number][];
}

export const FLAGS = { CF: F.CF, PF: F.PF, AF: F.AF, ZF: F.ZF, SF: F.SF, OF: F.OF, DF: F.DF, ALL: F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF };

export function pointInto(c: Case, reg: number, offset: number): void {
  c.regs[reg] = BigInt(DATA_BASE + offset);
}

function rngView(r: DiffRng): Rng {
  return { next: () => r.u64(), below: (n) => r.below(n), edgy: () => r.edgy() };
}

/** A diff template running `t`; `tag` keeps names unique where one text appears twice. */
export function fromMix(t: MixTemplate, area: Area, tag: string): Template {
  return {
    name: `${t.asm} (operand mix${tag})`, area, asm: t.asm,
    ...(t.needs !== undefined ? { needs: [t.needs] } : {}),
    ...(t.undefinedFlags !== undefined ? { undefinedFlags: t.undefinedFlags } : {}),
    ...(t.undefinedRegs !== undefined ? { undefinedRegs: t.undefinedRegs } : {}),
    ...(t.ignoreMemory !== undefined ? { ignoreData: t.ignoreMemory } : {}),
    init: (c, r) => {
      const mc: Case = { regs: c.gpr, flags: c.rflags, data: r.bytes(MIX_WINDOW), fx: c.fxsave };
      t.setup?.(mc, rngView(r));
      c.rflags = mc.flags;
      const run: DataRun = { offset: 0, bytes: mc.data };
      c.runs.push(run);
    },
  };
}
