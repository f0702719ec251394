/**
 * MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 templates. XMM registers start with float, double
 * or integer-edge lanes; [rbx] (16-byte aligned) holds another such vector; MXCSR takes every
 * rounding mode, DAZ/FTZ, sticky flags and now and then unmasked exceptions (#XM).
 * Register-register forms use xmm1, xmm2 (and xmm9, xmm14 for REX); memory forms [rbx].
 */
import type { Rng } from './rng.js';
import { R, RBX_OFFSET, putData, type Template } from './template.js';
import { randomMxcsr, randomVector, setMxcsr, encodeF80, view, setX87Stack } from './fx.js';
import { DATA_BASE, type CaseInput } from './wire.js';

function sse(c: CaseInput, r: Rng): void {
  setMxcsr(c.fxsave, randomMxcsr(r));
  putData(c, RBX_OFFSET, randomVector(r));
  putData(c, RBX_OFFSET + 16, randomVector(r));
}
/** MMX registers are the x87 significands; MMX code sees them with any TOP and tags. */
function mmx(c: CaseInput, r: Rng): void {
  sse(c, r);
  const regs = Array.from({ length: 8 }, () => { const v = randomVector(r, 'int'); return encodeF80(1, 0x7fff, view(v).getBigUint64(0, true)); });
  setX87Stack(c.fxsave, 0, regs);
}

