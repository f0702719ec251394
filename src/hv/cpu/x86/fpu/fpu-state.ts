/**
 * x87, MMX and SSE register state in plain typed arrays (saved, migrated and FXSAVEd as is).
 * XMM0-15 share one buffer with float/int views; the x87 stack keeps eight 80-bit physical
 * registers (MMX registers alias their low 64 bits) with the control, status and tag words.
 */
import { expectState, stateBytes, stateNumber, type SavedState } from '../../../../common/saved-state.js';

export class FpuState {
  /** XMM0-15, 16 bytes each, little-endian. */
  readonly xmm = new Uint8Array(16 * 16);
  readonly xmm32 = new Int32Array(this.xmm.buffer);
  readonly xmmF32 = new Float32Array(this.xmm.buffer);
  readonly xmmF64 = new Float64Array(this.xmm.buffer);
  mxcsr = 0x1f80;
  /** Scratch 16-byte operand (memory sources are copied here), with views. */
  readonly tmp = new Uint8Array(16);
  readonly tmp32 = new Int32Array(this.tmp.buffer);
  readonly tmpF32 = new Float32Array(this.tmp.buffer);
  readonly tmpF64 = new Float64Array(this.tmp.buffer);
  /** x87 physical registers R0-R7, 10 bytes each (64-bit significand, sign+exponent word). */
  readonly st = new Uint8Array(8 * 10);
  fcw = 0x037f;
  /** Status word without TOP; TOP lives in `top`. */
  fsw = 0;
  top = 0;
  /** Full tag word: 2 bits per physical register (0 valid, 1 zero, 2 special, 3 empty). */
  ftw = 0xffff;
  fop = 0;
  fip = 0; fcs = 0; fdp = 0; fds = 0;

  reset(): void {
    this.xmm.fill(0); this.mxcsr = 0x1f80; this.st.fill(0);
    this.fcw = 0x037f; this.fsw = 0; this.top = 0; this.ftw = 0xffff;
    this.fop = 0; this.fip = 0; this.fcs = 0; this.fdp = 0; this.fds = 0;
  }

  /**
   * Recomputes FSW.ES and FSW.B from the exception flags and masks. ES is a summary ("any unmasked
   * exception flag set"), not state of its own: a loaded status word's ES bit is ignored, and
   * unmasked flags loaded with ES clear still raise #MF at the next waiting instruction.
   */
  syncErrorSummary(): void {
    if ((this.fsw & ~this.fcw & 0x3f) !== 0) this.fsw |= FSW_ES | FSW_B; else this.fsw &= ~(FSW_ES | FSW_B);
  }

  /** Abridged tag byte for FXSAVE: bit n set when physical register n is not empty. */
  abridgedTag(): number {
    let t = 0;
    for (let n = 0; n < 8; n++) if (((this.ftw >> (n * 2)) & 3) !== 3) t |= 1 << n;
    return t;
  }

  /** Writes the 512-byte FXSAVE image (64-bit layout when `wide`). */
  fxsave(out: Uint8Array, wide: boolean): void {
    const dv = new DataView(out.buffer, out.byteOffset, 512);
    out.fill(0, 0, 416);
    dv.setUint16(0, this.fcw, true);
    dv.setUint16(2, (this.fsw & ~0x3800) | (this.top << 11), true);
    out[4] = this.abridgedTag();
    dv.setUint16(6, this.fop, true);
    if (wide) {
      dv.setBigUint64(8, BigInt.asUintN(64, BigInt(Math.trunc(this.fip))), true);
      dv.setBigUint64(16, BigInt.asUintN(64, BigInt(Math.trunc(this.fdp))), true);
    } else {
      dv.setUint32(8, this.fip >>> 0, true); dv.setUint16(12, this.fcs, true);
      dv.setUint32(16, this.fdp >>> 0, true); dv.setUint16(20, this.fds, true);
    }
    dv.setUint32(24, this.mxcsr, true);
    dv.setUint32(28, MXCSR_MASK, true);
    // ST(i) in stack order: ST(0) is physical register TOP.
    for (let i = 0; i < 8; i++) out.set(this.st.subarray(((this.top + i) & 7) * 10, ((this.top + i) & 7) * 10 + 10), 32 + i * 16);
    out.set(this.xmm, 160);
  }

