/**
 * Templates for 32-bit code in compatibility mode (Linux's 0x23 code selector), run natively and
 * in the engine with `bits: 32`. Two sources:
 * - every 64-bit template (integer, x87, SSE) that still means something as 32-bit code: memory
 *   operands are rewritten to 32-bit base registers and RIP-relative ones to absolute addresses,
 *   and nasm decides what remains valid (REX registers, 64-bit operands and 64-bit-only
 *   instructions drop out). The same bytes then decode with 32-bit defaults: 32-bit stack
 *   operations, one-byte INC/DEC, 32-bit addresses, EAX/EDX string lengths;
 * - what only exists outside 64-bit mode: the BCD adjustments, PUSHA/POPA, SALC, INTO, BOUND,
 *   ARPL, segment register pushes, 16-bit addressing (LEA computes it without touching memory;
 *   accesses fault at the unmapped low addresses) and 16-bit counts for JCXZ/LOOP/strings.
 */
import { validSnippets } from './assemble.js';
import type { Rng } from './rng.js';
import { F, R, RBX_OFFSET, type Template } from './template.js';
import { integerTemplates } from './templates-integer.js';
import { sseTemplates } from './templates-sse.js';
import { x87Templates } from './templates-x87.js';
import { DATA_BASE, type CaseInput } from './wire.js';

const { CF, PF, AF, ZF, SF, OF } = F;
const BASES: Record<string, string> = { rax: 'eax', rbx: 'ebx', rcx: 'ecx', rdx: 'edx', rsi: 'esi', rdi: 'edi', rsp: 'esp', rbp: 'ebp' };

/** The 32-bit spelling of a 64-bit template's memory operands. */
export function toCompatAsm(asm: string): string {
  return asm.replace(/\[([^\]]*)\]/g, (_, inner: string) => `[${inner.replace(/\brel\s+/g, '').replace(/\br(?:[abcd]x|[sd]i|[sb]p)\b/g, (r) => BASES[r]!)}]`);
}

/** A case's low 16 bits of a register set to `v`, the rest random as before. */
function low16(c: CaseInput, reg: number, v: number): void {
  c.gpr[reg] = (c.gpr[reg]! & ~0xffffn) | BigInt(v & 0xffff);
}

function legacyTemplates(): Template[] {
  const t: Template[] = [];
  const add = (asm: string, o: Omit<Template, 'name' | 'area' | 'asm'> = {}): void => {
    t.push({ name: `${asm.replace(/\n/g, '; ')} (32-bit only)`, area: 'compat', asm, bits: 32, ...o });
  };
  // BCD: every AL and the carry inputs come from the random base case.
  add('daa', { undefinedFlags: OF });
  add('das', { undefinedFlags: OF });
  add('aaa', { undefinedFlags: OF | SF | ZF | PF });
  add('aas', { undefinedFlags: OF | SF | ZF | PF });
  for (const base of [10, 16, 7, 0]) add(`aam ${base}`, { undefinedFlags: OF | AF | CF });
  for (const base of [10, 16, 7, 0]) add(`aad ${base}`, { undefinedFlags: OF | AF | CF });
  add('salc');
  // Stack: 32-bit pushes, PUSHA/POPA in both sizes, segment registers (selectors the host and the
  // engine share: 0x23 code, 0x2b data and stack).
  add('pushad');
  add('popad');
  add('o16 pusha');
  add('o16 popa');
  add('push cs');
  add('push ds\npush es\npop eax\npop ecx');
  add('push ss\npush es');
  add('o16 push ds');
  add('pushfd\npop eax');
  add('push dword [ebx+4]\npop dword [ebx-8]');
  add('o16 push word [ebx]\no16 pop word [ebx+6]');
  add('push 0x12345678\npush byte -3');
  add('enter 24, 0');
  add('enter 8, 3', { init: (c) => { c.gpr[R.RBP] = BigInt(DATA_BASE + RBX_OFFSET + 0x40); } });
  add('leave', { init: (c) => { c.gpr[R.RBP] = BigInt(DATA_BASE + RBX_OFFSET - 0x20); } });
  add('call .f\n.f: pop eax');
  add('o16 call .f\n.f: o16 pop ax');
  // A random return address: the fetch fault (or, rarely, a landing in the window) must agree.
  add('ret 8');
  // INTO traps (#OF) when OF is set; BOUND raises #BR outside [lower, upper].
  add('into');
  add('int3');
  add('bound eax, [ebx]', { init: boundCase(4) });
  add('bound ax, [ebx]', { init: boundCase(2) });
  // ARPL is opcode 63 outside 64-bit mode (MOVSXD inside it).
  add('arpl cx, dx');
  add('arpl [ebx+2], si');
  // 16-bit addressing: LEA computes it (wrapping at 64 KiB) without a memory access.
  for (const ea of ['bx+si', 'bx+di', 'bp+si', 'bp+di+0x7f', 'si-0x80', 'di+0x1234', 'bp-2', 'bx+0xfff0', 'bx+si+0xffff']) {
    add(`lea eax, [${ea}]`);
    add(`lea cx, [${ea}]`);
  }
  // 16-bit addressed loads and stores land in the unmapped first 64 KiB: #PF with the same
  // linear address and error code on both sides.
  add('mov eax, [bx+si+0x10]');
  add('mov [di], cl');
  add('a16 lodsb');
  add('a16 stosd');
  // JCXZ/JECXZ and LOOP with 32- and 16-bit counts.
  add('jecxz .t\ninc eax\n.t: inc edx', { init: (c, r) => { if (r.chance(0.5)) c.gpr[R.RCX] = (r.u64() & ~0xffffffffn); } });
  add('a16 jcxz .t\ninc eax\n.t: inc edx', { init: (c, r) => { if (r.chance(0.5)) low16(c, R.RCX, 0); } });
  add('a16 loop .t\ninc eax\n.t: inc edx', { init: (c, r) => { low16(c, R.RCX, r.chance(0.3) ? 1 : r.chance(0.3) ? 0 : r.u32()); } });
  add('loopne .t\ninc eax\n.t: inc edx', { init: (c, r) => { c.gpr[R.RCX] = BigInt(r.below(3)) | (r.u64() & ~0xffffffffn); } });
  // Strings with 32-bit pointers and counts (upper halves random: they must not matter).
  add('rep movsb', { init: strings(40) });
  add('rep movsd', { init: strings(12) });
  add('repe cmpsb', { init: strings(40, true) });
  add('repne scasw', { init: strings(20) });
  add('rep stosb', { init: strings(33) });
  add('o16 rep stosw', { init: strings(9) });
  return t;
}