export function sseTemplates(): Template[] {
  const t: Template[] = [];
  const add = (asm: string, needs: string, o: Omit<Partial<Template>, 'area' | 'asm'> = {}): void => {
    t.push({ name: asm.replace(/\n/g, '; '), area: 'sse', asm, needs: [needs], init: sse, ...o });
  };
  const rm = (op: string, needs: string, o: Omit<Partial<Template>, 'area' | 'asm'> = {}, extra = ''): void => {
    add(`${op} xmm1, xmm2${extra}`, needs, o); add(`${op} xmm9, xmm14${extra}`, needs, o); add(`${op} xmm1, [rbx]${extra}`, needs, o);
  };
  // SSE/SSE2 floating point, packed and scalar.
  for (const [sfx, needs] of [['ps', 'sse'], ['pd', 'sse2'], ['ss', 'sse'], ['sd', 'sse2']] as const) {
    for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt']) rm(op + sfx, needs);
    for (let p = 0; p < 8; p++) rm('cmp' + sfx, needs, {}, `, ${p}`);
    if (sfx.startsWith('p')) { for (const op of ['and', 'andn', 'or', 'xor', 'unpckl', 'unpckh']) rm(op + sfx, needs); rm('shuf' + sfx, needs, {}, ', 0x1b'); rm('shuf' + sfx, needs, {}, ', 0xe4'); }
  }
  for (const op of ['rcpps', 'rsqrtps', 'rcpss', 'rsqrtss']) rm(op, 'sse', { approxF32: true });
  for (const op of ['comiss', 'ucomiss']) rm(op, 'sse');
  for (const op of ['comisd', 'ucomisd']) rm(op, 'sse2');
  for (const m of ['movaps', 'movups', 'movapd', 'movupd', 'movdqa', 'movdqu']) { add(`${m} xmm3, xmm4`, 'sse2'); add(`${m} xmm3, [rbx]`, 'sse2'); add(`${m} [rbx+16], xmm5`, 'sse2'); }
  add('movaps xmm3, [rbx+8]', 'sse', { name: 'movaps xmm3, [rbx+8] (misaligned: #GP)' });
  add('movdqu xmm3, [rbx+9]', 'sse2');
  add('movss xmm1, xmm2', 'sse'); add('movss xmm1, [rbx]', 'sse'); add('movss [rbx+4], xmm1', 'sse');
  add('movsd xmm1, xmm2', 'sse2'); add('movsd xmm1, [rbx]', 'sse2'); add('movsd [rbx+4], xmm1', 'sse2');
  for (const m of ['movhps', 'movlps', 'movhpd', 'movlpd']) { add(`${m} xmm1, [rbx+8]`, 'sse2'); add(`${m} [rbx+8], xmm1`, 'sse2'); }
  add('movhlps xmm1, xmm2', 'sse'); add('movlhps xmm1, xmm2', 'sse');
  add('movmskps eax, xmm2', 'sse'); add('movmskpd r9d, xmm14', 'sse2'); add('pmovmskb eax, xmm2', 'sse2'); add('pmovmskb ecx, mm3', 'sse', { init: mmx });
  add('maskmovdqu xmm1, xmm2', 'sse2', { init: (c, r) => { sse(c, r); c.gpr[R.RDI] = BigInt(DATA_BASE + 0x8000 + r.below(0x40)); } });
  add('movntdq [rbx], xmm3', 'sse2'); add('movnti [rbx+8], rax', 'sse2'); add('movntps [rbx], xmm2', 'sse');
  add('ldmxcsr [rbx]\nstmxcsr [rbx+8]', 'sse', { init: (c, r) => { sse(c, r); putData(c, RBX_OFFSET, Uint8Array.of(...le32(randomMxcsr(r, 0.5) | (r.chance(0.1) ? 0x10000 : 0)))); } });
  add('stmxcsr [rbx+4]', 'sse');
  // Conversions, every rounding mode (MXCSR.RC is random per case).
  for (const [op, needs] of [['cvtps2pd', 'sse2'], ['cvtpd2ps', 'sse2'], ['cvtdq2ps', 'sse2'], ['cvtps2dq', 'sse2'], ['cvttps2dq', 'sse2'], ['cvtdq2pd', 'sse2'],
    ['cvtpd2dq', 'sse2'], ['cvttpd2dq', 'sse2'], ['cvtss2sd', 'sse2'], ['cvtsd2ss', 'sse2']] as const) rm(op, needs);
  for (const op of ['cvtss2si', 'cvttss2si', 'cvtsd2si', 'cvttsd2si']) {
    add(`${op} eax, xmm2`, 'sse2'); add(`${op} rax, xmm14`, 'sse2'); add(`${op} r10, [rbx]`, 'sse2');
  }
  for (const op of ['cvtsi2ss', 'cvtsi2sd']) { add(`${op} xmm1, eax`, 'sse2'); add(`${op} xmm1, rcx`, 'sse2'); add(`${op} xmm9, dword [rbx]`, 'sse2'); add(`${op} xmm9, qword [rbx]`, 'sse2'); }
  for (const op of ['cvtps2pi', 'cvttps2pi', 'cvtpd2pi', 'cvttpd2pi']) add(`${op} mm1, xmm2`, 'sse2', { init: mmx });
  add('cvtpi2ps xmm1, mm2', 'sse', { init: mmx }); add('cvtpi2pd xmm1, mm2', 'sse2', { init: mmx });
  // SSE2 integer.
  const ints = ['paddb', 'paddw', 'paddd', 'paddq', 'paddsb', 'paddsw', 'paddusb', 'paddusw', 'psubb', 'psubw', 'psubd', 'psubq', 'psubsb', 'psubsw',
    'psubusb', 'psubusw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'pavgb', 'pavgw', 'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'psadbw',
    'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'pand', 'pandn', 'por', 'pxor', 'psllw', 'pslld', 'psllq', 'psrlw', 'psrld',
    'psrlq', 'psraw', 'psrad', 'packsswb', 'packssdw', 'packuswb', 'punpcklbw', 'punpcklwd', 'punpckldq', 'punpckhbw', 'punpckhwd', 'punpckhdq'];
  for (const op of ints) {
    rm(op, 'sse2', shiftCounts(op));
    add(`${op} mm1, mm2`, 'mmx', { init: (c, r) => { mmx(c, r); shiftCounts(op).init?.(c, r); } });
  }
  rm('punpcklqdq', 'sse2'); rm('punpckhqdq', 'sse2');
  for (const op of ['psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad']) for (const n of [0, 1, 7, 15, 31, 63, 200]) { add(`${op} xmm3, ${n}`, 'sse2'); if (n < 64) add(`${op} mm3, ${n}`, 'mmx', { init: mmx }); }
  for (const op of ['pslldq', 'psrldq']) for (const n of [0, 1, 5, 15, 16, 255]) add(`${op} xmm3, ${n}`, 'sse2');
  for (const op of ['pshufd', 'pshufhw', 'pshuflw']) { rm(op, 'sse2', {}, ', 0x1b'); add(`${op} xmm1, xmm2, 0xa7`, 'sse2'); }
  add('pshufw mm1, mm2, 0x93', 'sse', { init: mmx });
  add('pextrw eax, xmm2, 5', 'sse2'); add('pinsrw xmm1, ecx, 6', 'sse2'); add('pinsrw xmm1, [rbx], 1', 'sse2'); add('pextrw eax, mm2, 2', 'sse', { init: mmx });
  add('movd xmm1, eax', 'sse2'); add('movq xmm1, rax', 'sse2'); add('movd eax, xmm1', 'sse2'); add('movq rcx, xmm14', 'sse2'); add('movq xmm1, xmm2', 'sse2'); add('movq xmm1, [rbx]', 'sse2'); add('movq [rbx+8], xmm2', 'sse2');
  add('movd mm1, eax', 'mmx', { init: mmx }); add('movq mm1, [rbx]', 'mmx', { init: mmx }); add('movq [rbx], mm4', 'mmx', { init: mmx }); add('movq rax, mm5', 'mmx', { init: mmx });
  add('movq2dq xmm1, mm2', 'sse2', { init: mmx }); add('movdq2q mm1, xmm2', 'sse2', { init: mmx }); add('emms', 'mmx', { init: mmx });
  add('paddb mm1, mm2\nemms', 'mmx', { init: mmx });
  // SSE3.
  for (const op of ['addsubps', 'addsubpd', 'haddps', 'haddpd', 'hsubps', 'hsubpd', 'movddup', 'movshdup', 'movsldup', 'lddqu']) {
    if (op === 'lddqu') { add('lddqu xmm1, [rbx+3]', 'pni'); continue; }
    rm(op, 'pni');
  }
  // SSSE3.
  for (const op of ['pabsb', 'pabsw', 'pabsd', 'phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw', 'pmulhrsw', 'pshufb', 'psignb', 'psignw', 'psignd']) {
    rm(op, 'ssse3'); add(`${op} mm1, mm2`, 'ssse3', { init: mmx });
  }
  for (const n of [0, 3, 8, 15, 16, 17, 31, 32]) { add(`palignr xmm1, xmm2, ${n}`, 'ssse3'); if (n < 17) add(`palignr mm1, mm2, ${n}`, 'ssse3', { init: mmx }); }
  // SSE4.1.
  for (const op of ['pmaxsb', 'pmaxsd', 'pmaxuw', 'pmaxud', 'pminsb', 'pminsd', 'pminuw', 'pminud', 'pmuldq', 'pmulld', 'packusdw', 'pcmpeqq', 'phminposuw',
    'pmovsxbw', 'pmovsxbd', 'pmovsxbq', 'pmovsxwd', 'pmovsxwq', 'pmovsxdq', 'pmovzxbw', 'pmovzxbd', 'pmovzxbq', 'pmovzxwd', 'pmovzxwq', 'pmovzxdq']) rm(op, 'sse4_1');
  for (const op of ['blendps', 'blendpd', 'pblendw', 'dpps', 'dppd', 'mpsadbw']) { rm(op, 'sse4_1', {}, ', 0x5a'); add(`${op} xmm1, xmm2, 0xff`, 'sse4_1'); add(`${op} xmm1, xmm2, 0x31`, 'sse4_1'); }
  for (const op of ['blendvps', 'blendvpd', 'pblendvb']) { add(`${op} xmm1, xmm2, xmm0`, 'sse4_1'); add(`${op} xmm9, [rbx], xmm0`, 'sse4_1'); }
  for (const op of ['roundps', 'roundpd', 'roundss', 'roundsd']) for (const m of [0, 1, 2, 3, 4, 8, 0xc]) rm(op, 'sse4_1', {}, `, ${m}`);
  add('ptest xmm1, xmm2', 'sse4_1'); add('ptest xmm9, [rbx]', 'sse4_1'); add('ptest xmm1, xmm1', 'sse4_1');
  add('extractps eax, xmm2, 2', 'sse4_1'); add('extractps [rbx+4], xmm2, 3', 'sse4_1');
  for (const imm of ['0x00', '0x4e', '0xf3', '0x3c']) { add(`insertps xmm1, xmm2, ${imm}`, 'sse4_1'); add(`insertps xmm1, [rbx], ${imm}`, 'sse4_1'); }
  add('pextrb eax, xmm2, 13', 'sse4_1'); add('pextrd ecx, xmm2, 3', 'sse4_1'); add('pextrq rcx, xmm14, 1', 'sse4_1'); add('pextrb [rbx+1], xmm2, 7', 'sse4_1'); add('pextrw [rbx+2], xmm2, 7', 'sse4_1');
  add('pinsrb xmm1, eax, 9', 'sse4_1'); add('pinsrd xmm1, [rbx], 2', 'sse4_1'); add('pinsrq xmm1, rcx, 1', 'sse4_1');
  add('movntdqa xmm1, [rbx]', 'sse4_1');
  // SSE4.2: string compares (every imm8 aggregation/polarity/size class), PCMPGTQ, CRC32, POPCNT.
  rm('pcmpgtq', 'sse4_2');
  const strLen = (c: CaseInput, r: Rng): void => { sse(c, r); c.gpr[R.RAX] = BigInt.asUintN(64, BigInt(r.below(40) - 20)); c.gpr[R.RDX] = BigInt.asUintN(64, BigInt(r.below(40) - 20)); sparseStrings(c, r); };
  for (const imm of [0x00, 0x01, 0x04, 0x08, 0x0c, 0x14, 0x18, 0x1a, 0x30, 0x38, 0x40, 0x44, 0x4c, 0x70, 0x02, 0x03, 0x0d, 0x7b]) {
    const h = '0x' + imm.toString(16);
    add(`pcmpistri xmm1, xmm2, ${h}`, 'sse4_2', { init: (c, r) => { sse(c, r); sparseStrings(c, r); } });
    add(`pcmpistrm xmm1, [rbx], ${h}`, 'sse4_2', { init: (c, r) => { sse(c, r); sparseStrings(c, r); } });
    add(`pcmpestri xmm1, xmm2, ${h}`, 'sse4_2', { init: strLen });
    add(`pcmpestrm xmm1, [rbx], ${h}`, 'sse4_2', { init: strLen });
  }
  for (const s of ['al', 'cx', 'edx', 'byte [rbx]', 'word [rbx+1]', 'dword [rbx+2]']) add(`crc32 eax, ${s}`, 'sse4_2');
  add('crc32 rax, rcx', 'sse4_2'); add('crc32 rax, qword [rbx]', 'sse4_2'); add('crc32 r9, r10b', 'sse4_2');
  // SSE4.2, every meaningful imm8 (0-127). Each template runs an index form, saves its flags with
  // PUSHFQ (arithmetic bits only, so the window comparison checks them), then a mask form of the
  // other length kind: every instruction meets every imm8, with operand forms (REX registers,
  // aligned and unaligned memory) and REX.W lengths cycled by imm8.
  for (let imm = 0; imm < 128; imm++) {
    const h = '0x' + imm.toString(16), a = STR_FORMS[imm % 4]!, b = STR_FORMS[(imm + 2) % 4]!, w = imm % 3 === 0 ? 'o64 ' : '';
    const init = stringCase(imm, [a, b]);
    add(`${w}pcmpestri ${a.asm}, ${h}\n${SAVE_FLAGS}\npcmpistrm ${b.asm}, ${h}`, 'sse4_2', { init });
    add(`pcmpistri ${a.asm}, ${h}\n${SAVE_FLAGS}\n${w}pcmpestrm ${b.asm}, ${h}`, 'sse4_2', { init });
  }
  // imm8[7] is reserved: the host ignores it, and so must the engine.
  for (const imm of [0x80, 0x8d, 0xc4, 0xff]) {
    const h = '0x' + imm.toString(16), init = stringCase(imm, [STR_FORMS[0]!, STR_FORMS[2]!]);
    add(`pcmpestri xmm1, xmm2, ${h}\n${SAVE_FLAGS}\npcmpistrm xmm3, [rbx], ${h}`, 'sse4_2', { init });
  }
  add('pcmpgtq xmm1, xmm2', 'sse4_2', { name: 'pcmpgtq xmm1, xmm2 (edge quadwords)', init: qwordEdges });
  add('pcmpgtq xmm9, [rbx+16]', 'sse4_2', { name: 'pcmpgtq xmm9, [rbx+16] (edge quadwords)', init: qwordEdges });
  add('pcmpgtq xmm1, [rbx+8]', 'sse4_2', { name: 'pcmpgtq xmm1, [rbx+8] (misaligned: #GP)' });
  // CRC32: every source size and register class (high bytes, REX bytes, REX.W), memory at any
  // alignment, the 66-prefixed word form in both prefix orders, and a 16-byte chain.
  for (const s of ['bl', 'sil', 'r10b', 'byte [rbx+3]', 'r11w', 'word [rbx+5]', 'r12d', 'dword [rbx+7]', 'ecx']) add(`crc32 r9d, ${s}`, 'sse4_2');
  for (const s of ['dl', 'dil', 'byte [rbx+1]', 'r15', 'qword [rbx+9]']) add(`crc32 r14, ${s}`, 'sse4_2');
  add('crc32 eax, ah', 'sse4_2'); add('crc32 edx, bh', 'sse4_2');
  add('db 0xf2, 0x66, 0x0f, 0x38, 0xf1, 0xc1', 'sse4_2', { name: 'crc32 eax, cx (F2 before 66)' });
  add('db 0x66, 0xf2, 0x0f, 0x38, 0xf0, 0xc1', 'sse4_2', { name: 'crc32 eax, cl (66-prefixed byte form)' });
  add('db 0x66, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1', 'sse4_2', { name: 'crc32 rax, rcx (66 with REX.W)' });
  add('crc32 rax, qword [rbx]\ncrc32 rax, qword [rbx+8]', 'sse4_2');
  return t;
}

