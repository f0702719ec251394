/**
 * x87 templates of the operand-mix set (see mix.ts): ST(0)-ST(3) hold a mix of normal, denormal, zero,
 * infinite, NaN (quiet, signaling), unsupported and integral 80-bit values; FCW gets every
 * precision and rounding control, sometimes with unmasked exceptions; memory operands come from a
 * similar mix. Transcendentals are left out: they are binary64-accurate here (see x87-transcendental.ts).
 */
import { pointInto, type MixTemplate, type Case, type Rng } from './mix.js';

const F64 = new Float64Array(1), U64 = new BigUint64Array(F64.buffer);

/** One 80-bit value as [sign/exponent word, 64-bit significand]. */
function value80(r: Rng): [number, bigint] {
  const s = r.below(2) << 15;
  switch (r.below(14)) {
    case 0: return [s, 0n];
    case 1: return [s | 0x7fff, 1n << 63n];
    case 2: return [s | 0x7fff, 0xc000000000000000n | (r.next() >> 2n)];       // QNaN
    case 3: return [s | 0x7fff, 0x8000000000000001n | (r.next() >> 3n)];       // SNaN
    case 4: return [s, r.next() >> 1n];                                         // denormal
    case 5: return [s | (r.below(0x7ffe) + 1), r.next() >> 1n];                 // unnormal
    case 6: return [s | (0x3fff + r.below(70)), (1n << 63n) | ((r.next() >> BigInt(20 + r.below(40))) << 0n)]; // integral-ish
    case 7: return [s | (0x3fff + r.below(5) - 2), (1n << 63n) | r.next()];
    case 8: return [s | (r.below(2) ? 0x7ffe : 1), (1n << 63n) | r.next()];      // range edges
    default: {
      F64[0] = (Number(r.next() % 2000001n) - 1000000) / (1 + r.below(1000)) * 2 ** (r.below(80) - 40);
      const b = U64[0]!;
      const exp = Number((b >> 52n) & 0x7ffn), frac = b & ((1n << 52n) - 1n);
      if (exp === 0) return [s, 0n];
      return [Number(b >> 63n) << 15 | (exp - 1023 + 16383), ((1n << 52n) | frac) << 11n | (r.below(3) === 0 ? r.next() & 0x7ffn : 0n)];
    }
  }
}

function put80(dv: DataView, off: number, v: [number, bigint]): void {
  dv.setBigUint64(off, v[1], true);
  dv.setUint16(off + 8, v[0], true);
}

export interface X87Options { unmask?: boolean; fullStack?: boolean; memKind?: 'r32' | 'r64' | 'r80' | 'i16' | 'i32' | 'i64' | 'bcd' }

export function x87Setup(o: X87Options = {}) {
  return (c: Case, r: Rng): void => {
    pointInto(c, 3, 0x800);
    const dv = new DataView(c.fx.buffer);
    const n = o.fullStack ? 8 : 4;
    for (let k = 0; k < n; k++) put80(dv, 32 + k * 16, value80(r));
    c.fx[4] = o.fullStack ? 0xff : 0x0f;  // TOP = 0: ST(i) is physical register i
    let cw = 0x037f | (r.below(4) << 10);
    const pc = [0, 2, 3, 3][r.below(4)]!;
    cw = (cw & ~0x300) | (pc << 8);
    if (o.unmask && r.below(3) === 0) cw &= ~(1 << r.below(6));
    dv.setUint16(0, cw, true);
    const mem = new DataView(c.data.buffer);
    switch (o.memKind) {
      case 'r80': put80(mem, 0x800, value80(r)); break;
      case 'r64': { const v = value80(r); const m = v[1] >> 11n; mem.setBigUint64(0x800, (BigInt(v[0] >> 15) << 63n) | (BigInt(r.below(8) === 0 ? 0x7ff : r.below(2) ? 1023 + r.below(60) - 30 : r.below(3)) << 52n) | (m & ((1n << 52n) - 1n)), true); break; }
      case 'r32': { const v = value80(r); mem.setUint32(0x800, ((v[0] >> 15) << 31 | ((r.below(8) === 0 ? 0xff : r.below(2) ? 127 + r.below(40) - 20 : r.below(3)) << 23) | Number((v[1] >> 40n) & 0x7fffffn)) >>> 0, true); break; }
      case 'i16': if (r.below(2)) mem.setInt16(0x800, r.below(200) - 100, true); break;
      case 'i32': if (r.below(2)) mem.setInt32(0x800, r.below(20000) - 10000, true); break;
      case 'bcd': {
        for (let k = 0; k < 9; k++) mem.setUint8(0x800 + k, (r.below(10) << 4) | r.below(10));
        mem.setUint8(0x809, r.below(2) << 7);
        break;
      }
      default: break;
    }
  };
}

