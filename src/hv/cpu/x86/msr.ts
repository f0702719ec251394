/**
 * Model-specific registers Linux and Windows use. Unknown MSRs raise #GP, as on hardware, so a
 * guest probing for features sees them absent rather than silently zero.
 */
import type { X86Cpu } from './cpu.js';
import { EFER_SCE, EFER_LME, EFER_LMA, EFER_NXE, CR0_PG, FS, GS } from './constants.js';
import { readTsc } from './insn/system-misc.js';

export const MSR_TSC = 0x10, MSR_TSC_ADJUST = 0x3b, MSR_APIC_BASE = 0x1b, MSR_FEATURE_CONTROL = 0x3a, MSR_BIOS_SIGN = 0x8b,
  MSR_MTRRCAP = 0xfe, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176,
  MSR_MISC_ENABLE = 0x1a0, MSR_PAT = 0x277, MSR_MTRR_DEF = 0x2ff, MSR_TSC_DEADLINE = 0x6e0,
  MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
  MSR_SFMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101,
  MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103, MSR_PLATFORM_INFO = 0xce, MSR_ARCH_CAPABILITIES = 0x10a;

/**
 * IA32_ARCH_CAPABILITIES: an interpreter executes nothing speculatively, so it is immune to the
 * transient-execution attacks these bits deny (RDCL_NO: Meltdown, SSB_NO, MDS_NO, TAA_NO, the MMIO
 * stale-data family, PBRSB_NO, GDS_NO, RFDS_NO). Guests then skip page-table isolation and buffer
 * clearing, which would cost an interpreter dearly for no protection.
 */
const ARCH_CAPABILITIES = (1n << 0n) | (1n << 3n) | (1n << 4n) | (1n << 5n) | (1n << 6n) | (1n << 8n) |
  (1n << 13n) | (1n << 14n) | (1n << 15n) | (1n << 24n) | (1n << 26n) | (1n << 27n);

const PAT_DEFAULT = 0x0007040600070406n;

function isMtrr(i: number): boolean {
  return (i >= 0x200 && i <= 0x20f) || i === 0x250 || i === 0x258 || i === 0x259 || (i >= 0x268 && i <= 0x26f);
}

function signedAddr(v: bigint): number {
  const s = BigInt.asIntN(64, v);
  return Number(s);
}
function canonical(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -(1n << 47n) && s < (1n << 47n);
}
function u64(n: number): bigint {
  return BigInt.asUintN(64, BigInt(Math.trunc(n)));
}

export function readMsr(c: X86Cpu, index: number): bigint {
  const p = c.platformMsr?.read(index);
  if (p !== undefined) return p;
  switch (index) {
    case MSR_TSC: return BigInt(readTsc(c));
    case MSR_TSC_ADJUST: return BigInt.asUintN(64, BigInt(c.tscAdjust));
    case MSR_FEATURE_CONTROL: return 1n; // locked, VMX off
    case MSR_BIOS_SIGN: return 0n;
    case MSR_PLATFORM_INFO: return 10n << 8n; // maximum non-turbo ratio
    case MSR_ARCH_CAPABILITIES: return ARCH_CAPABILITIES;
    case MSR_MTRRCAP: return 0x508n;          // 8 variable ranges, fixed ranges, write-combining
    case MSR_SYSENTER_CS: return BigInt(c.sysenterCs);
    case MSR_SYSENTER_ESP: return u64(c.sysenterEsp);
    case MSR_SYSENTER_EIP: return u64(c.sysenterEip);
    case MSR_MISC_ENABLE: return c.msrStore.get(index) ?? 1n; // fast strings
    case MSR_PAT: return c.msrStore.get(index) ?? PAT_DEFAULT;
    case MSR_MTRR_DEF: return c.msrStore.get(index) ?? 0n;
    case MSR_EFER: return BigInt(c.efer >>> 0);
    case MSR_STAR: return c.star;
    case MSR_LSTAR: return u64(c.lstar);
    case MSR_CSTAR: return u64(c.cstar);
    case MSR_SFMASK: return BigInt(c.sfmask >>> 0);
    case MSR_FS_BASE: return u64(c.segBase[FS]!);
    case MSR_GS_BASE: return u64(c.segBase[GS]!);
    case MSR_KERNEL_GS_BASE: return u64(c.kernelGsBase);
    case MSR_TSC_AUX: return BigInt(c.tscAux >>> 0);
    default:
      if (isMtrr(index)) return c.msrStore.get(index) ?? 0n;
      return c.gp(0);
  }
}

export function writeMsr(c: X86Cpu, index: number, v: bigint): void {
  if (c.platformMsr !== null && c.platformMsr.write(index, v)) return;
  switch (index) {
    case MSR_TSC: {
      // SDM: a write to the TSC moves IA32_TSC_ADJUST by the same amount.
      const before = readTsc(c);
      c.tscOffset = Number(v) - c.tscSource();
      c.tscAdjust += Number(v) - before;
      return;
    }
    case MSR_TSC_ADJUST: {
      // And a write to IA32_TSC_ADJUST moves the TSC by the change.
      const next = Number(BigInt.asIntN(64, v));
      c.tscOffset += next - c.tscAdjust;
      c.tscAdjust = next;
      return;
    }
    case MSR_BIOS_SIGN: return;
    case MSR_SYSENTER_CS: c.sysenterCs = Number(v & 0xffffn); return;
    case MSR_SYSENTER_ESP: if (!canonical(v)) c.gp(0); c.sysenterEsp = signedAddr(v); return;
    case MSR_SYSENTER_EIP: if (!canonical(v)) c.gp(0); c.sysenterEip = signedAddr(v); return;
    case MSR_MISC_ENABLE: c.msrStore.set(index, v); return;
    case MSR_PAT: {
      for (let k = 0n; k < 64n; k += 8n) {
        const t = (v >> k) & 0xffn;
        if (t === 2n || t === 3n || t > 7n) c.gp(0);
      }
      c.msrStore.set(index, v);
      return;
    }
    case MSR_MTRR_DEF: if ((v & ~0xcffn) !== 0n) c.gp(0); c.msrStore.set(index, v); return;
    case MSR_EFER: {
      const n = Number(v & 0xffffffffn);
      if ((v >> 32n) !== 0n || (n & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) !== 0) c.gp(0);
      // LME may not change while paging is on; LMA is read-only.
      if ((c.cr0 & CR0_PG) !== 0 && ((n ^ c.efer) & EFER_LME) !== 0) c.gp(0);
      c.efer = (n & ~EFER_LMA) | (c.efer & EFER_LMA);
      c.updateMode();
      return;
    }
    case MSR_STAR: c.star = v; return;
    case MSR_LSTAR: if (!canonical(v)) c.gp(0); c.lstar = signedAddr(v); return;
    case MSR_CSTAR: if (!canonical(v)) c.gp(0); c.cstar = signedAddr(v); return;
    case MSR_SFMASK: c.sfmask = Number(v & 0xffffffffn) | 0; return;
    case MSR_FS_BASE: if (!canonical(v)) c.gp(0); c.segBase[FS] = signedAddr(v); return;
    case MSR_GS_BASE: if (!canonical(v)) c.gp(0); c.segBase[GS] = signedAddr(v); return;
    case MSR_KERNEL_GS_BASE: if (!canonical(v)) c.gp(0); c.kernelGsBase = signedAddr(v); return;
    case MSR_TSC_AUX: if ((v >> 32n) !== 0n) c.gp(0); c.tscAux = Number(v); return;
    default:
      if (isMtrr(index)) { c.msrStore.set(index, v); return; }
      c.gp(0);
  }
}