function le32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }

/** Shift-by-register forms take a count vector: keep it small most of the time so results vary. */
function shiftCounts(op: string): Omit<Partial<Template>, 'area' | 'asm'> {
  if (!/^ps[lr]/.test(op)) return {};
  return { init: (c, r) => { sse(c, r); const n = r.chance(0.8) ? r.below(70) : r.below(300); const v = new Uint8Array(16); v[0] = n & 0xff; v[1] = n >> 8; if (r.chance(0.1)) v[5] = 1; c.fxsave.set(v, 160 + 2 * 16); c.fxsave.set(v, 160 + 14 * 16); putData(c, RBX_OFFSET, v); } };
}

/** String-compare operands: a small alphabet with NUL terminators at random places. */
function sparseStrings(c: CaseInput, r: Rng): void {
  for (const x of [1, 2]) {
    const v = new Uint8Array(16);
    for (let i = 0; i < 16; i++) v[i] = r.chance(0.08) ? 0 : 0x61 + r.below(4);
    c.fxsave.set(v, 160 + x * 16);
  }
  const m = new Uint8Array(16);
  for (let i = 0; i < 16; i++) m[i] = r.chance(0.08) ? 0 : 0x61 + r.below(4);
  putData(c, RBX_OFFSET, m);
}

/** PUSHFQ keeping only CF PF AF ZF SF OF, so the saved image compares where both sides agree on IF/RF. */
const SAVE_FLAGS = 'pushfq\nand qword [rsp], 0x8d5';

