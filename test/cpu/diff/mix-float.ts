/**
 * SSE/SSE2 floating-point templates: operands from a mix of normals, zeros, infinities, NaNs
 * (quiet and signaling) and denormals; MXCSR with every rounding mode, DAZ/FTZ, and sometimes
 * unmasked exceptions (both sides must then raise #XM).
 */
import { pointInto, type MixTemplate, type Case, type Rng } from './mix.js';

const F32 = new Float32Array(1), U32 = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1), U64 = new BigUint64Array(F64.buffer);

function value32(r: Rng): number {
  const k = r.below(12);
  const specials = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0x00000001, 0x807fffff, 0x7f7fffff, 0x00800000];
  if (k < 3) return specials[r.below(specials.length)]!;
  if (k < 4) return Number(r.next() & 0xffffffffn);
  F32[0] = (Number(r.next() % 2000001n) - 1000000) / (1 + r.below(1000)) * 2 ** (r.below(60) - 30);
  return U32[0]!;
}
function value64(r: Rng): bigint {
  const k = r.below(12);
  const specials = [0n, 0x8000000000000000n, 0x3ff0000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n,
    0x7ff4000000000001n, 1n, 0x800fffffffffffffn, 0x7fefffffffffffffn, 0x0010000000000000n];
  if (k < 3) return specials[r.below(specials.length)]!;
  if (k < 4) return r.next();
  F64[0] = (Number(r.next() % 2000000001n) - 1000000000) / (1 + r.below(100000)) * 2 ** (r.below(200) - 100);
  return U64[0]!;
}

function fpSetup(double: boolean, unmask: boolean) {
  return (c: Case, r: Rng): void => {
    pointInto(c, 3, 0x800);
    const dv = new DataView(c.fx.buffer);
    for (let x = 0; x < 16; x++) {
      if (double) for (let k = 0; k < 2; k++) dv.setBigUint64(160 + x * 16 + k * 8, value64(r), true);
      else for (let k = 0; k < 4; k++) dv.setUint32(160 + x * 16 + k * 4, value32(r), true);
    }
    const mem = new DataView(c.data.buffer);
    for (let k = 0; k < 4; k++) {
      if (double) mem.setBigUint64(0x800 + k * 8, value64(r), true);
      else mem.setUint32(0x800 + k * 4, value32(r), true);
    }
    let mx = 0x1f80 | (r.below(4) << 13);
    if (r.below(4) === 0) mx |= 0x40;    // DAZ
    if (r.below(4) === 0) mx |= 0x8000;  // FTZ
    if (unmask && r.below(3) === 0) mx &= ~(0x80 << r.below(6));
    dv.setUint32(24, mx, true);
  };
}

export function floatMix(): MixTemplate[] {
  const t: MixTemplate[] = [];
  for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt']) {
    for (const [suffix, dbl] of [['ps', false], ['ss', false], ['pd', true], ['sd', true]] as const) {
      t.push({ asm: `${op}${suffix} xmm1, xmm2`, setup: fpSetup(dbl, true) });
      t.push({ asm: `${op}${suffix} xmm3, [rbx]`, setup: fpSetup(dbl, false) });
    }
  }
  for (let p = 0; p < 8; p++) {
    for (const [suffix, dbl] of [['ps', false], ['ss', false], ['pd', true], ['sd', true]] as const) {
      t.push({ asm: `cmp${suffix} xmm1, xmm2, ${p}`, setup: fpSetup(dbl, true) });
    }
  }
  for (const [m, dbl] of [['comiss', false], ['ucomiss', false], ['comisd', true], ['ucomisd', true]] as const) {
    t.push({ asm: `${m} xmm1, xmm2`, setup: fpSetup(dbl, true) });
    t.push({ asm: `${m} xmm1, [rbx]`, setup: fpSetup(dbl, false) });
  }
  return t;
}

export { fpSetup };
