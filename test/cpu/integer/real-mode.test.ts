/**
 * 16-bit code in real mode: 16-bit stack wrap-around, PUSHA/POPA/ENTER/LEAVE frames, string
 * instructions whose SI/DI wrap at 64 KiB, LOOP on CX, XLAT, LES, BOUND and ARPL. Expected values
 * are worked out by hand from the SDM's pseudocode.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from './harness.js';
import { runReal, word, setWord, DATA, DATA_SEG } from './real-mode.js';

const AX = 0, CX = 1, DX = 2, BX = 3, SP = 4, BP = 5, SI = 6, DI = 7;
const regs = (over: Record<number, number>): number[] => [0x1111, 0x2222, 0x3333, 0x4444, 0x100, 0x5555, 0x6666, 0x7777].map((v, r) => over[r] ?? v);
const asm16 = (src: string): Uint8Array => assemble(16, src);

test('PUSHA stores the original SP in the fifth slot; POPA skips it', () => {
  const r = runReal(asm16('pusha'), regs({}));
  assert.equal(r.exception, null);
  assert.equal(r.cpu.reg16(SP), 0xf0);
  const expect = [0x1111, 0x2222, 0x3333, 0x4444, 0x100, 0x5555, 0x6666, 0x7777];
  expect.forEach((v, k) => assert.equal(word(r.ram, DATA + 0xfe - 2 * k), v, `slot ${k}`));
  const p = runReal(asm16('pusha\nmov word [bp-0x5555+0xf6], 0x9999\nxor ax, ax\nmov si, 1\npopa'), regs({}));
  assert.equal(p.exception, null);
  assert.equal(p.cpu.reg16(SP), 0x100);
  assert.equal(p.cpu.reg16(AX), 0x1111);
  assert.equal(p.cpu.reg16(SI), 0x6666);
});

test('PUSH with SP = 0 wraps to 0xFFFE; PUSH SP pushes the value before the decrement', () => {
  const r = runReal(asm16('push ax'), regs({ [SP]: 0 }));
  assert.equal(r.exception, null);
  assert.equal(r.cpu.reg16(SP), 0xfffe);
  assert.equal(word(r.ram, DATA + 0xfffe), 0x1111);
  const s = runReal(asm16('push sp'), regs({}));
  assert.equal(word(s.ram, DATA + 0xfe), 0x100);
});

test('ENTER 4, 2 with a 16-bit stack copies one display entry and pushes the frame pointer', () => {
  const r = runReal(asm16('enter 4, 2'), regs({ [BP]: 0x200 }), 0, (ram) => setWord(ram, DATA + 0x1fe, 0xbeef));
  assert.equal(r.exception, null);
  assert.equal(word(r.ram, DATA + 0xfe), 0x200);   // old BP
  assert.equal(word(r.ram, DATA + 0xfc), 0xbeef);  // [BP-2]
  assert.equal(word(r.ram, DATA + 0xfa), 0xfe);    // frame pointer
  assert.equal(r.cpu.reg16(BP), 0xfe);
  assert.equal(r.cpu.reg16(SP), 0xf6);
});

test('LEAVE reloads SP from BP and pops BP', () => {
  const r = runReal(asm16('leave'), regs({ [BP]: 0x50 }), 0, (ram) => setWord(ram, DATA + 0x50, 0x1234));
  assert.equal(r.exception, null);
  assert.equal(r.cpu.reg16(SP), 0x52);
  assert.equal(r.cpu.reg16(BP), 0x1234);
});

test('REP MOVSB with SI wrapping past 0xFFFF continues at offset 0', () => {
  const r = runReal(asm16('rep movsb'), regs({ [SI]: 0xfffe, [DI]: 0x100, [CX]: 4 }), 0, (ram) => {
    ram[DATA + 0xfffe] = 1; ram[DATA + 0xffff] = 2; ram[DATA] = 3; ram[DATA + 1] = 4;
  });
  assert.equal(r.exception, null);
  assert.deepEqual(Array.from(r.ram.subarray(DATA + 0x100, DATA + 0x104)), [1, 2, 3, 4]);
  assert.equal(r.cpu.reg16(SI), 2);
  assert.equal(r.cpu.reg16(DI), 0x104);
  assert.equal(r.cpu.reg16(CX), 0);
});

test('STD MOVSW steps SI and DI down by two; a word at offset 0xFFFF is outside the limit (#GP)', () => {
  const r = runReal(asm16('std\nmovsw'), regs({ [SI]: 0x10, [DI]: 0x20 }));
  assert.equal(r.cpu.reg16(SI), 0x0e);
  assert.equal(r.cpu.reg16(DI), 0x1e);
  const f = runReal(asm16('lodsw'), regs({ [SI]: 0xffff }));
  assert.equal(f.exception, 13);
  assert.equal(f.cpu.reg16(SI), 0xffff);
});

test('LOOP counts CX down; XLAT indexes DS:BX by AL', () => {
  const r = runReal(asm16('xor ax, ax\nmov cx, 3\nl: inc ax\nloop l'), regs({}));
  assert.equal(r.cpu.reg16(AX), 3);
  assert.equal(r.cpu.reg16(CX), 0);
  const x = runReal(asm16('xlatb'), regs({ [BX]: 0x300, [AX]: 0x0005 }), 0, (ram) => { ram[DATA + 0x305] = 0x77; });
  assert.equal(x.cpu.reg16(AX), 0x0077);
});

test('LES loads the offset and ES = selector with base selector * 16', () => {
  const r = runReal(asm16('les bx, [0x400]\nmov ax, [es:bx]'), regs({}), 0, (ram) => {
    setWord(ram, DATA + 0x400, 0x0010); setWord(ram, DATA + 0x402, 0x3000); setWord(ram, 0x30010, 0xabcd);
  });
  assert.equal(r.exception, null);
  assert.equal(r.cpu.reg16(BX), 0x10);
  assert.equal(r.cpu.segSel[0], 0x3000);
  assert.equal(r.cpu.reg16(AX), 0xabcd);
  assert.notEqual(DATA_SEG, 0x3000);
});

test('BOUND (signed words) raises #BR when out of range; ARPL is #UD in real mode', () => {
  const init = (ram: Uint8Array): void => { setWord(ram, DATA + 0x500, 0xfffe); setWord(ram, DATA + 0x502, 5); };
  assert.equal(runReal(asm16('bound ax, [0x500]'), regs({ [AX]: 0xffff }), 0, init).exception, null);
  assert.equal(runReal(asm16('bound ax, [0x500]'), regs({ [AX]: 6 }), 0, init).exception, 5);
  assert.equal(runReal(asm16('bound ax, [0x500]'), regs({ [AX]: 0xfffd }), 0, init).exception, 5);
  assert.equal(runReal(asm16('arpl ax, bx'), regs({})).exception, 6);
});

test('32-bit operand size in 16-bit code: PUSH EAX moves SP by 4, POP ECX restores all 32 bits', () => {
  const r = runReal(asm16('mov eax, 0xdeadbeef\npush eax\nmov dx, sp\npop ecx'), regs({}));
  assert.equal(r.exception, null);
  assert.equal(r.cpu.reg16(DX), 0xfc);
  assert.equal(r.cpu.reg32(CX) >>> 0, 0xdeadbeef);
  assert.equal(r.cpu.reg16(SP), 0x100);
});

test('REP INSB/OUTSW move data between ES:DI / DS:SI and the port in DX, in order', () => {
  let next = 0x40;
  const writes: [number, number, number][] = [];
  const io = { ioRead: (port: number, size: number): number => (port === 0x1f0 && size === 1 ? next++ : 0xffffffff), ioWrite: (port: number, size: number, v: number): void => { writes.push([port, size, v]); } };
  const r = runReal(asm16('rep insb\nmov si, 0x300\nmov cx, 2\nrep outsw'), regs({ [DX]: 0x1f0, [DI]: 0x200, [CX]: 3 }), 0, (ram) => {
    setWord(ram, DATA + 0x300, 0xa1b2); setWord(ram, DATA + 0x302, 0xc3d4);
  }, io);
  assert.equal(r.exception, null);
  assert.deepEqual(Array.from(r.ram.subarray(DATA + 0x200, DATA + 0x203)), [0x40, 0x41, 0x42]);
  assert.equal(r.cpu.reg16(DI), 0x203);
  assert.deepEqual(writes, [[0x1f0, 2, 0xa1b2], [0x1f0, 2, 0xc3d4]]);
  assert.equal(r.cpu.reg16(SI), 0x304);
});
