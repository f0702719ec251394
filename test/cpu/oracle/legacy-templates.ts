/**
 * 32-bit code templates (run in compatibility mode on both sides): instructions that exist only
 * outside 64-bit mode, 16-bit addressing through the 67 prefix, and 16/32-bit stack behaviour.
 */
import { FLAGS, pointInto, type Template, type Case } from './oracle.js';

const { CF, PF, AF, ZF, SF, OF } = FLAGS;
const lowRegs = (c: Case): void => { for (let r = 0; r < 16; r++) c.regs[r] = c.regs[r]! & 0xffffffffn; };
const mem = (c: Case): void => { lowRegs(c); pointInto(c, 3, 0x800); pointInto(c, 6, 0x900); pointInto(c, 7, 0xa00); };
/** 16-bit addressing: BX/SI/DI hold offsets, and the data segment base is 0, so use a full pointer via EBX for the high bits. */

export function legacyTemplates(): Template[] {
  const t: Template[] = [];
  const add = (asm: string, extra: Partial<Template> = {}): void => { t.push({ asm, bits: 32, setup: mem, ...extra }); };
  // BCD: flags other than those the SDM defines are undefined.
  add('daa', { undefinedFlags: OF });
  add('das', { undefinedFlags: OF });
  add('aaa', { undefinedFlags: OF | SF | ZF | PF });
  add('aas', { undefinedFlags: OF | SF | ZF | PF });
  add('aam', { undefinedFlags: OF | AF | CF });
  add('aam 7', { undefinedFlags: OF | AF | CF });
  add('aad', { undefinedFlags: OF | AF | CF });
  add('aad 3', { undefinedFlags: OF | AF | CF });
  add('aam 0', { undefinedFlags: FLAGS.ALL });
  for (const a of ['pusha\npopa', 'pushad\nmov eax, [esp+4]\npopad', 'pushaw\npopaw', 'push ax\npop cx', 'push word 0x1234\npop dx', 'pushfd\npop eax',
    'push eax\npopfd', 'enter 12, 2\nleave', 'enter 4, 1\nleave', 'inc eax', 'dec ecx', 'inc ax', 'dec cx', 'xchg eax, edx', 'cwde', 'cdq', 'cbw', 'cwd',
    'salc', 'bound eax, [ebx]', 'bound ax, [ebx]', 'into', 'add al, [bx+si]', 'mov eax, [bx+di+0x10]', 'lea eax, [bp+si+0x7fff]', 'lea ax, [bx+di-1]',
    'movzx eax, word [ebx]', 'rep movsd', 'rep stosw', 'repe cmpsb', 'lodsw', 'a16 rep movsb', 'a16 lodsd', 'loop $+2', 'jecxz $+2', 'jcxz $+2',
    'call $+5\npop eax', 'xlatb', 'imul eax, ecx, 100', 'div ecx', 'idiv cx', 'shld eax, edx, cl', 'bswap eax', 'cmpxchg8b [ebx]', 'xadd [ebx], ecx',
    'setc al', 'cmovnz eax, [ebx]', 'movsx eax, byte [ebx]', 'neg word [ebx]', 'rcl ax, cl', 'btc dword [ebx], eax', 'sahf', 'lahf']) {
    const undef = /^(div|idiv)/.test(a) ? FLAGS.ALL : /^(imul|shld|rcl)/.test(a) ? SF | ZF | AF | PF | OF : /^btc/.test(a) ? OF | SF | AF | PF : 0;
    const setup = (c: Case, r: import('./oracle.js').Rng): void => {
      mem(c);
      if (/bx\+|bp\+|bx\]|a16/.test(a)) { c.regs[3] = BigInt(0x10000000 + 0x800) & 0xffffn; c.regs[6] = 0x40n; c.regs[7] = 0x60n; c.regs[5] = 0n; }
      if (/bx\+|a16|\[bx/.test(a)) { c.regs[3] = 0x800n; }
      if (/loop|jecxz|jcxz|rep|movs|stos|cmps|lods/.test(a)) c.regs[1] = BigInt(r.below(40));
      if (/^(div|idiv)/.test(a)) { c.regs[1] = (c.regs[1]! | 1n) & 0xffffffffn; c.regs[2] = c.regs[2]! % (c.regs[1]! & 0xffffn || 1n); }
      if (/bound/.test(a)) { c.data[0x800] = 10; c.data[0x801] = 0; c.data[0x802] = 0; c.data[0x803] = 0; c.data[0x804] = 100; c.data[0x805] = 0; c.data[0x806] = 0; c.data[0x807] = 0; c.regs[0] = BigInt(r.below(120)); }
    };
    t.push({ asm: a, bits: 32, setup, undefinedFlags: undef });
  }
  return t;
}
