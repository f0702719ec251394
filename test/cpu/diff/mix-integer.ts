/**
 * Integer templates of the operand-mix set (see mix.ts), with the flags the SDM leaves undefined.
 */
import { FLAGS, pointInto, type MixTemplate, type Case, type Rng } from './mix.js';

const { CF, PF, AF, ZF, SF, OF } = FLAGS;
const RBX = 3, RSI = 6, RDI = 7, RCX = 1, RDX = 2, RAX = 0;
const REGS: Record<number, [string, string, string, string]> = {
  0: ['al', 'ax', 'eax', 'rax'], 1: ['cl', 'cx', 'ecx', 'rcx'], 2: ['dl', 'dx', 'edx', 'rdx'],
  3: ['bl', 'bx', 'ebx', 'rbx'], 9: ['r9b', 'r9w', 'r9d', 'r9'], 12: ['r12b', 'r12w', 'r12d', 'r12'],
};
const SIZES = [0, 1, 2, 3] as const;
const PTR = ['byte', 'word', 'dword', 'qword'];

/** RBX points at the middle of the data window (memory operands use [rbx+disp]). */
const mem = (c: Case): void => pointInto(c, RBX, 0x800);
const smallCl = (c: Case, rng: Rng): void => { c.regs[RCX] = BigInt(rng.below(4) === 0 ? rng.below(256) : rng.below(70)); };