/** A string-compare operand pair: nasm text, arg1's XMM register, arg2's XMM register or window offset. */
interface StrForm { asm: string; arg1: number; arg2: { xmm: number } | { mem: number } }
const STR_FORMS: StrForm[] = [
  { asm: 'xmm1, xmm2', arg1: 1, arg2: { xmm: 2 } },
  { asm: 'xmm9, xmm14', arg1: 9, arg2: { xmm: 14 } },
  { asm: 'xmm3, [rbx]', arg1: 3, arg2: { mem: RBX_OFFSET } },
  { asm: 'xmm4, [rbx+0x27]', arg1: 4, arg2: { mem: RBX_OFFSET + 0x27 } },
];

/** Byte elements: a small alphabet (so matches happen), sign-boundary values and zeros (terminators). */
const BYTE_ELEMS = [0x61, 0x62, 0x63, 0x64, 0x61, 0x62, 0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff];
/** Word elements: the same idea, with zero and non-zero halves in either byte. */
const WORD_ELEMS = [0x0061, 0x0062, 0x0063, 0x0061, 0x6100, 0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0xff61, 0x0080, 0x00ff];

function stringVector(r: Rng, words: boolean): Uint8Array {
  const v = new Uint8Array(16);
  const n = words ? 8 : 16;
  const zeros = r.pick([0, 0.05, 0.1, 0.3]);
  for (let k = 0; k < n; k++) {
    let e: number;
    if (r.chance(zeros)) e = 0;
    else if (r.chance(0.1)) e = r.below(words ? 0x10000 : 0x100);
    else e = r.pick(words ? WORD_ELEMS : BYTE_ELEMS);
    if (words) { v[2 * k] = e & 0xff; v[2 * k + 1] = e >> 8; } else v[k] = e;
  }
  return v;
}