function boundCase(size: 2 | 4): (c: CaseInput, r: Rng) => void {
  return (c, r) => {
    const lo = r.chance(0.5) ? r.below(100) - 50 : r.u32() | 0;
    const hi = lo + r.below(200) - 20;
    const v = lo + r.below(300) - 60;
    const b = new Uint8Array(size * 2);
    const dv = new DataView(b.buffer);
    if (size === 4) { dv.setInt32(0, lo | 0, true); dv.setInt32(4, hi | 0, true); } else { dv.setInt16(0, lo << 16 >> 16, true); dv.setInt16(2, hi << 16 >> 16, true); }
    c.runs.push({ offset: RBX_OFFSET, bytes: b });
    c.gpr[R.RAX] = (c.gpr[R.RAX]! & ~0xffffffffn) | BigInt((size === 4 ? v : v & 0xffff) >>> 0);
  };
}

function strings(maxCount: number, similar = false): (c: CaseInput, r: Rng) => void {
  return (c, r) => {
    const hi = (): bigint => r.u64() & ~0xffffffffn;
    c.gpr[R.RSI] = hi() | BigInt(DATA_BASE + RBX_OFFSET - 0x80 + r.below(64));
    c.gpr[R.RDI] = hi() | BigInt(DATA_BASE + RBX_OFFSET + 0x20 + r.below(64));
    c.gpr[R.RCX] = hi() | BigInt(r.below(maxCount + 1));
    if (similar) {
      const b = r.bytes(48);
      c.runs.push({ offset: RBX_OFFSET - 0x80, bytes: b.slice() }, { offset: RBX_OFFSET + 0x20, bytes: b });
    }
  };
}

let cached: Template[] | undefined;

/** The 32-bit templates; assembling the candidates once with nasm decides which 64-bit ones carry over. */
export function compatTemplates(): Template[] {
  if (cached !== undefined) return cached;
  const derived = [...integerTemplates(), ...x87Templates(), ...sseTemplates()].map((t): Template => ({
    ...t, name: `${t.name} (32-bit)`, area: 'compat', asm: toCompatAsm(t.asm), bits: 32,
  }));
  const ok = validSnippets(derived.map((t) => t.asm), 32);
  // The "(64-bit: #UD)" templates are legacy instructions checked for #UD; the 32-bit list has their real forms.
  cached = [...derived.filter((t, k) => ok[k] && !t.name.includes('64-bit: #UD')), ...legacyTemplates()];
  return cached;
}
