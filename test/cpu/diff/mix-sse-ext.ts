/**
 * SSE/SSE2 conversions, SSE3 arithmetic, SSSE3 and SSE4.1 templates of the operand-mix set (see
 * mix.ts), with the float set's operand/MXCSR mix (rounding modes, DAZ/FTZ, unmasked exceptions).
 */
import type { MixTemplate, Case, Rng } from './mix.js';
import { fpSetup } from './mix-float.js';

/** Integer sources: the generator's edgy register values, and small ones that convert exactly. */
function intSetup(c: Case, r: Rng): void {
  fpSetup(false, true)(c, r);
  if (r.below(2) === 0) c.regs[1] = BigInt.asUintN(64, BigInt(r.below(2000001) - 1000000));
}

export function sseExtMix(): MixTemplate[] {
  const t: MixTemplate[] = [];
  const f = (asm: string, dbl: boolean, unmask = true): void => { t.push({ asm, setup: fpSetup(dbl, unmask) }); };
  for (const tt of ['', 't']) {
    f(`cvt${tt}ss2si ecx, xmm2`, false); f(`cvt${tt}ss2si rcx, xmm2`, false); f(`cvt${tt}ss2si ecx, [rbx]`, false, false);
    f(`cvt${tt}sd2si ecx, xmm2`, true); f(`cvt${tt}sd2si rcx, xmm2`, true); f(`cvt${tt}sd2si rcx, [rbx]`, true, false);
    f(`cvt${tt}ps2dq xmm1, xmm2`, false); f(`cvt${tt}pd2dq xmm1, xmm2`, true); f(`cvt${tt}pd2dq xmm1, [rbx]`, true, false);
  }
  f('cvtdq2ps xmm1, xmm2', false); f('cvtdq2pd xmm1, xmm2', false); f('cvtdq2pd xmm1, [rbx]', false, false);
  f('cvtps2pd xmm1, xmm2', false); f('cvtps2pd xmm1, [rbx]', false, false); f('cvtpd2ps xmm1, xmm2', true); f('cvtpd2ps xmm1, [rbx]', true, false);
  f('cvtss2sd xmm1, xmm2', false); f('cvtss2sd xmm1, [rbx]', false, false); f('cvtsd2ss xmm1, xmm2', true); f('cvtsd2ss xmm1, [rbx]', true, false);
  for (const m of ['cvtsi2ss xmm1, ecx', 'cvtsi2ss xmm1, rcx', 'cvtsi2sd xmm1, ecx', 'cvtsi2sd xmm1, rcx', 'cvtsi2sd xmm1, dword [rbx]', 'cvtsi2ss xmm1, qword [rbx]']) {
    t.push({ asm: m, setup: intSetup });
  }
  for (const m of ['addsubps', 'haddps', 'hsubps']) f(`${m} xmm1, xmm2`, false);
  for (const m of ['addsubpd', 'haddpd', 'hsubpd']) f(`${m} xmm1, xmm2`, true);
  for (const m of ['movddup', 'movsldup', 'movshdup']) { f(`${m} xmm1, xmm2`, false); f(`${m} xmm3, [rbx]`, false, false); }
  f('lddqu xmm3, [rbx+3]', false, false);
  f('haddps xmm3, [rbx]', false, false); f('hsubpd xmm3, [rbx]', true, false);
  const mapped = t.map((x) => ({ ...x, needs: /^(h|addsub|movddup|movs[lh]dup|lddqu)/.test(x.asm) ? 'pni' : 'sse2' }));
  for (const op of ['pshufb', 'phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw', 'pmulhrsw', 'psignb', 'psignw', 'psignd', 'pabsb', 'pabsw', 'pabsd']) {
    mapped.push({ asm: `${op} xmm1, xmm2`, setup: fpSetup(false, false), needs: 'ssse3' });
    mapped.push({ asm: `${op} xmm3, [rbx]`, setup: fpSetup(false, false), needs: 'ssse3' });
    mapped.push({ asm: `${op} mm1, mm2`, setup: mmx, needs: 'ssse3', compareX87: true });
  }
  for (const imm of [0, 1, 5, 8, 15, 16, 17, 31, 32, 200]) {
    mapped.push({ asm: `palignr xmm1, xmm2, ${imm}`, setup: fpSetup(false, false), needs: 'ssse3' });
    mapped.push({ asm: `palignr mm1, [rbx], ${imm & 15}`, setup: mmx, needs: 'ssse3', compareX87: true });
  }
  const s41 = (asm: string, dbl = false, unmask = false): void => { mapped.push({ asm, setup: fpSetup(dbl, unmask), needs: 'sse4_1' }); };
  for (const m of ['pminsb', 'pminsd', 'pminuw', 'pminud', 'pmaxsb', 'pmaxsd', 'pmaxuw', 'pmaxud', 'pmulld', 'pmuldq', 'pcmpeqq', 'packusdw', 'phminposuw',
    'pblendvb', 'blendvps', 'blendvpd', 'ptest']) { s41(`${m} xmm1, xmm2`); s41(`${m} xmm3, [rbx]`); }
  for (const m of ['pmovsxbw', 'pmovsxbd', 'pmovsxbq', 'pmovsxwd', 'pmovsxwq', 'pmovsxdq', 'pmovzxbw', 'pmovzxbd', 'pmovzxbq', 'pmovzxwd', 'pmovzxwq', 'pmovzxdq']) {
    s41(`${m} xmm1, xmm2`); s41(`${m} xmm3, [rbx+1]`);
  }
  for (const imm of [0, 1, 5, 0xa, 0x3c, 0xff, 0x71, 0xe4]) {
    s41(`blendps xmm1, xmm2, ${imm & 15}`); s41(`blendpd xmm1, [rbx], ${imm & 3}`); s41(`pblendw xmm1, xmm2, ${imm}`);
    s41(`insertps xmm1, xmm2, ${imm}`); s41(`insertps xmm1, [rbx], ${imm}`); s41(`mpsadbw xmm1, xmm2, ${imm & 7}`);
    s41(`pextrb ecx, xmm2, ${imm}`); s41(`pextrw [rbx], xmm2, ${imm}`); s41(`pextrd ecx, xmm2, ${imm}`); s41(`pextrq rcx, xmm2, ${imm}`); s41(`extractps ecx, xmm2, ${imm}`);
    s41(`pinsrb xmm1, ecx, ${imm}`); s41(`pinsrd xmm1, [rbx], ${imm}`); s41(`pinsrq xmm1, rcx, ${imm}`);
    s41(`dpps xmm1, xmm2, ${imm}`, false, true); s41(`dppd xmm1, xmm2, ${imm & 0x33}`, true, true);
  }
  for (const imm of [0, 1, 2, 3, 4, 8, 9, 12]) {
    s41(`roundps xmm1, xmm2, ${imm}`, false, true); s41(`roundpd xmm1, xmm2, ${imm}`, true, true);
    s41(`roundss xmm1, [rbx], ${imm}`); s41(`roundsd xmm1, xmm2, ${imm}`, true);
  }
  s41('movntdqa xmm1, [rbx]');
  return mapped;
}

/** MMX operands: random x87 register contents (the MMX aliases), compared with the x87 image. */
function mmx(c: Case, r: Rng): void {
  fpSetup(false, false)(c, r);
  const dv = new DataView(c.fx.buffer);
  for (let k = 0; k < 8; k++) { dv.setBigUint64(32 + k * 16, r.edgy(), true); dv.setUint16(40 + k * 16, 0xffff, true); }
  c.fx[4] = 0xff;
}
