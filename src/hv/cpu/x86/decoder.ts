/**
 * Instruction decoder: bytes → Insn. Prefixes, REX, the 0F / 0F 38 / 0F 3A maps, ModRM/SIB with
 * 16/32/64-bit addressing, displacements and immediates. The handler is resolved here, once.
 *
 * The decoder reads from a byte window; when an instruction runs past the window (it straddles a
 * page), it throws NEED_MORE and the block builder retries with the next page's bytes appended.
 */
import { Insn, F_LOCKABLE, type Handler } from './insn.js';
import { resolve } from './opcode-table.js';
import { DS, SS } from './constants.js';

// Immediate kinds.
const I_NONE = 0, I_B = 1, I_W = 2, I_Z = 3, I_V = 4, I_ENTER = 5, I_FAR = 6, I_MOFFS = 7, I_GRP3 = 8;

/** Per one-byte opcode: bit 0x10 = has ModRM, low nibble = immediate kind, 0x20 = default 64-bit operand size in long mode, 0x40 = forced 64. */
const M = 0x10, D64 = 0x20, F64 = 0x40;
const MAP0 = new Uint8Array(256);
const MAP1 = new Uint8Array(256);

function set(t: Uint8Array, ops: number[], v: number): void { for (const o of ops) t[o] = v; }
function range(a: number, b: number): number[] { const r: number[] = []; for (let x = a; x <= b; x++) r.push(x); return r; }

// One-byte map.
for (let base = 0; base < 0x40; base += 8) {
  set(MAP0, [base, base + 1, base + 2, base + 3], M);
  MAP0[base + 4] = I_B;
  MAP0[base + 5] = I_Z;
}
set(MAP0, range(0x50, 0x5f), D64);
set(MAP0, [0x62, 0x63], M);
MAP0[0x68] = I_Z | D64; MAP0[0x69] = M | I_Z; MAP0[0x6a] = I_B | D64; MAP0[0x6b] = M | I_B;
set(MAP0, range(0x70, 0x7f), I_B | F64);
MAP0[0x80] = M | I_B; MAP0[0x81] = M | I_Z; MAP0[0x82] = M | I_B; MAP0[0x83] = M | I_B;
set(MAP0, range(0x84, 0x8e), M);
MAP0[0x8f] = M | D64;
MAP0[0x9a] = I_FAR; MAP0[0x9c] = D64; MAP0[0x9d] = D64;
set(MAP0, range(0xa0, 0xa3), I_MOFFS);
MAP0[0xa8] = I_B; MAP0[0xa9] = I_Z;
set(MAP0, range(0xb0, 0xb7), I_B);
set(MAP0, range(0xb8, 0xbf), I_V);
MAP0[0xc0] = M | I_B; MAP0[0xc1] = M | I_B; MAP0[0xc2] = I_W | F64; MAP0[0xc3] = F64;
MAP0[0xc4] = M; MAP0[0xc5] = M; MAP0[0xc6] = M | I_B; MAP0[0xc7] = M | I_Z;
MAP0[0xc8] = I_ENTER | D64; MAP0[0xc9] = D64; MAP0[0xca] = I_W; MAP0[0xcd] = I_B;
set(MAP0, range(0xd0, 0xd3), M);
MAP0[0xd4] = I_B; MAP0[0xd5] = I_B;
set(MAP0, range(0xd8, 0xdf), M);
set(MAP0, range(0xe0, 0xe3), I_B | F64);
set(MAP0, range(0xe4, 0xe7), I_B);
MAP0[0xe8] = I_Z | F64; MAP0[0xe9] = I_Z | F64; MAP0[0xea] = I_FAR; MAP0[0xeb] = I_B | F64;
MAP0[0xf6] = M | I_GRP3; MAP0[0xf7] = M | I_GRP3;
MAP0[0xfe] = M; MAP0[0xff] = M;

// 0F map: almost everything has ModRM.
MAP1.fill(M);
set(MAP1, [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x77, 0xa2, 0xaa], 0);
set(MAP1, range(0x30, 0x37), 0);
set(MAP1, range(0x80, 0x8f), I_Z | F64);
set(MAP1, [0xa0, 0xa1, 0xa8, 0xa9], D64);
set(MAP1, range(0xc8, 0xcf), 0);
set(MAP1, [0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6], M | I_B);
MAP1[0x0f] = M | I_B;

