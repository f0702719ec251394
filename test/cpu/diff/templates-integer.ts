/**
 * Integer instruction templates for 64-bit mode, with the flags the SDM (Vol. 2 instruction pages,
 * "Flags Affected") leaves undefined. Memory forms address [rbx+disp]; RBX points at the middle
 * of the data window and the bytes around it are random per case.
 */
import type { Rng } from './rng.js';
import { ARITH, F, R, RBX_OFFSET, le64, putData, type Template } from './template.js';
import { DATA_BASE, DATA_SIZE, type CaseInput } from './wire.js';

const { CF, PF, AF, ZF, SF, OF } = F;
type Size = 8 | 16 | 32 | 64;
const SIZES: Size[] = [8, 16, 32, 64];
const PTR: Record<Size, string> = { 8: 'byte', 16: 'word', 32: 'dword', 64: 'qword' };
const NAMES: Record<string, Record<Size, string>> = {};
for (const [r, b] of [['a', 'al'], ['c', 'cl'], ['d', 'dl'], ['b', 'bl']] as const) NAMES[r] = { 8: b, 16: `${r}x`, 32: `e${r}x`, 64: `r${r}x` };
for (const [r, b] of [['si', 'sil'], ['di', 'dil'], ['bp', 'bpl']] as const) NAMES[r] = { 8: b, 16: r, 32: `e${r}`, 64: `r${r}` };
for (let n = 8; n < 16; n++) NAMES[`r${n}`] = { 8: `r${n}b`, 16: `r${n}w`, 32: `r${n}d`, 64: `r${n}` };
const reg = (r: string, s: Size): string => NAMES[r]![s];
const CONDS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

const win = (off: number): bigint => BigInt(DATA_BASE + off);
/** A shift/rotate count in CL: mostly 0..width+2, sometimes any byte (counts are masked to 5/6 bits). */
const count = (c: CaseInput, r: Rng): void => { c.gpr[R.RCX] = BigInt(r.chance(0.75) ? r.below(68) : r.below(256)) | (r.u64() & ~0xffn); };

