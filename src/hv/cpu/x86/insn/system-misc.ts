/**
 * CPUID, RDTSC/RDTSCP, RDMSR/WRMSR, SWAPGS, RDPMC.
 */
import type { X86Cpu } from '../cpu.js';
import { def } from '../opcode-table.js';
import { F_END } from '../insn.js';
import { cpuid } from '../cpuid.js';
import { readMsr, writeMsr } from '../msr.js';
import { CR4_TSD, TWO32, GS } from '../constants.js';

const out = new Int32Array(4);

function doCpuid(c: X86Cpu): void {
  cpuid(c, c.reg32(0), c.reg32(1), out);
  c.setReg32(0, out[0]!); c.setReg32(3, out[1]!); c.setReg32(1, out[2]!); c.setReg32(2, out[3]!);
}

export function readTsc(c: X86Cpu): number {
  return Math.max(0, Math.floor(c.tscSource() + c.tscOffset));
}

function rdtsc(c: X86Cpu): void {
  if ((c.cr4 & CR4_TSD) !== 0 && c.cpl !== 0 && (c.cr0 & 1) !== 0) c.gp(0);
  const t = readTsc(c);
  const hi = Math.floor(t / TWO32);
  c.setReg32(0, (t - hi * TWO32) | 0);
  c.setReg32(2, hi | 0);
}

function rdmsr(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl !== 0) c.gp(0);
  const v = readMsr(c, c.reg32(1) >>> 0);
  c.setReg32(0, Number(v & 0xffffffffn) | 0);
  c.setReg32(2, Number(v >> 32n) | 0);
}

function wrmsr(c: X86Cpu): void {
  if ((c.cr0 & 1) !== 0 && c.cpl !== 0) c.gp(0);
  const v = (BigInt(c.reg32(2) >>> 0) << 32n) | BigInt(c.reg32(0) >>> 0);
  writeMsr(c, c.reg32(1) >>> 0, v);
  c.stopBlock = true;
}

def(1, 0xa2, { name: 'cpuid', flags: F_END }, doCpuid);
def(1, 0x31, { name: 'rdtsc' }, rdtsc);
def(1, 0x32, { name: 'rdmsr' }, rdmsr);
def(1, 0x30, { name: 'wrmsr', flags: F_END }, wrmsr);
def(1, 0x33, { name: 'rdpmc' }, (c) => c.gp(0));
def(1, 0x01, { name: 'rdtscp', reg: 7, form: 'reg', rm: 1 }, (c) => { rdtsc(c); c.setReg32(1, c.tscAux); });
def(1, 0x01, { name: 'swapgs', reg: 7, form: 'reg', rm: 0, flags: F_END }, (c) => {
  if (!c.mode64) c.ud();
  if (c.cpl !== 0) c.gp(0);
  const t = c.segBase[GS]!;
  c.segBase[GS] = c.kernelGsBase;
  c.kernelGsBase = t;
});