const ARITH = ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'];

export function x87Mix(): MixTemplate[] {
  const t: MixTemplate[] = [];
  const x = (asm: string, o: X87Options = {}, extra: Partial<MixTemplate> = {}): void => { t.push({ asm, compareX87: true, setup: x87Setup(o), ...extra }); };
  for (const op of ARITH) {
    x(`${op} st0, st1`, { unmask: true });
    x(`${op} st2, st0`, { unmask: true });
    x(`${op}p st1, st0`);
    x(`${op} dword [rbx]`, { memKind: 'r32' });
    x(`${op} qword [rbx]`, { memKind: 'r64', unmask: true });
    x(`fi${op.slice(1)} word [rbx]`, { memKind: 'i16' });
    x(`fi${op.slice(1)} dword [rbx]`, { memKind: 'i32' });
  }
  for (const m of ['dword', 'qword', 'tword']) {
    const kind = m === 'dword' ? 'r32' : m === 'qword' ? 'r64' : 'r80';
    x(`fld ${m} [rbx]`, { memKind: kind });
    x(`fld ${m} [rbx]`, { memKind: kind, fullStack: true });
    x(`fstp ${m} [rbx]`, { unmask: true });
    if (m !== 'tword') x(`fst ${m} [rbx]`, {});
  }
  for (const m of ['word', 'dword', 'qword']) {
    x(`fild ${m} [rbx]`, { memKind: m === 'word' ? 'i16' : m === 'dword' ? 'i32' : 'i64' });
    x(`fistp ${m} [rbx]`, { unmask: true });
    x(`fisttp ${m} [rbx]`, {});
    if (m !== 'qword') x(`fist ${m} [rbx]`, {});
  }
  x('fbld [rbx]', { memKind: 'bcd' });
  x('fbstp [rbx]', {});
  x('fld st2'); x('fld st5'); x('fst st3'); x('fstp st2'); x('fxch st2'); x('fxch st6');
  x('ffree st1'); x('fincstp'); x('fdecstp'); x('fnop');
  for (const k of ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz']) { x(k); x(k, { fullStack: true }); }
  for (const k of ['fchs', 'fabs', 'fsqrt', 'frndint', 'fscale', 'fxtract', 'fprem', 'fprem1', 'ftst', 'fxam']) { x(k, { unmask: true }); x(k); }
  for (const k of ['fcom st1', 'fcomp st2', 'fcompp', 'fucom st1', 'fucomp st3', 'fucompp', 'fcom dword [rbx]', 'fcomp qword [rbx]', 'ficom word [rbx]', 'ficomp dword [rbx]']) {
    x(k, { memKind: k.includes('dword') ? (k.startsWith('fi') ? 'i32' : 'r32') : k.includes('qword') ? 'r64' : 'i16' });
  }
  for (const k of ['fcomi st0, st1', 'fucomi st0, st2', 'fcomip st0, st1', 'fucomip st0, st3']) x(k);
  for (const k of ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', 'fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu']) x(`${k} st0, st2`);
  x('fninit'); x('fnclex', { unmask: true });
  x('fnstsw ax', { unmask: true }); x('fnstcw [rbx]'); x('fldcw [rbx]', {}, { setup: (c, r) => { x87Setup()(c, r); c.data[0x800] = 0x7f; c.data[0x801] = r.below(16); } });
  // The environment's instruction/data pointers hold host addresses: not compared.
  x('fnstenv [rbx]', { unmask: true }, { ignoreMemory: [[0x80c, 16]] });
  x('fnsave [rbx]', {}, { ignoreMemory: [[0x80c, 16]] });
  return t;
}
