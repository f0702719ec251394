/**
 * The decoded ("cached") form of one instruction. The decoder fills one of these per instruction
 * once; the block cache keeps them and the executor calls `exec` each time the instruction runs, so
 * nothing is decoded twice. All fields are plain numbers/booleans (one hidden class), which is also
 * what a later compiler reads to generate code for a block.
 */
import type { X86Cpu } from './cpu.js';

export type Handler = (c: X86Cpu, i: Insn) => void;

/** Handler flags, set at registration. */
export const F_END = 1;          // ends the block (branches, mode/paging/interrupt-state changes)
export const F_LOCKABLE = 2;     // LOCK prefix allowed (with a memory destination)
export const F_SHADOW = 4;       // sets an interrupt shadow (STI, MOV SS, POP SS)

export class Insn {
  exec: Handler;
  /** Registration flags (F_*). */
  flags = 0;
  len = 0;
  /** 0: one-byte map, 1: 0F, 2: 0F 38, 3: 0F 3A. */
  map = 0;
  opcode = 0;
  /** Effective operand size in bytes (1 for byte forms is set by handlers' own knowledge). */
  osize = 4;
  /** Effective address size in bytes: 2, 4 or 8. */
  asize = 4;
  /** Segment override (ES..GS) or -1. */
  seg = -1;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  lock = false;
  /** The REX byte (0x40-0x4F) or 0 when absent. */
  rex = 0;
  /** Last of 66/F3/F2 that selects an SSE form: 0, 0x66, 0xF3 or 0xF2. */
  mand = 0;
  hasModrm = false;
  mod = 0;
  /** ModRM.reg with REX.R applied (0-15). */
  reg = 0;
  /** ModRM.rm with REX.B applied (register number when mod == 3). */
  rm = 0;
  /** Memory operand: base/index register numbers or -1; scale as a shift count; disp sign-extended. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** RIP-relative (disp is added to the next instruction's RIP). */
  ripRel = false;
  /** Default segment for the memory operand (DS, or SS for RBP/RSP-based forms). */
  defSeg = 3;
  /** Immediates: imm is sign-extended to 32 bits where the encoding says so; immHi holds bits 32-63 of imm64. */
  imm = 0;
  immHi = 0;
  /** Second immediate (ENTER's level, far pointer selector). */
  imm2 = 0;

  constructor(exec: Handler) { this.exec = exec; }
}
