/**
 * IA32_TSC_ADJUST (advertised in CPUID.7.EBX[1]): a write to the TSC moves TSC_ADJUST by the same
 * amount, and a write to TSC_ADJUST moves the TSC by the change (SDM vol. 3, 18.17.3). Linux reads
 * it on every CPU at boot and checks it stays put; together with the invariant TSC it lets the
 * guest trust the TSC without a clocksource watchdog.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Cpu } from '../../../src/hv/cpu/x86/engine.js';
import { readMsr, writeMsr, MSR_TSC, MSR_TSC_ADJUST } from '../../../src/hv/cpu/x86/msr.js';
import { cpuid } from '../../../src/hv/cpu/x86/cpuid.js';

function cpuAt(now: { t: number }): X86Cpu {
  const mem = new GuestMemory();
  mem.addRegion(0, 0x10000);
  const c = new X86Cpu(mem, { ioRead: () => 0, ioWrite: () => {} }, 0);
  c.tscSource = () => now.t;
  return c;
}

test('TSC and TSC_ADJUST move together, in both directions', () => {
  const now = { t: 1_000_000 };
  const c = cpuAt(now);
  assert.equal(readMsr(c, MSR_TSC_ADJUST), 0n);
  assert.equal(readMsr(c, MSR_TSC), 1_000_000n);

  writeMsr(c, MSR_TSC, 5_000_000n);
  assert.equal(readMsr(c, MSR_TSC_ADJUST), 4_000_000n, 'a TSC write is recorded in TSC_ADJUST');
  now.t += 10;
  assert.equal(readMsr(c, MSR_TSC), 5_000_010n, 'the TSC keeps counting from the written value');

  writeMsr(c, MSR_TSC_ADJUST, 0n);
  assert.equal(readMsr(c, MSR_TSC), 1_000_010n, 'zeroing TSC_ADJUST takes the change back out of the TSC');
  writeMsr(c, MSR_TSC_ADJUST, BigInt.asUintN(64, -500n));
  assert.equal(readMsr(c, MSR_TSC), 999_510n, 'a negative adjustment');
  assert.equal(readMsr(c, MSR_TSC_ADJUST), BigInt.asUintN(64, -500n));
});

test('CPUID advertises TSC_ADJUST next to the invariant TSC', () => {
  const c = cpuAt({ t: 0 });
  const out = new Int32Array(4);
  cpuid(c, 7, 0, out);
  assert.equal((out[1]! >>> 1) & 1, 1);
  cpuid(c, 0x80000007, 0, out);
  assert.equal((out[3]! >>> 8) & 1, 1);
});
