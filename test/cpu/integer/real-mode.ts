/**
 * A tiny real-mode machine for 16-bit instruction tests: 1 MiB of RAM, CS = 0x1000 (code at
 * linear 0x10000), DS = ES = SS = 0x2000 (data at linear 0x20000), 64 KiB limits. The code is
 * followed by UD2; reaching it ends the run.
 */
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Cpu, runCpu } from '../../../src/hv/cpu/x86/engine.js';
import { CS, SS, DS, ES, FS, GS } from '../../../src/hv/cpu/x86/constants.js';
import type { CpuIo } from '../../../src/hv/processor.js';

export const CODE_SEG = 0x1000;
export const DATA_SEG = 0x2000;
const CODE = CODE_SEG << 4;
export const DATA = DATA_SEG << 4;

export interface RealRun { cpu: X86Cpu; ram: Uint8Array; exception: number | null }

/** Runs 16-bit `code` with registers given as 16-bit values (AX CX DX BX SP BP SI DI order). */
export function runReal(code: Uint8Array, regs: number[], flags = 0, data?: (ram: Uint8Array) => void, io?: CpuIo): RealRun {
  const mem = new GuestMemory();
  const region = mem.addRegion(0, 0x10_0000);
  const ram = region.u8;
  const cpu = new X86Cpu(mem, io ?? { ioRead: () => 0xffffffff, ioWrite: () => { /* none */ } });
  ram.set(code, CODE);
  ram[CODE + code.length] = 0x0f; ram[CODE + code.length + 1] = 0x0b;
  data?.(ram);
  cpu.cr0 = 0x10;
  for (const s of [CS, SS, DS, ES, FS, GS]) {
    const sel = s === CS ? CODE_SEG : DATA_SEG;
    cpu.segSel[s] = sel; cpu.segBase[s] = sel << 4; cpu.segLimit[s] = 0xffff;
    cpu.segAttr[s] = s === CS ? 0x9b : 0x93;
  }
  cpu.setFlags(flags | 2);
  cpu.updateMode();
  regs.forEach((v, r) => cpu.setReg16(r, v));
  cpu.rip = 0;
  cpu.trapExceptions = true;
  cpu.trappedVector = -1;
  runCpu(cpu, 100_000);
  let exception: number | null = cpu.trappedVector;
  if (exception === 6 && cpu.rip === code.length) exception = null;
  if (cpu.trappedVector < 0) throw new Error('real-mode snippet did not finish');
  return { cpu, ram, exception };
}

export function word(ram: Uint8Array, linear: number): number { return ram[linear]! | (ram[linear + 1]! << 8); }
export function setWord(ram: Uint8Array, linear: number, v: number): void { ram[linear] = v & 0xff; ram[linear + 1] = (v >> 8) & 0xff; }