  /** Loads a FXRSTOR image; returns false when MXCSR has reserved bits set (#GP). */
  fxrstor(img: Uint8Array, wide: boolean): boolean {
    const dv = new DataView(img.buffer, img.byteOffset, 512);
    const mx = dv.getUint32(24, true);
    if ((mx & ~MXCSR_MASK) !== 0) return false;
    this.fcw = dv.getUint16(0, true);
    const sw = dv.getUint16(2, true);
    this.top = (sw >> 11) & 7;
    this.fsw = sw & ~0x3800;
    this.syncErrorSummary();
    this.fop = dv.getUint16(6, true) & 0x7ff;
    if (wide) { this.fip = Number(dv.getBigInt64(8, true)); this.fdp = Number(dv.getBigInt64(16, true)); }
    else { this.fip = dv.getUint32(8, true); this.fcs = dv.getUint16(12, true); this.fdp = dv.getUint32(16, true); this.fds = dv.getUint16(20, true); }
    this.mxcsr = mx;
    for (let i = 0; i < 8; i++) this.st.set(img.subarray(32 + i * 16, 42 + i * 16), ((this.top + i) & 7) * 10);
    // Rebuild the full tag word from the abridged one and the register contents.
    const abridged = img[4]!;
    let ftw = 0;
    for (let n = 0; n < 8; n++) ftw |= ((abridged >> n) & 1) === 0 ? 3 << (n * 2) : this.classify(n) << (n * 2);
    this.ftw = ftw;
    this.xmm.set(img.subarray(160, 416));
    return true;
  }

  /** Tag class of a non-empty physical register: 0 valid, 1 zero, 2 special (NaN, inf, denormal, unnormal). */
  classify(n: number): number {
    const b = this.st.subarray(n * 10, n * 10 + 10);
    const exp = (b[8]! | (b[9]! << 8)) & 0x7fff;
    let mantZero = true;
    for (let k = 0; k < 8; k++) if (b[k] !== 0) { mantZero = false; break; }
    if (exp === 0) return mantZero ? 1 : 2;
    if (exp === 0x7fff) return 2;
    return (b[7]! & 0x80) !== 0 ? 0 : 2;
  }

  save(): SavedState {
    return {
      id: 'x86.fpu', version: 1,
      data: {
        xmm: this.xmm.slice(), mxcsr: this.mxcsr, st: this.st.slice(),
        words: [this.fcw, this.fsw, this.top, this.ftw, this.fop, this.fip, this.fcs, this.fdp, this.fds],
      },
    };
  }

  restore(state: SavedState): void {
    const d = expectState(state, 'x86.fpu', 1);
    const xmm = stateBytes('x86.fpu', d, 'xmm', 256), st = stateBytes('x86.fpu', d, 'st', 80);
    const mxcsr = stateNumber('x86.fpu', d, 'mxcsr');
    const w = d['words'];
    if (!Array.isArray(w) || w.length !== 9 || w.some((x) => typeof x !== 'number')) throw new Error("saved state 'x86.fpu': field 'words' must be 9 numbers");
    this.xmm.set(xmm); this.st.set(st); this.mxcsr = mxcsr;
    [this.fcw, this.fsw, this.top, this.ftw, this.fop, this.fip, this.fcs, this.fdp, this.fds] = w as number[] as [number, number, number, number, number, number, number, number, number];
  }
}

/** FSW error summary (ES) and busy (B, a copy of ES on every processor since the 387). */
const FSW_ES = 0x80, FSW_B = 0x8000;

/** MXCSR bits this processor implements (DAZ included). */
export const MXCSR_MASK = 0xffff;