export function integerTemplates(): Template[] {
  const t: Template[] = [];
  const add = (name: string, asm: string, o: Omit<Template, 'name' | 'area' | 'asm'> = {}): void => { t.push({ name, area: 'integer', asm, ...o }); };
  const same = (asm: string, o: Omit<Template, 'name' | 'area' | 'asm'> = {}): void => add(asm.replace(/\n/g, '; '), asm, o);

  // ALU: every operand size, register, memory and immediate forms; ADC/SBB take CF from the input.
  for (const op of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test']) {
    const u = op === 'and' || op === 'or' || op === 'xor' || op === 'test' ? AF : 0;
    for (const s of SIZES) {
      same(`${op} ${reg('a', s)}, ${reg('c', s)}`, { undefinedFlags: u });
      same(`${op} ${reg('r9', s)}, ${reg('r12', s)}`, { undefinedFlags: u });
      same(`${op} ${PTR[s]} [rbx+8], ${reg('d', s)}`, { undefinedFlags: u });
      if (op !== 'test') same(`${op} ${reg('si', s)}, ${PTR[s]} [rbx-24]`, { undefinedFlags: u });
      same(`${op} ${PTR[s]} [rbx+3], ${s === 8 ? '0x81' : '-3'}`, { undefinedFlags: u });
      same(`${op} ${reg('a', s)}, ${s === 8 ? '0x7f' : s === 16 ? '0x8001' : '0x7ffffff0'}`, { undefinedFlags: u });
      if (s !== 8 && op !== 'test') same(`${op} ${reg('di', s)}, byte 0x80`, { undefinedFlags: u });
    }
    same(`${op} ah, ch`, { undefinedFlags: u });
    same(`${op} sil, dil`, { undefinedFlags: u });
    if (op !== 'cmp' && op !== 'test') same(`lock ${op} qword [rbx+16], rax`, { undefinedFlags: u });
  }
  for (const op of ['inc', 'dec', 'neg', 'not']) {
    for (const s of SIZES) { same(`${op} ${reg('c', s)}`); same(`${op} ${PTR[s]} [rbx+5]`); }
    same(`${op} bh`);
  }
  // MUL/IMUL: SF ZF AF PF undefined; DIV/IDIV: all six undefined.
  const MULU = SF | ZF | AF | PF;
  for (const s of SIZES) {
    same(`mul ${reg('c', s)}`, { undefinedFlags: MULU });
    same(`mul ${PTR[s]} [rbx]`, { undefinedFlags: MULU });
    same(`imul ${reg('r10', s)}`, { undefinedFlags: MULU });
    same(`imul ${PTR[s]} [rbx+8]`, { undefinedFlags: MULU });
    if (s !== 8) {
      same(`imul ${reg('a', s)}, ${reg('r11', s)}`, { undefinedFlags: MULU });
      same(`imul ${reg('d', s)}, ${PTR[s]} [rbx-8]`, { undefinedFlags: MULU });
      same(`imul ${reg('si', s)}, ${reg('di', s)}, -7`, { undefinedFlags: MULU });
      same(`imul ${reg('si', s)}, ${PTR[s]} [rbx], ${s === 16 ? '0x7abc' : '0x12345678'}`, { undefinedFlags: MULU });
    }
    for (const op of ['div', 'idiv']) {
      // Random dividends: mostly #DE by overflow (and by zero when the divisor is 0).
      same(`${op} ${reg('c', s)}`, { undefinedFlags: ARITH });
      // Dividends that fit: RDX (AH for bytes) is the sign/zero extension of a smaller value.
      add(`${op} ${PTR[s]} [rbx] (fitting)`, `${op} ${PTR[s]} [rbx]`, { undefinedFlags: ARITH, init: (c, r) => fitDividend(c, r, s, op === 'idiv') });
      add(`${op} ${reg('r8', s)} (fitting)`, `${op} ${reg('r8', s)}`, { undefinedFlags: ARITH, init: (c, r) => { fitDividend(c, r, s, op === 'idiv'); c.gpr[R.R8] = r.edgy() | 1n; } });
    }
  }
  // Shifts and rotates, counts 0..beyond the width. AF undefined for count != 0 and OF for count != 1;
  // SHL/SHR/SAL leave CF undefined when the count reaches the width of byte and word operands.
  for (const op of ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']) {
    const shift = op.startsWith('s');
    for (const s of SIZES) {
      const one = shift ? AF : 0;
      same(`${op} ${reg('d', s)}, 1`, { undefinedFlags: one });
      same(`${op} ${PTR[s]} [rbx+1], 1`, { undefinedFlags: one });
      const many = (shift ? AF : 0) | OF | (shift && s <= 16 && op !== 'sar' ? CF : 0);
      same(`${op} ${reg('d', s)}, cl`, { undefinedFlags: many, init: count });
      same(`${op} ${PTR[s]} [rbx+2], cl`, { undefinedFlags: many, init: count });
      same(`${op} ${reg('r14', s)}, ${s === 8 ? 5 : 13}`, { undefinedFlags: (shift ? AF : 0) | OF });
      if (shift && s <= 16) add(`${op} ${reg('a', s)}, cl (count < width)`, `${op} ${reg('a', s)}, cl`, { undefinedFlags: AF | OF, init: (c, r) => { c.gpr[R.RCX] = BigInt(r.below(s)); } });
    }
  }
  for (const op of ['shld', 'shrd']) {
    for (const s of [16, 32, 64] as const) {
      // A 16-bit count above 16 leaves the result undefined: keep those counts in range.
      const cnt = s === 16 ? (c: CaseInput, r: Rng): void => { c.gpr[R.RCX] = BigInt(r.below(17)) | (r.u64() & ~0x1fn & ~0xffn); } : count;
      same(`${op} ${reg('a', s)}, ${reg('d', s)}, cl`, { undefinedFlags: AF | OF, init: cnt });
      same(`${op} ${PTR[s]} [rbx+4], ${reg('si', s)}, cl`, { undefinedFlags: AF | OF, init: cnt });
      same(`${op} ${reg('r8', s)}, ${reg('r9', s)}, 1`, { undefinedFlags: AF });
      same(`${op} ${reg('r8', s)}, ${reg('r9', s)}, ${s === 16 ? 9 : 27}`, { undefinedFlags: AF | OF });
    }
  }
  // Bit tests: CF defined, ZF unchanged, the rest undefined. Memory forms with a register offset
  // reach far outside the addressed operand (signed, up to +-8 KiB here).
  const BTU = OF | SF | AF | PF;
  const farBit = (c: CaseInput, r: Rng): void => { c.gpr[R.RCX] = BigInt.asUintN(64, BigInt(r.below(0x20000) - 0x10000)); };
  for (const op of ['bt', 'bts', 'btr', 'btc']) {
    for (const s of [16, 32, 64] as const) {
      same(`${op} ${reg('a', s)}, ${reg('c', s)}`, { undefinedFlags: BTU });
      same(`${op} ${reg('a', s)}, ${s + 3}`, { undefinedFlags: BTU });
      add(`${op} ${PTR[s]} [rbx], ${reg('c', s)} (far)`, `${op} ${PTR[s]} [rbx], ${reg('c', s)}`, { undefinedFlags: BTU, init: s === 16 ? (c, r) => { farBit(c, r); c.gpr[R.RCX] = BigInt.asUintN(64, BigInt.asIntN(16, c.gpr[R.RCX]!)); } : farBit });
      same(`${op} ${PTR[s]} [rbx+6], ${s - 1}`, { undefinedFlags: BTU });
    }
    if (op !== 'bt') same(`lock ${op} qword [rbx], rcx`, { undefinedFlags: BTU, init: farBit });
    // The whole operand-size unit is accessed: a unit that crosses the window's end faults even
    // when the addressed bit's byte lies inside it.
    for (const s of [16, 32, 64] as const) {
      add(`${op} ${PTR[s]} [rbx], ${reg('c', s)} (window end)`, `${op} ${PTR[s]} [rbx], ${reg('c', s)}`, {
        undefinedFlags: BTU,
        init: (c, r) => { c.gpr[R.RBX] = BigInt(DATA_BASE + DATA_SIZE - 1 - r.below(s / 8)); c.gpr[R.RCX] = BigInt(r.below(8)); },
      });
    }
  }
  // Read-modify-write operands that run off the window's end: the fault is a write (#PF W=1).
  const atEnd = (c: CaseInput, r: Rng): void => { c.gpr[R.RBX] = BigInt(DATA_BASE + DATA_SIZE - 1 - r.below(8)); };
  for (const asm of ['add dword [rbx], eax', 'adc byte [rbx+1], al', 'inc word [rbx]', 'neg qword [rbx]', 'not dword [rbx]',
    'xchg [rbx], ecx', 'xadd [rbx], rcx', 'cmpxchg [rbx], ecx', 'shl dword [rbx], 1', 'rcr word [rbx], cl', 'shld [rbx], eax, 3']) {
    add(`${asm} (window end)`, asm, { undefinedFlags: OF | AF, init: atEnd });
  }
  for (const s of [16, 32, 64] as const) {
    const CZ = CF | OF | SF | AF | PF;
    for (const op of ['bsf', 'bsr']) { same(`${op} ${reg('a', s)}, ${reg('c', s)}`, { undefinedFlags: CZ, init: sparse }); same(`${op} ${reg('a', s)}, ${PTR[s]} [rbx]`, { undefinedFlags: CZ }); }
    same(`popcnt ${reg('a', s)}, ${reg('c', s)}`, { needs: ['popcnt'] });
    same(`popcnt ${reg('a', s)}, ${PTR[s]} [rbx+2]`, { needs: ['popcnt'] });
    same(`lzcnt ${reg('a', s)}, ${reg('c', s)}`, { needs: ['abm'], undefinedFlags: OF | SF | PF | AF, init: sparse });
    same(`tzcnt ${reg('a', s)}, ${reg('c', s)}`, { needs: ['bmi1'], undefinedFlags: OF | SF | PF | AF, init: sparse });
    same(`tzcnt ${reg('a', s)}, ${PTR[s]} [rbx]`, { needs: ['bmi1'], undefinedFlags: OF | SF | PF | AF });
    same(`movbe ${reg('a', s)}, ${PTR[s]} [rbx+1]`, { needs: ['movbe'] });
    same(`movbe ${PTR[s]} [rbx+9], ${reg('c', s)}`, { needs: ['movbe'] });
  }
  same('bswap eax'); same('bswap rax'); same('bswap r13'); same('bswap r9d');
  // Exchanges and atomics.
  for (const s of SIZES) {
    same(`xchg ${reg('c', s)}, ${reg('r10', s)}`);
    same(`xchg ${PTR[s]} [rbx+2], ${reg('d', s)}`);
    same(`xadd ${reg('a', s)}, ${reg('c', s)}`);
    same(`lock xadd ${PTR[s]} [rbx+8], ${reg('d', s)}`);
    add(`cmpxchg ${reg('c', s)}, ${reg('d', s)}`, `cmpxchg ${reg('c', s)}, ${reg('d', s)}`, { init: (c, r) => { if (r.chance(0.5)) c.gpr[R.RAX] = c.gpr[R.RCX]!; } });
    add(`lock cmpxchg ${PTR[s]} [rbx], ${reg('d', s)}`, `lock cmpxchg ${PTR[s]} [rbx], ${reg('d', s)}`, { init: (c, r) => { if (r.chance(0.5)) putData(c, RBX_OFFSET, le64(c.gpr[R.RAX]!)); } });
  }
  same('xchg eax, eax'); same('xchg ax, r8w'); same('xchg rax, r15');
  const cx8 = (c: CaseInput, r: Rng): void => { if (r.chance(0.5)) { putData(c, RBX_OFFSET, le64((c.gpr[R.RAX]! & 0xffffffffn) | (c.gpr[R.RDX]! << 32n))); } };
  same('lock cmpxchg8b [rbx]', { init: cx8 });
  same('cmpxchg8b [rbx+3]', { init: cx8 });
  const cx16 = (c: CaseInput, r: Rng): void => { if (r.chance(0.5)) { putData(c, RBX_OFFSET, le64(c.gpr[R.RAX]!)); putData(c, RBX_OFFSET + 8, le64(c.gpr[R.RDX]!)); } };
  same('lock cmpxchg16b [rbx]', { needs: ['cx16'], init: cx16 });
  add('cmpxchg16b [rbx+8] (misaligned: #GP)', 'cmpxchg16b [rbx+8]', { needs: ['cx16'] });
  // Conditions: every cc for SETcc, CMOVcc (32-bit clears the upper half even when false) and Jcc.
  for (const cc of CONDS) {
    same(`set${cc} al`); same(`set${cc} byte [rbx+1]`); same(`set${cc} r12b`);
    same(`cmov${cc} ax, cx`); same(`cmov${cc} eax, ecx`); same(`cmov${cc} rax, [rbx]`); same(`cmov${cc} r9d, dword [rbx+4]`);
    same(`j${cc} .over\nmov eax, 0x1234\n.over:`);
    same(`j${cc} near .over\nmov eax, 0x1234\n.over:`);
  }
  const smallRcx = (c: CaseInput, r: Rng): void => { c.gpr[R.RCX] = r.chance(0.5) ? BigInt(r.below(3)) : r.edgy(); };
  for (const j of ['loop', 'loope', 'loopne', 'jrcxz', 'jecxz']) {
    same(`${j} .over\nmov eax, 0x1234\n.over:`, { init: smallRcx });
    same(`cmp edx, esi\n${j} .over\nmov eax, 0x1234\n.over:`, { init: smallRcx });
  }
  same('mov ecx, 5\nxor eax, eax\n.again:\nadd eax, ecx\nloop .again', {});
  same('a32 loop .over\nmov eax, 0x1234\n.over:', { init: smallRcx });
  // String instructions, with REP/REPE/REPNE, both directions, 64- and 32-bit address size.
  for (const op of ['movs', 'stos', 'lods', 'cmps', 'scas']) {
    for (const s of SIZES) {
      const sfx = { 8: 'b', 16: 'w', 32: 'd', 64: 'q' }[s];
      const reps = op === 'cmps' || op === 'scas' ? ['', 'repe ', 'repne '] : ['', 'rep '];
      for (const rp of reps) {
        same(`${rp}${op}${sfx}`, { init: strings });
        if (s === 8 || s === 64) add(`a32 ${rp}${op}${sfx}`, `a32 ${rp}${op}${sfx}`, { init: strings32 });
      }
    }
  }
  // Stack.
  same('push rax'); same('push r12'); same('push word 0x1234'); same('push -5'); same('push 0x7fffff00');
  same('push qword [rbx+8]'); same('pop rcx'); same('pop r13'); same('pop qword [rbx+16]'); same('push cx'); same('pop dx');
  same('pop rsp'); same('push rsp'); same('push qword [rsp+8]'); same('pop qword [rsp]');
  // The host runs user code with IF=1; the IF the engine's snippet machine runs with is not part of
  // the comparison, so the pushed image has it cleared before it lands in compared memory.
  add('pushfq (IF cleared after)', 'pushfq\nand word [rsp], ~0x200'); add('pushfw (IF cleared after)', 'pushfw\nand word [rsp], ~0x200');
  add('popfq', 'popfq', { init: (c, r) => { putData(c, 0xc000, le64(BigInt((r.u32() & 0xcd5) | 2))); } });
  same('call .f\njmp .e\n.f: ret\n.e:');
  same('call .f\njmp .e\n.f: ret 16\n.e:');
  same('lea rax, [rel .t]\ncall rax\njmp .e\n.t: pop rcx\npush rcx\nret\n.e:');
  const frame = (c: CaseInput, r: Rng): void => { c.gpr[R.RBP] = win(0xc100 + 8 * r.below(16)); };
  same('enter 16, 0', { init: frame }); same('enter 24, 1', { init: frame }); same('enter 0, 3', { init: frame }); same('enter 8, 31', { init: frame });
  same('leave', { init: frame }); same('enter 32, 2\nleave', { init: frame }); same('o16 leave', { init: frame });
  // Flag transfers, conversions, sign and zero extension.
  same('lahf'); same('sahf'); same('clc'); same('stc'); same('cmc'); same('cld'); same('std');
  for (const x of ['cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo']) same(x);
  for (const s of [16, 32, 64] as const) {
    same(`movsx ${reg('a', s)}, cl`); same(`movzx ${reg('a', s)}, byte [rbx+1]`); if (s !== 64) same(`movsx ${reg('a', s)}, bh`);
    if (s !== 16) { same(`movsx ${reg('d', s)}, si`); same(`movzx ${reg('d', s)}, word [rbx+2]`); }
  }
  same('movsxd rax, ecx'); same('movsxd r9, dword [rbx+4]');
  same('mov al, [rbx]'); same('mov ah, bl'); same('mov r9w, [rbx+1]'); same('mov [rbx+7], r10'); same('mov rax, 0x8000000000000001');
  same('mov eax, -1'); same('mov ax, -1'); same('mov qword [rbx], -2'); same('mov byte [rel DATA+0x8010], 0x5a'); same('mov rcx, [rel DATA+0x8008]');
  // LEA: every addressing form, both address sizes, RIP-relative against the window.
  for (const m of ['[rax]', '[rax+rcx]', '[rax+rcx*2+0x10]', '[rcx*4]', '[rcx*8-8]', '[rbp]', '[rbp+rsi*4-0x80]', '[rsp]', '[rsp+rax*8+0x7fffffff]',
    '[r12]', '[r13]', '[r13+r14*2]', '[r12+r15*8-1]', '[0x12345678]', '[eax]', '[eax+ecx*8+0x80000000]', '[esp+4]', '[ebp+edi]', '[r8d+r9d*2]',
    '[rel DATA]', '[rel DATA+0x7ff8]']) {
    same(`lea rax, ${m}`); if (!m.startsWith('[rel') && !m.includes('r13]')) { same(`lea eax, ${m}`); same(`lea ax, ${m}`); }
  }
  // Invalid in 64-bit mode: #UD.
  for (const [name, bytes] of [['aaa', '0x37'], ['aas', '0x3f'], ['daa', '0x27'], ['das', '0x2f'], ['aam', '0xd4, 10'], ['aad', '0xd5, 10'], ['into', '0xce'], ['push es', '0x06'], ['ud2', '0x0f, 0x0b'], ['lock nop (#UD)', '0xf0, 0x90']] as const) {
    add(`${name} (64-bit: #UD)`, `db ${bytes}`);
  }
  same('mov rax, [rcx]', { init: (c, r) => { c.gpr[R.RCX] = r.pick([0x3000_0000n, 0x8000_0000_0000_0000n, win(0xfffc), win(0xfff8)]); } });
  same('mov [rcx], eax', { init: (c, r) => { c.gpr[R.RCX] = r.pick([0x0fff_fffen, win(0xfffe), win(0x100)]); } });
  same('nop'); same('nop dword [rax+rax]'); same('pause');
  same('xlatb'); same('a32 xlatb', { init: (c, r) => { c.gpr[R.RBX] = (r.u64() & 0xffffffff00000000n) | win(RBX_OFFSET); } });
  return t;
}