/**
 * Relates arg1 to arg2 now and then, since random strings rarely agree: arg1 becomes a copy of
 * arg2 (equal each), a slice of it (equal ordered finds the needle, possibly at the end), or
 * ordered range pairs around arg2's elements (ranges).
 */
function relate(r: Rng, a1: Uint8Array, a2: Uint8Array, words: boolean): void {
  const size = words ? 2 : 1, n = 16 / size;
  switch (r.below(5)) {
    case 0: a1.set(a2); if (r.chance(0.5)) a1.fill(0, r.below(n) * size); break;
    case 1: { const at = r.below(n), len = 1 + r.below(n); a1.fill(0); a1.set(a2.subarray(at * size, Math.min(16, (at + len) * size))); if (r.chance(0.5)) a1.fill(0, r.below(n) * size); break; }
    case 2: {
      const dv = view(a1), src = view(a2), signed = r.chance(0.5);
      for (let k = 0; k + 1 < n; k += 2) {
        const x = size === 2 ? (signed ? src.getInt16(r.below(n) * 2, true) : src.getUint16(r.below(n) * 2, true)) : (signed ? src.getInt8(r.below(n)) : src.getUint8(r.below(n)));
        const lo = x - r.below(3), hi = x + r.below(3);
        if (size === 2) { dv.setUint16(k * 2, lo & 0xffff, true); dv.setUint16(k * 2 + 2, hi & 0xffff, true); } else { a1[k] = lo & 0xff; a1[k + 1] = hi & 0xff; }
      }
      break;
    }
    default: break; // unrelated strings
  }
}