export function integerMix(): MixTemplate[] {
  const t: MixTemplate[] = [];
  for (const op of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp']) {
    const logic = op === 'and' || op === 'or' || op === 'xor';
    const u = logic ? AF : 0;
    for (const s of SIZES) {
      t.push({ asm: `${op} ${REGS[0]![s]}, ${REGS[1]![s]}`, undefinedFlags: u });
      t.push({ asm: `${op} ${REGS[9]![s]}, ${REGS[12]![s]}`, undefinedFlags: u });
      t.push({ asm: `${op} ${PTR[s]} [rbx+8], ${REGS[2]![s]}`, undefinedFlags: u, setup: mem });
      t.push({ asm: `${op} ${REGS[2]![s]}, ${PTR[s]} [rbx-16]`, undefinedFlags: u, setup: mem });
      t.push({ asm: `${op} ${PTR[s]} [rbx], ${s === 0 ? '0x81' : '-3'}`, undefinedFlags: u, setup: mem });
      t.push({ asm: `${op} ${REGS[3]![s]}, ${s === 0 ? '0x7f' : '0x7ffffff0'}`.replace('bx, 0x7ffffff0', 'bx, 0x7ff0'), undefinedFlags: u });
    }
    t.push({ asm: `${op} ah, ch`, undefinedFlags: u });
    t.push({ asm: `${op} sil, dil`, undefinedFlags: u });
  }
  for (const op of ['inc', 'dec', 'neg', 'not']) {
    for (const s of SIZES) {
      t.push({ asm: `${op} ${REGS[1]![s]}` });
      t.push({ asm: `${op} ${PTR[s]} [rbx+4]`, setup: mem });
    }
  }
  for (const s of SIZES) {
    t.push({ asm: `test ${REGS[0]![s]}, ${REGS[2]![s]}`, undefinedFlags: AF });
    t.push({ asm: `mul ${REGS[3]![s]}`, undefinedFlags: SF | ZF | AF | PF });
    t.push({ asm: `imul ${REGS[3]![s]}`, undefinedFlags: SF | ZF | AF | PF });
    t.push({ asm: `div ${REGS[3]![s]}`, undefinedFlags: FLAGS.ALL, setup: divSetup(s, false) });
    t.push({ asm: `idiv ${REGS[3]![s]}`, undefinedFlags: FLAGS.ALL, setup: divSetup(s, true) });
    t.push({ asm: `div ${PTR[s]} [rbx]`, undefinedFlags: FLAGS.ALL, setup: (c, r) => { mem(c); divSetup(s, false)(c, r); } });
    if (s > 0) {
      t.push({ asm: `imul ${REGS[1]![s]}, ${REGS[2]![s]}`, undefinedFlags: SF | ZF | AF | PF });
      t.push({ asm: `imul ${REGS[1]![s]}, ${REGS[2]![s]}, ${s === 1 ? 1000 : 123456}`, undefinedFlags: SF | ZF | AF | PF });
      t.push({ asm: `imul ${REGS[1]![s]}, ${PTR[s]} [rbx], -7`, undefinedFlags: SF | ZF | AF | PF, setup: mem });
    }
    for (const op of ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']) {
      const rot = op.startsWith('r') && op !== 'r';
      t.push({ asm: `${op} ${REGS[0]![s]}, 1`, undefinedFlags: rot ? 0 : AF });
      t.push({ asm: `${op} ${REGS[0]![s]}, cl`, undefinedFlags: OF | AF, setup: smallCl });
      t.push({ asm: `${op} ${REGS[2]![s]}, ${[3, 7, 13, 31][s]}`, undefinedFlags: OF | AF });
      t.push({ asm: `${op} ${PTR[s]} [rbx], cl`, undefinedFlags: OF | AF, setup: (c, r) => { mem(c); smallCl(c, r); } });
    }
    if (s > 0) {
      for (const op of ['shld', 'shrd']) {
        const lim = s === 1 ? 16 : 64;
        t.push({ asm: `${op} ${REGS[0]![s]}, ${REGS[2]![s]}, cl`, undefinedFlags: OF | AF, setup: (c, r) => { c.regs[RCX] = BigInt(r.below(lim)); } });
        t.push({ asm: `${op} ${REGS[0]![s]}, ${REGS[2]![s]}, 1`, undefinedFlags: AF });
        t.push({ asm: `${op} ${PTR[s]} [rbx], ${REGS[2]![s]}, 5`, undefinedFlags: OF | AF, setup: mem });
      }
      for (const op of ['bt', 'bts', 'btr', 'btc']) {
        t.push({ asm: `${op} ${REGS[0]![s]}, ${REGS[2]![s]}`, undefinedFlags: OF | SF | AF | PF });
        t.push({ asm: `${op} ${REGS[0]![s]}, 13`, undefinedFlags: OF | SF | AF | PF });
        t.push({ asm: `${op} ${PTR[s]} [rbx], ${REGS[2]![s]}`, undefinedFlags: OF | SF | AF | PF, setup: (c, r) => { mem(c); c.regs[RDX] = BigInt.asUintN(64, BigInt(r.below(8000) - 4000)); } });
      }
      t.push({ asm: `bsf ${REGS[1]![s]}, ${REGS[2]![s]}`, undefinedFlags: CF | OF | SF | AF | PF });
      t.push({ asm: `bsr ${REGS[1]![s]}, ${REGS[2]![s]}`, undefinedFlags: CF | OF | SF | AF | PF });
      t.push({ asm: `popcnt ${REGS[1]![s]}, ${REGS[2]![s]}`, needs: 'popcnt' });
      t.push({ asm: `lzcnt ${REGS[1]![s]}, ${REGS[2]![s]}`, undefinedFlags: OF | SF | AF | PF, needs: 'abm' });
      t.push({ asm: `tzcnt ${REGS[1]![s]}, ${REGS[2]![s]}`, undefinedFlags: OF | SF | AF | PF, needs: 'bmi1' });
      t.push({ asm: `xadd ${PTR[s]} [rbx], ${REGS[2]![s]}`, setup: mem });
      t.push({ asm: `xadd ${REGS[1]![s]}, ${REGS[2]![s]}` });
      t.push({ asm: `cmpxchg ${REGS[1]![s]}, ${REGS[2]![s]}`, setup: (c, r) => { if (r.below(2) === 0) c.regs[RAX] = c.regs[RCX]!; } });
      t.push({ asm: `lock cmpxchg ${PTR[s]} [rbx], ${REGS[2]![s]}`, setup: (c, r) => { mem(c); if (r.below(2) === 0) c.regs[RAX] = BigInt(c.data[0x800]!) | (BigInt(c.data[0x801]!) << 8n); } });
      t.push({ asm: `movbe ${REGS[1]![s]}, ${PTR[s]} [rbx]`, setup: mem, needs: 'movbe' });
      t.push({ asm: `movbe ${PTR[s]} [rbx], ${REGS[1]![s]}`, setup: mem, needs: 'movbe' });
      t.push({ asm: `movzx ${REGS[1]![s]}, byte [rbx]`, setup: mem });
      t.push({ asm: `movsx ${REGS[1]![s]}, ${s === 1 ? 'bl' : 'word [rbx]'}`, setup: mem });
      t.push({ asm: `lea ${REGS[1]![s]}, [rax+rdx*4+0x12345]` });
      t.push({ asm: `xchg ${REGS[1]![s]}, ${REGS[2]![s]}` });
      t.push({ asm: `xchg ${PTR[s]} [rbx], ${REGS[2]![s]}`, setup: mem });
    }
    t.push({ asm: `bswap ${REGS[2]![s < 2 ? 2 : s]}` });
  }
  for (let cc = 0; cc < 16; cc++) {
    const n = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'][cc]!;
    t.push({ asm: `set${n} cl` });
    t.push({ asm: `cmov${n} rcx, rdx` });
    t.push({ asm: `cmov${n} ecx, edx` });
    t.push({ asm: `j${n} $+3\nnop` });
  }
  t.push({ asm: 'cmpxchg8b [rbx]', setup: (c, r) => { mem(c); if (r.below(2) === 0) { c.regs[RAX] = readU32(c, 0x800); c.regs[RDX] = readU32(c, 0x804); } } });
  t.push({ asm: 'cmpxchg16b [rbx]', setup: (c, r) => { mem(c); if (r.below(2) === 0) { c.regs[RAX] = readU64(c, 0x800); c.regs[RDX] = readU64(c, 0x808); } } });
  for (const a of ['cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo', 'lahf', 'sahf', 'clc', 'stc', 'cmc', 'movsxd rcx, edx', 'movsxd rcx, dword [rbx]',
    'lea rcx, [rbx+rsi*8-8]', 'lea ecx, [ebx+esi]', 'lea cx, [rbx+1]', 'mov ah, dl', 'mov r10b, [rbx]', 'mov [rbx], cx', 'mov rcx, 0x123456789abcdef0',
    'push rcx\npop rdx', 'push word 5\npop ax', 'enter 16, 0\nleave', 'enter 8, 3\nleave']) {
    t.push({ asm: a, setup: (c) => { mem(c); pointInto(c, 5, 0x900); } });
  }
  for (const w of ['b', 'w', 'd', 'q']) {
    for (const op of ['movs', 'stos', 'lods', 'cmps', 'scas']) {
      for (const rep of ['', 'rep ', 'repne ']) {
        if (rep === 'repne ' && op !== 'cmps' && op !== 'scas') continue;
        for (const dir of ['', 'std\n']) {
          t.push({
            asm: `${dir}${rep}${op}${w}${dir ? '\ncld' : ''}`,
            setup: (c, r) => { pointInto(c, RSI, 0x600 + r.below(64)); pointInto(c, RDI, 0xa00 + r.below(64)); c.regs[RCX] = BigInt(r.below(40)); },
          });
        }
      }
    }
  }
  return t;
}