function sparse(c: CaseInput, r: Rng): void {
  if (r.chance(0.3)) c.gpr[R.RCX] = r.chance(0.5) ? 0n : 1n << BigInt(r.below(64));
}

function fitDividend(c: CaseInput, r: Rng, s: Size, signed: boolean): void {
  const w = BigInt(s);
  const lo = r.u64() & ((1n << (w - 1n)) - 1n);
  const neg = signed && r.chance(0.5);
  const v = neg ? BigInt.asUintN(64, -lo) : lo;
  if (s === 8) { c.gpr[R.RAX] = (c.gpr[R.RAX]! & ~0xffffn) | (BigInt.asUintN(16, neg ? -lo : lo)); return; }
  c.gpr[R.RAX] = (c.gpr[R.RAX]! & ~((1n << w) - 1n)) | (v & ((1n << w) - 1n));
  c.gpr[R.RDX] = (c.gpr[R.RDX]! & ~((1n << w) - 1n)) | (neg ? (1n << w) - 1n : 0n);
  // A divisor of one or larger than the dividend's magnitude keeps most quotients in range.
  putData(c, RBX_OFFSET, le64(r.chance(0.2) ? 0n : r.u64() | 1n));
}

/** String operands: RSI/RDI inside the window, small RCX, DF either way, data with few byte values. */
function stringsCommon(c: CaseInput, r: Rng, high: bigint): void {
  c.rflags = (c.rflags & ~F.DF) | (r.chance(0.5) ? F.DF : 0);
  c.gpr[R.RCX] = (high & 0xffffffff00000000n) | BigInt(r.chance(0.1) ? 0 : r.below(40));
  c.gpr[R.RSI] = high | win(0x7e00 + r.below(0x200));
  c.gpr[R.RDI] = high | win(0x8400 + r.below(0x200));
  const fill = new Uint8Array(0x900);
  for (let i = 0; i < fill.length; i++) fill[i] = r.chance(0.9) ? 0x41 : r.below(4);
  putData(c, 0x7b00, fill);
  if (r.chance(0.5)) c.gpr[R.RAX] = 0x4141414141414141n;
}
function strings(c: CaseInput, r: Rng): void { stringsCommon(c, r, 0n); }
/** Address-size 32: the upper halves of RSI/RDI/RCX are junk the CPU must ignore. */
function strings32(c: CaseInput, r: Rng): void { stringsCommon(c, r, r.u64() & 0xffffffff00000000n); }