/** An explicit length: in range, beyond it, negative, or a 64-bit value whose halves disagree (REX.W). */
function stringLength(r: Rng, n: number): bigint {
  switch (r.below(8)) {
    case 0: case 1: case 2: return BigInt(r.below(n + 1));
    case 3: return BigInt(n + 1 + r.below(20));
    case 4: return BigInt.asUintN(64, -BigInt(1 + r.below(n + 4)));
    case 5: return BigInt.asUintN(32, -BigInt(1 + r.below(n + 4))); // negative as EAX, huge as RAX
    case 6: return r.pick([0x7fffffffn, 0x80000000n, 0xffffffffn, 0x1_0000_0003n, 0xffffffff_00000004n, 0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffff_fffffff0n, 0xffffffff_ffffffefn, BigInt(n), 0n]);
    default: return r.u64();
  }
}

function stringCase(imm: number, forms: readonly StrForm[]): (c: CaseInput, r: Rng) => void {
  const words = (imm & 1) !== 0;
  return (c, r) => {
    sse(c, r);
    for (const f of forms) {
      const a1 = stringVector(r, words), a2 = stringVector(r, words);
      relate(r, a1, a2, words);
      c.fxsave.set(a1, 160 + f.arg1 * 16);
      if ('xmm' in f.arg2) c.fxsave.set(a2, 160 + f.arg2.xmm * 16); else putData(c, f.arg2.mem, a2);
    }
    c.gpr[R.RAX] = stringLength(r, words ? 8 : 16);
    c.gpr[R.RDX] = stringLength(r, words ? 8 : 16);
  };
}

/** Quadwords at the signed edges, and pairs equal in the high half so the low half decides unsigned. */
function qwordEdges(c: CaseInput, r: Rng): void {
  sse(c, r);
  const q = (): bigint => r.chance(0.5) ? r.edgy() : r.pick([0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x80000000n, 0xffffffff_7fffffffn]);
  const a = new Uint8Array(16), b = new Uint8Array(16);
  for (let k = 0; k < 2; k++) {
    const x = q();
    const y = r.chance(0.3) ? x : r.chance(0.5) ? (x & 0xffffffff_00000000n) | BigInt(r.u32()) : q();
    view(a).setBigUint64(k * 8, x, true); view(b).setBigUint64(k * 8, y, true);
  }
  c.fxsave.set(a, 160 + 16); c.fxsave.set(b, 160 + 2 * 16); c.fxsave.set(a, 160 + 9 * 16);
  putData(c, RBX_OFFSET + 16, b);
}