function readU32(c: Case, off: number): bigint {
  return BigInt(c.data[off]! | (c.data[off + 1]! << 8) | (c.data[off + 2]! << 16)) | (BigInt(c.data[off + 3]!) << 24n);
}
function readU64(c: Case, off: number): bigint { return readU32(c, off) | (readU32(c, off + 4) << 32n); }

/** Division inputs: usually valid, sometimes a zero divisor or an overflowing quotient (#DE). */
function divSetup(s: number, signed: boolean) {
  return (c: Case, r: Rng): void => {
    const bits = BigInt(8 << s);
    const k = r.below(8);
    if (k === 0) { c.regs[RBX] = 0n; return; }
    if (k < 6) {
      // Make the high half of the dividend smaller than the divisor so the quotient fits.
      const m = (1n << bits) - 1n;
      let d = c.regs[RBX]! & m;
      if (d === 0n) d = 3n;
      c.regs[RBX] = (c.regs[RBX]! & ~m) | d;
      if (s === 0) c.regs[RAX] = (c.regs[RAX]! & ~0xffffn) | (((c.regs[RAX]! >> 8n) % d) << 8n) | (c.regs[RAX]! & 0xffn);
      else c.regs[RDX] = (c.regs[RDX]! & ~m) | ((c.regs[RDX]! & m) % d);
      if (signed) { c.regs[RDX] = s === 0 ? c.regs[RDX]! : c.regs[RDX]! & ~m; }
    }
  };
}
