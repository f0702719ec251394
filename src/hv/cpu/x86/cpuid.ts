/**
 * CPUID: advertises exactly what the engine implements and tests, with a coherent identity,
 * cache and topology description. Feature bits that depend on instruction groups still being
 * completed are switched on in FEATURES only when their tests pass (see docs/cpu-coverage.md).
 */
import type { X86Cpu } from './cpu.js';
import {
  CR4_VME, CR4_PVI, CR4_TSD, CR4_DE, CR4_PSE, CR4_PAE, CR4_MCE, CR4_PGE, CR4_PCE, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_SMEP,
  MAXPHYADDR,
} from './constants.js';

/** CR4 bits a guest may set (others #GP). */
export const SUPPORTED_CR4 = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR |
  CR4_OSXMMEXCPT | CR4_SMEP;
void CR4_VME; void CR4_PVI;

/** Which optional instruction groups are advertised. */
export const FEATURES = {
  sse3: true, ssse3: true, sse41: true, sse42: true, popcnt: true, movbe: true, cx16: true,
  lzcnt: true, x87: true, sse: true, sse2: true, lahfLm: true,
};

/** TSC frequency advertised through leaves 0x15/0x16: 1 GHz, so one tick is one nanosecond. */
export const TSC_HZ = 1_000_000_000;

const VENDOR = 'GenuineIntel';
const HV_VENDOR = 'ViridianHvSw';
const BRAND = 'Viridian virtual x86-64 processor';

function str4(s: string, at: number): number {
  return (s.charCodeAt(at) | (s.charCodeAt(at + 1) << 8) | (s.charCodeAt(at + 2) << 16) | (s.charCodeAt(at + 3) << 24)) | 0;
}

/** Fills out[0..3] = EAX, EBX, ECX, EDX for leaf/subleaf. */
export function cpuid(c: X86Cpu, leaf: number, sub: number, out: Int32Array): void {
  out[0] = 0; out[1] = 0; out[2] = 0; out[3] = 0;
  const f = FEATURES;
  const apicId = c.index;
  switch (leaf >>> 0) {
    case 0:
      out[0] = 0x16;
      out[1] = str4(VENDOR, 0); out[3] = str4(VENDOR, 4); out[2] = str4(VENDOR, 8);
      return;
    case 1: {
      // Family 6, model 0x3A (a 22 nm client core), stepping 9 — a generation whose feature set
      // (no AVX/XSAVE here) Linux and Windows handle by CPUID bits rather than by model.
      out[0] = (0 << 20) | (0x3 << 16) | (6 << 8) | (0xa << 4) | 9;
      out[1] = (apicId << 24) | (c.cpuCount << 16) | (8 << 8);
      let ecx = 0;
      if (f.sse3) ecx |= 1;
      if (f.ssse3) ecx |= 1 << 9;
      if (f.cx16) ecx |= 1 << 13;
      if (f.sse41) ecx |= 1 << 19;
      if (f.sse42) ecx |= 1 << 20;
      if (f.movbe) ecx |= 1 << 22;
      if (f.popcnt) ecx |= 1 << 23;
      ecx |= 1 << 24;   // TSC-deadline timer (local APIC)
      ecx |= 1 << 31;   // running under a hypervisor
      out[2] = ecx;
      let edx = 0;
      if (f.x87) edx |= 1 << 0;                    // FPU
      edx |= (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6); // PSE TSC MSR PAE
      edx |= (1 << 8) | (1 << 9) | (1 << 11) | (1 << 12); // CX8 APIC SEP MTRR
      edx |= (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17); // PGE CMOV PAT PSE36
      edx |= 1 << 19;                              // CLFSH
      edx |= 1 << 23;                              // MMX
      edx |= 1 << 24;                              // FXSR
      if (f.sse) edx |= 1 << 25;
      if (f.sse2) edx |= 1 << 26;
      if (c.cpuCount > 1) edx |= 1 << 28;          // HTT: more than one logical processor
      out[3] = edx;
      return;
    }
    case 4: {
      // Deterministic cache parameters: L1d 32K, L1i 32K, L2 256K, L3 8M; one core per processor.
      const cores = Math.max(1, c.cpuCount) - 1;
      const caches = [[1, 1, 8, 64, 64], [2, 1, 8, 64, 64], [3, 2, 8, 64, 512], [3, 3, 16, 64, 8192]];
      const e = caches[sub >>> 0];
      if (e === undefined) return;
      const [type, level, ways, line, sets] = e as [number, number, number, number, number];
      out[0] = type | (level << 5) | (1 << 8) | (cores << 26);
      out[1] = (line - 1) | (0 << 12) | ((ways - 1) << 22);
      out[2] = sets - 1;
      return;
    }
    case 6: out[0] = 1 << 2; return;             // ARAT: the APIC timer runs in every C-state
    case 7:
      if (sub !== 0) return;
      // TSC_ADJUST: with the invariant TSC (0x80000007) Linux then trusts the TSC without a
      // clocksource watchdog, which host scheduling delays would otherwise trip.
      out[1] = (1 << 7) | (1 << 1); // SMEP, IA32_TSC_ADJUST
      out[3] = 1 << 29; // IA32_ARCH_CAPABILITIES (msr.ts): the engine does not speculate
      return;
    case 0xb: {
      // x2APIC topology: level 0 = SMT (1 thread), level 1 = core (cpuCount cores).
      if (sub === 0) { out[0] = 0; out[1] = 1; out[2] = (1 << 8) | 0; }
      else if (sub === 1) { out[0] = Math.ceil(Math.log2(Math.max(1, c.cpuCount))); out[1] = c.cpuCount; out[2] = (2 << 8) | 1; }
      else out[2] = sub & 0xff;
      out[3] = apicId;
      return;
    }
    case 0x15: out[0] = 1; out[1] = 1; out[2] = TSC_HZ; return; // crystal = TSC = 1 GHz
    case 0x16: out[0] = TSC_HZ / 1e6; out[1] = TSC_HZ / 1e6; out[2] = 100; return;
    case 0x40000000:
      out[0] = 0x40000000;
      out[1] = str4(HV_VENDOR, 0); out[2] = str4(HV_VENDOR, 4); out[3] = str4(HV_VENDOR, 8);
      return;
    case 0x80000000: out[0] = 0x80000008; return;
    case 0x80000001: {
      out[2] = (f.lahfLm ? 1 : 0) | (f.lzcnt ? 1 << 5 : 0);
      out[3] = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29); // SYSCALL NX 1GB RDTSCP LM
      return;
    }
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const s = BRAND.padEnd(48, '\0');
      const base = ((leaf >>> 0) - 0x80000002) * 16;
      for (let k = 0; k < 4; k++) out[k] = str4(s, base + k * 4);
      return;
    }
    case 0x80000006: out[2] = (256 << 16) | (6 << 12) | 64; return; // L2 256K, 8-way, 64-byte lines
    case 0x80000007: out[3] = 1 << 8; return;    // invariant TSC
    case 0x80000008: out[0] = MAXPHYADDR | (48 << 8); return;
    default: return;
  }
}
