/**
 * The decoder against nasm: every encoding nasm produces decodes to exactly its length, with the
 * operand and address sizes the prefixes imply, in 16-, 32- and 64-bit code.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../../src/hv/cpu/x86/decoder.js';
import '../../../src/hv/cpu/x86/engine.js';
import { assembleLines } from '../../helpers/nasm.js';

const COMMON = [
  'add eax, ebx', 'add al, 5', 'add ax, 0x1234', 'add dword [ebx+esi*4+0x10], 0x12345678', 'add byte [ebx], 1',
  'sub word [bp+si], ax', 'cmp eax, [ebx+ecx*8-4]', 'xor ecx, ecx', 'test byte [edi], 0x80', 'test eax, 0x100',
  'mov eax, [0x1234]', 'mov [esp+8], ecx', 'mov ebp, esp', 'mov al, [esi]', 'mov cl, 0x12', 'mov ecx, 0x12345678',
  'lea eax, [eax+eax*2]', 'lea esi, [ebp-0x100]', 'imul eax, ebx, 7', 'imul eax, [ebx], 0x1000', 'imul ecx, edx',
  'shl eax, 3', 'shr word [ebx], cl', 'rol byte [esi+1], 1', 'shld eax, ebx, 5', 'shrd [edi], edx, cl',
  'bt eax, 5', 'bts dword [ebx], eax', 'bsf eax, ebx', 'movzx eax, byte [ebx]', 'movsx ecx, word [esi]',
  'jmp short $+2', 'jz short $+0x20', 'jnz near $+0x1000', 'call $+0x100', 'ret', 'ret 8', 'loop $', 'jecxz $',
  'push 5', 'push 0x1000', 'push dword [ebx]', 'pop dword [ebx+4]', 'enter 16, 1', 'leave', 'int 0x80', 'int3',
  'in al, 0x60', 'out dx, eax', 'rep movsb', 'repne scasb', 'rep stosd', 'lodsw', 'cpuid', 'rdtsc', 'rdmsr',
  'cmpxchg [ebx], ecx', 'lock xadd [ebx], eax', 'lock cmpxchg8b [esi]', 'bswap eax', 'setnz al', 'cmovz eax, ebx',
  'fld dword [ebx]', 'fstp qword [ebx+8]', 'faddp st1, st0', 'fnstsw ax', 'fldcw [esp]', 'fld tword [eax]',
  'movaps xmm0, [ebx]', 'addsd xmm1, xmm2', 'pshufd xmm0, xmm1, 0x1b', 'pcmpeqb xmm3, [eax+16]', 'movd eax, xmm1',
  'paddw mm0, mm1', 'psrlq xmm2, 4', 'cvtsi2sd xmm0, eax', 'shufps xmm0, xmm1, 0x44', 'pinsrw xmm1, eax, 3',
  'pshufb xmm0, xmm1', 'palignr xmm0, xmm1, 4', 'pextrd eax, xmm2, 1', 'roundsd xmm0, xmm1, 2', 'crc32 eax, byte [ebx]',
  'movbe eax, [ebx]', 'popcnt eax, ebx', 'lzcnt ecx, edx', 'tzcnt eax, [esi]', 'pcmpistri xmm1, xmm2, 0x0c',
  'nop', 'nop dword [eax+eax*1+0]', 'pause', 'hlt', 'cli', 'sti', 'lgdt [ebx]', 'lidt [esi]', 'invlpg [eax]',
  'mov cr0, eax', 'mov eax, cr3', 'mov dr7, eax', 'ltr ax', 'lldt ax', 'sgdt [ebx]', 'lar eax, ebx', 'lsl ecx, [ebx]',
  'mov es, ax', 'mov [ebx], ds', 'fs mov eax, [ebx]', 'gs lodsb', 'xchg eax, ecx', 'xchg [ebx], cl', 'cbw', 'cdq',
  'div dword [ebx]', 'idiv cl', 'mul ecx', 'neg dword [ebx]', 'not al', 'inc dword [ebx]', 'dec cx',
  'fxsave [eax]', 'ldmxcsr [esp]', 'mfence', 'clflush [ebx]', 'sysenter', 'ud2', 'fwait',
];
const LEGACY_ONLY = [
  'pusha', 'popa', 'daa', 'aam', 'aad 10', 'aas', 'into', 'bound eax, [ebx]', 'arpl [ebx], ax', 'push es', 'pop ds',
  'jmp 0x08:0x1000', 'call 0x10:0x20', 'les eax, [ebx]', 'inc eax', 'dec ebx', 'salc',
];
const LONG_ONLY = [
  'add rax, rbx', 'add r8, r9', 'mov rax, 0x123456789abcdef0', 'mov r15d, 1', 'mov byte [r12], sil', 'movsxd rax, ecx',
  'lea rax, [rel $+0x100]', 'mov rax, [rel $+0x10]', 'push r12', 'pop r15', 'syscall', 'sysret', 'swapgs', 'rdtscp',
  'cmpxchg16b [rdi]', 'mov rax, [0x123456789abc]', 'mov r10, [rsp+r11*8+0x80]', 'movq xmm8, r9', 'addps xmm15, xmm9',
  'iretq', 'call [rax]', 'jmp r11', 'xchg rax, r8', 'shl qword [rbx], 3', 'imul r8, r9, 0x12345', 'cqo', 'cdqe',
  'mov ah, [rax]', 'mov r8b, al', 'rep movsq', 'bswap r9', 'crc32 rax, qword [rbx]', 'fs mov rax, [0]', 'gs mov eax, [rbx]',
];

function check(bits: 16 | 32 | 64, lines: string[]): void {
  const enc = assembleLines(bits, lines);
  const codeSize = bits / 8;
  lines.forEach((l, k) => {
    const bytes = enc[k]!;
    const padded = new Uint8Array(32);
    padded.set(bytes);
    const i = decode(padded, 0, 32, { codeSize });
    assert.equal(i.len, bytes.length, `${bits}-bit '${l}' (${Buffer.from(bytes).toString('hex')}): decoded length ${i.len}`);
  });
}

test('decoder lengths match nasm in 32-bit code', () => check(32, [...COMMON, ...LEGACY_ONLY]));
test('decoder lengths match nasm in 16-bit code', () => check(16, [...COMMON, ...LEGACY_ONLY]));
test('decoder lengths match nasm in 64-bit code', () => check(64, [...COMMON.filter((l) => !/\bpush (5|0x1000|dword)|pop dword|jecxz|\[e[a-z]{2}|\[bp|\b[cd]r\d/.test(l)), ...LONG_ONLY]));

test('operand and address sizes follow prefixes, REX.W and 64-bit defaults', () => {
  const cases: [16 | 32 | 64, string, number, number][] = [
    [32, 'add ax, bx', 2, 4], [32, 'add eax, [bx]', 4, 2], [16, 'add eax, ebx', 4, 2], [16, 'add ax, [ebx]', 2, 4],
    [64, 'add eax, ebx', 4, 8], [64, 'add rax, rbx', 8, 8], [64, 'add ax, [eax]', 2, 4], [64, 'push rax', 8, 8],
    [64, 'push ax', 2, 8], [64, 'jmp rax', 8, 8], [64, 'mov eax, [rbx]', 4, 8],
  ];
  for (const [bits, line, osize, asize] of cases) {
    const [bytes] = assembleLines(bits, [line]);
    const padded = new Uint8Array(32);
    padded.set(bytes!);
    const i = decode(padded, 0, 32, { codeSize: bits / 8 });
    assert.equal(i.osize, osize, `${bits}-bit '${line}' operand size`);
    assert.equal(i.asize, asize, `${bits}-bit '${line}' address size`);
  }
});

test('an instruction longer than 15 bytes is refused', () => {
  const bytes = new Uint8Array(32).fill(0x66);
  bytes[15] = 0x90;
  assert.throws(() => decode(bytes, 0, 32, { codeSize: 4 }), /longer than 15/);
});
