/**
 * SSE/SSE2/MMX templates of the operand-mix set (see mix.ts): data movement, packed integer, shuffles, masks.
 */
import { pointInto, type MixTemplate, type Case } from './mix.js';

const mem = (c: Case): void => pointInto(c, 3, 0x800);

const PACKED_INT = ['paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'paddsb', 'paddsw', 'paddusb', 'paddusw',
  'psubsb', 'psubsw', 'psubusb', 'psubusw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'psadbw', 'pavgb', 'pavgw',
  'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'pand', 'pandn', 'por', 'pxor', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb', 'pcmpgtw',
  'pcmpgtd', 'punpcklbw', 'punpcklwd', 'punpckldq', 'punpckhbw', 'punpckhwd', 'punpckhdq', 'packsswb', 'packuswb', 'packssdw',
  'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad', 'psllw', 'pslld', 'psllq'];

export function sseMix(): MixTemplate[] {
  const t: MixTemplate[] = [];
  for (const op of PACKED_INT) {
    t.push({ asm: `${op} xmm1, xmm2` });
    t.push({ asm: `${op} xmm9, [rbx]`, setup: mem });
    t.push({ asm: `${op} mm1, mm2`, compareX87: true, setup: mmxInputs });
  }
  t.push({ asm: 'punpcklqdq xmm3, xmm4' }, { asm: 'punpckhqdq xmm3, [rbx]', setup: mem });
  for (const op of ['psrlw', 'psraw', 'psllw', 'psrld', 'psrad', 'pslld', 'psrlq', 'psllq']) {
    for (const n of [0, 1, 7, 15, 16, 31, 33, 63, 64, 200]) t.push({ asm: `${op} xmm5, ${n}` });
  }
  for (const n of [0, 1, 5, 15, 16, 100]) t.push({ asm: `psrldq xmm6, ${n}` }, { asm: `pslldq xmm6, ${n}` });
  for (const m of ['movdqa', 'movdqu', 'movaps', 'movups', 'movapd', 'movupd']) {
    t.push({ asm: `${m} xmm1, xmm2` }, { asm: `${m} xmm3, [rbx]`, setup: mem }, { asm: `${m} [rbx+16], xmm3`, setup: mem });
  }
  t.push({ asm: 'movdqu xmm3, [rbx+3]', setup: mem }, { asm: 'movups [rbx+5], xmm2', setup: mem });
  t.push({ asm: 'movdqa xmm3, [rbx+8]', setup: mem }); // misaligned: #GP on both
  for (const m of ['movss', 'movsd']) t.push({ asm: `${m} xmm1, xmm2` }, { asm: `${m} xmm1, [rbx]`, setup: mem }, { asm: `${m} [rbx], xmm7`, setup: mem });
  for (const m of ['movlps', 'movhps', 'movlpd', 'movhpd']) t.push({ asm: `${m} xmm1, [rbx]`, setup: mem }, { asm: `${m} [rbx], xmm2`, setup: mem });
  t.push({ asm: 'movhlps xmm1, xmm2' }, { asm: 'movlhps xmm1, xmm2' });
  t.push({ asm: 'movd xmm1, ecx' }, { asm: 'movq xmm1, rcx' }, { asm: 'movd ecx, xmm2' }, { asm: 'movq rcx, xmm2' }, { asm: 'movd xmm1, [rbx]', setup: mem });
  t.push({ asm: 'movq xmm1, xmm2' }, { asm: 'movq xmm1, [rbx]', setup: mem }, { asm: 'movq [rbx], xmm4', setup: mem });
  t.push({ asm: 'movd mm1, ecx', compareX87: true }, { asm: 'movq mm2, rcx', compareX87: true }, { asm: 'movd ecx, mm2', setup: mmxInputs }, { asm: 'movq mm1, mm2', compareX87: true, setup: mmxInputs });
  t.push({ asm: 'movq mm1, [rbx]', compareX87: true, setup: mem }, { asm: 'movq [rbx], mm3', setup: (c) => { mem(c); mmxInputs(c); } });
  for (const imm of [0x00, 0x1b, 0xe4, 0x4e, 0xff, 0x93]) {
    t.push({ asm: `pshufd xmm1, xmm2, ${imm}` }, { asm: `pshufhw xmm1, xmm2, ${imm}` }, { asm: `pshuflw xmm1, [rbx], ${imm}`, setup: mem });
    t.push({ asm: `shufps xmm1, xmm2, ${imm}` }, { asm: `shufpd xmm1, xmm2, ${imm & 3}` }, { asm: `pshufw mm1, mm2, ${imm}`, compareX87: true, setup: mmxInputs });
  }
  for (const m of ['unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'andps', 'andnps', 'orps', 'xorps', 'andpd', 'andnpd', 'orpd', 'xorpd']) {
    t.push({ asm: `${m} xmm1, xmm2` }, { asm: `${m} xmm1, [rbx]`, setup: mem });
  }
  t.push({ asm: 'pmovmskb ecx, xmm2' }, { asm: 'movmskps ecx, xmm2' }, { asm: 'movmskpd ecx, xmm2' });
  for (const k of [0, 3, 7]) t.push({ asm: `pextrw ecx, xmm2, ${k}` }, { asm: `pinsrw xmm1, ecx, ${k}` }, { asm: `pinsrw xmm1, [rbx], ${k}`, setup: mem });
  t.push({ asm: 'maskmovdqu xmm1, xmm2', setup: (c) => pointInto(c, 7, 0x700) });
  // MXCSR_MASK (image bytes 28-31) describes the processor model, not the state.
  t.push({ asm: 'fxsave [rbx]', setup: mem, ignoreMemory: [[0x81c, 4]] }, { asm: 'fxsave64 [rbx]', setup: mem, ignoreMemory: [[0x81c, 4]] }, { asm: 'stmxcsr [rbx]', setup: mem });
  t.push({ asm: 'ldmxcsr [rbx]', setup: (c) => { mem(c); c.data[0x800] = 0x80; c.data[0x801] = 0x3f; c.data[0x802] = 0; c.data[0x803] = 0; } });
  t.push({ asm: 'emms', compareX87: true, setup: mmxInputs });
  return t;
}

/** MMX cases start from valid x87 tags so that the aliasing is exercised. */
function mmxInputs(c: Case): void {
  void c;
}