export class NeedMoreBytes extends Error {}
const NEED_MORE = new NeedMoreBytes('instruction crosses the fetch window');

/** Raised for encodings that are #UD at decode time (too long, LOCK misuse is checked at exec). */
export class DecodeUd extends Error {}

export interface DecodeMode {
  /** Default operand/address size from CS: 2 (16-bit), 4 (32-bit), 8 (64-bit mode). */
  codeSize: number;
}

let ud: Handler | undefined;
/** The handler used for undefined encodings (set by the engine: raises #UD when executed). */
export function setUndefinedHandler(h: Handler): void { ud = h; }

/**
 * Decodes one instruction from `bytes[pos..avail)`. Returns a new Insn (never throws for undefined
 * encodings: those get the #UD handler, so the fault is raised when — and only if — executed).
 */
export function decode(bytes: Uint8Array, pos: number, avail: number, mode: DecodeMode): Insn {
  const i = new Insn(ud!);
  const start = pos;
  const long = mode.codeSize === 8;
  let opsz66 = false, adsz67 = false;
  let b = 0;
  const next = (): number => {
    if (pos >= avail) throw NEED_MORE;
    if (pos - start >= 15) throw new DecodeUd('instruction longer than 15 bytes');
    return bytes[pos++]!;
  };

  // Legacy prefixes, then REX (64-bit mode) immediately before the opcode.
  for (;;) {
    b = next();
    if (b === 0x66) { opsz66 = true; if (i.mand === 0) i.mand = 0x66; }
    else if (b === 0x67) adsz67 = true;
    else if (b === 0xf0) i.lock = true;
    else if (b === 0xf3) { i.rep = 1; i.mand = 0xf3; }
    else if (b === 0xf2) { i.rep = 2; i.mand = 0xf2; }
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) { if (!long) i.seg = (b >> 3) & 3; }
    else if (b === 0x64) i.seg = 4;
    else if (b === 0x65) i.seg = 5;
    else if (long && b >= 0x40 && b <= 0x4f) {
      i.rex = b;
      b = next();
      if (b >= 0x40 && b <= 0x4f) { continue; }
      if (b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) {
        // A legacy prefix after REX cancels the REX.
        i.rex = 0; pos--; continue;
      }
      break;
    } else break;
  }
  if (i.mand === 0x66 && !opsz66) i.mand = 0;

  // Opcode and map.
  let info: number;
  if (b === 0x0f) {
    const b2 = next();
    if (b2 === 0x38) { i.map = 2; i.opcode = next(); info = M; }
    else if (b2 === 0x3a) { i.map = 3; i.opcode = next(); info = M | I_B; }
    else { i.map = 1; i.opcode = b2; info = MAP1[b2]!; }
  } else {
    i.map = 0; i.opcode = b; info = MAP0[b]!;
  }

  // Sizes.
  const rexW = (i.rex & 8) !== 0;
  if (long) {
    i.asize = adsz67 ? 4 : 8;
    if (rexW) i.osize = 8;
    else if ((info & F64) !== 0) i.osize = 8;
    else if ((info & D64) !== 0) i.osize = opsz66 ? 2 : 8;
    else i.osize = opsz66 ? 2 : 4;
  } else {
    const def = mode.codeSize;
    i.asize = adsz67 ? (def === 2 ? 4 : 2) : def;
    i.osize = opsz66 ? (def === 2 ? 4 : 2) : def;
  }

  // ModRM, SIB, displacement.
  if ((info & M) !== 0) {
    i.hasModrm = true;
    const modrm = next();
    i.mod = modrm >> 6;
    i.reg = ((modrm >> 3) & 7) | ((i.rex & 4) << 1);
    const rm = modrm & 7;
    if (i.mod === 3) {
      i.rm = rm | ((i.rex & 1) << 3);
    } else if (i.asize === 2) {
      decodeModrm16(i, rm, next);
    } else {
      i.rm = rm;
      decodeModrm32(i, rm, next, long);
    }
  }

  // FF /2 /4 (near CALL/JMP) are forced to 64-bit operands in 64-bit mode and FF /6 (PUSH) defaults to
  // 64-bit; the table cannot say so because it depends on ModRM.reg.
  if (long && i.map === 0 && i.opcode === 0xff && !rexW) {
    const r = i.reg & 7;
    if (r === 2 || r === 4) i.osize = 8;
    else if (r === 6) i.osize = opsz66 ? 2 : 8;
  }

  // Immediates.
  const kind = info & 0x0f;
  switch (kind) {
    case I_NONE: break;
    case I_B: i.imm = (next() << 24) >> 24; break;
    case I_W: i.imm = next() | (next() << 8); break;
    case I_Z: i.imm = i.osize === 2 ? ((next() | (next() << 8)) << 16) >> 16 : (next() | (next() << 8) | (next() << 16) | (next() << 24)); break;
    case I_V:
      if (i.osize === 2) i.imm = next() | (next() << 8);
      else {
        i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
        if (i.osize === 8) i.immHi = next() | (next() << 8) | (next() << 16) | (next() << 24);
      }
      break;
    case I_ENTER: i.imm = next() | (next() << 8); i.imm2 = next(); break;
    case I_FAR:
      i.imm = i.osize === 2 ? (next() | (next() << 8)) : (next() | (next() << 8) | (next() << 16) | (next() << 24));
      i.imm2 = next() | (next() << 8);
      break;
    case I_MOFFS:
      if (i.asize === 2) i.imm = next() | (next() << 8);
      else {
        i.imm = next() | (next() << 8) | (next() << 16) | (next() << 24);
        if (i.asize === 8) i.immHi = next() | (next() << 8) | (next() << 16) | (next() << 24);
      }
      break;
    case I_GRP3:
      if ((i.reg & 7) < 2) {
        if (i.opcode === 0xf6) i.imm = (next() << 24) >> 24;
        else i.imm = i.osize === 2 ? ((next() | (next() << 8)) << 16) >> 16 : (next() | (next() << 8) | (next() << 16) | (next() << 24));
      }
      break;
  }
  i.len = pos - start;

  const r = resolve(i);
  if (r !== undefined) { i.exec = r.handler; i.flags = r.flags; }
  // LOCK is valid only on a lockable instruction with a memory destination; anything else is #UD.
  if (i.lock && ((i.flags & F_LOCKABLE) === 0 || !i.hasModrm || i.mod === 3)) i.exec = ud!;
  return i;
}

