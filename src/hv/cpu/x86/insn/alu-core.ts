/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP, in encoding order) on values of
 * 1, 2 or 4 bytes (numbers) or 8 bytes (int32 pairs), recording lazy flags.
 */
import type { X86Cpu } from '../cpu.js';
import { LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, getCF } from '../flags.js';

export const OP_ADD = 0, OP_OR = 1, OP_ADC = 2, OP_SBB = 3, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7;

function fit(v: number, size: number): number {
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
}

/** dst op src for size 1/2/4; operands unsigned (1/2) or int32 (4). Returns the result (CMP: dst's difference). */
export function alu(c: X86Cpu, op: number, size: number, d: number, s: number): number {
  const lf = c.lf;
  let r: number;
  switch (op) {
    case OP_ADD: r = fit(d + s, size); lf.set(LF_ADD, size, d, s, r); break;
    case OP_OR: r = fit(d | s, size); lf.set(LF_LOGIC, size, d, s, r); break;
    case OP_ADC: { const cin = getCF(lf) ? 1 : 0; r = fit(d + s + cin, size); lf.set(LF_ADC, size, d, s, r); lf.aux = cin; break; }
    case OP_SBB: { const cin = getCF(lf) ? 1 : 0; r = fit(d - s - cin, size); lf.set(LF_SBB, size, d, s, r); lf.aux = cin; break; }
    case OP_AND: r = fit(d & s, size); lf.set(LF_LOGIC, size, d, s, r); break;
    case OP_XOR: r = fit(d ^ s, size); lf.set(LF_LOGIC, size, d, s, r); break;
    default: r = fit(d - s, size); lf.set(LF_SUB, size, d, s, r); break;
  }
  return r;
}

/** 64-bit form: returns the low half, high half in c.hi. */
export function alu64(c: X86Cpu, op: number, dL: number, dH: number, sL: number, sH: number): number {
  const lf = c.lf;
  let rL: number, rH: number;
  switch (op) {
    case OP_ADD: case OP_ADC: {
      const cin = op === OP_ADC && getCF(lf) ? 1 : 0;
      const lo = (dL >>> 0) + (sL >>> 0) + cin;
      rL = lo | 0;
      rH = (dH + sH + (lo > 0xffffffff ? 1 : 0)) | 0;
      lf.set64(op === OP_ADD ? LF_ADD : LF_ADC, dL, dH, sL, sH, rL, rH);
      lf.aux = cin;
      break;
    }
    case OP_SUB: case OP_SBB: case OP_CMP: {
      const cin = op === OP_SBB && getCF(lf) ? 1 : 0;
      const lo = (dL >>> 0) - (sL >>> 0) - cin;
      rL = lo | 0;
      rH = (dH - sH - (lo < 0 ? 1 : 0)) | 0;
      lf.set64(op === OP_SBB ? LF_SBB : LF_SUB, dL, dH, sL, sH, rL, rH);
      lf.aux = cin;
      break;
    }
    case OP_OR: rL = dL | sL; rH = dH | sH; lf.set64(LF_LOGIC, dL, dH, sL, sH, rL, rH); break;
    case OP_AND: rL = dL & sL; rH = dH & sH; lf.set64(LF_LOGIC, dL, dH, sL, sH, rL, rH); break;
    default: rL = dL ^ sL; rH = dH ^ sH; lf.set64(LF_LOGIC, dL, dH, sL, sH, rL, rH); break;
  }
  c.hi = rH;
  return rL;
}

/** Applies op to operands of any size; for size 8, `sH`/`dH` are the high halves. */
export function aluAny(c: X86Cpu, op: number, size: number, d: number, dH: number, s: number, sH: number): number {
  if (size === 8) return alu64(c, op, d, dH, s, sH);
  return alu(c, op, size, d, s);
}