const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];     // BX BX BP BP SI DI BP BX
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1]; // SI DI SI DI

function decodeModrm16(i: Insn, rm: number, next: () => number): void {
  i.rm = rm;
  if (i.mod === 0 && rm === 6) {
    i.base = -1; i.index = -1;
    i.disp = next() | (next() << 8);
    i.defSeg = DS;
    return;
  }
  i.base = BASE16[rm]!;
  i.index = INDEX16[rm]!;
  i.defSeg = (rm === 2 || rm === 3 || rm === 6) ? SS : DS;
  if (i.mod === 1) i.disp = (next() << 24) >> 24;
  else if (i.mod === 2) i.disp = ((next() | (next() << 8)) << 16) >> 16;
}

function decodeModrm32(i: Insn, rm: number, next: () => number, long: boolean): void {
  const rexB = (i.rex & 1) << 3;
  const rexX = (i.rex & 2) << 2;
  i.defSeg = DS;
  if (rm === 4) {
    const sib = next();
    const base = sib & 7;
    const index = ((sib >> 3) & 7) | rexX;
    i.scale = sib >> 6;
    i.index = index === 4 ? -1 : index;
    if (base === 5 && i.mod === 0) {
      i.base = -1;
      i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
    } else {
      i.base = base | rexB;
      if (base === 4 || base === 5) i.defSeg = SS;
    }
  } else if (rm === 5 && i.mod === 0) {
    i.base = -1; i.index = -1;
    i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
    if (long) i.ripRel = true;
  } else {
    i.base = rm | rexB;
    i.index = -1;
    if (rm === 5) i.defSeg = SS;
  }
  if (i.mod === 1) i.disp = (next() << 24) >> 24;
  else if (i.mod === 2) i.disp = next() | (next() << 8) | (next() << 16) | (next() << 24);
}
