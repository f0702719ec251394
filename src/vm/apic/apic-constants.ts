/**
 * Register offsets and field values of the local APIC (Intel SDM vol. 3A ch. 11, "Advanced
 * Programmable Interrupt Controller"). xAPIC registers sit at 16-byte strides from the APIC base;
 * the x2APIC MSR for a register is 0x800 + (offset >> 4).
 */
export const APIC_DEFAULT_BASE = 0xfee00000;
export const APIC_MMIO_SIZE = 0x1000;

export const REG_ID = 0x20;
export const REG_VERSION = 0x30;
export const REG_TPR = 0x80;
export const REG_APR = 0x90;
export const REG_PPR = 0xa0;
export const REG_EOI = 0xb0;
export const REG_RRD = 0xc0;
export const REG_LDR = 0xd0;
export const REG_DFR = 0xe0;
export const REG_SVR = 0xf0;
export const REG_ISR = 0x100;
export const REG_TMR = 0x180;
export const REG_IRR = 0x200;
export const REG_ESR = 0x280;
export const REG_LVT_CMCI = 0x2f0;
export const REG_ICR_LOW = 0x300;
export const REG_ICR_HIGH = 0x310;
export const REG_LVT_TIMER = 0x320;
export const REG_LVT_THERMAL = 0x330;
export const REG_LVT_PERF = 0x340;
export const REG_LVT_LINT0 = 0x350;
export const REG_LVT_LINT1 = 0x360;
export const REG_LVT_ERROR = 0x370;
export const REG_TIMER_INITIAL = 0x380;
export const REG_TIMER_CURRENT = 0x390;
export const REG_TIMER_DIVIDE = 0x3e0;
/** x2APIC only: SELF IPI (MSR 0x83F). */
export const REG_SELF_IPI = 0x3f0;

/** LVT indices into the local APIC's LVT array, in register order. */
export const LVT_TIMER = 0, LVT_THERMAL = 1, LVT_PERF = 2, LVT_LINT0 = 3, LVT_LINT1 = 4, LVT_ERROR = 5, LVT_COUNT = 6;

/**
 * Version register: version 0x14 (integrated xAPIC of P6/Pentium 4 and later), max LVT entry 5
 * (timer, thermal, perf, LINT0, LINT1, error; no CMCI), EOI-broadcast suppression not offered.
 */
export const APIC_VERSION_VALUE = 0x00050014;

export const LVT_MASKED = 1 << 16;
export const SVR_APIC_ENABLED = 1 << 8;

/** Delivery modes, as encoded in ICR, LVT, IOAPIC redirection entries and MSI data. */
export const DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6, DM_EXTINT = 7;

/** Destination shorthands (ICR bits 19:18). */
export const SH_NONE = 0, SH_SELF = 1, SH_ALL = 2, SH_ALL_BUT_SELF = 3;

/** ESR bits (SDM 11.5.3). */
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER = 1 << 7;

/** IA32_APIC_BASE (MSR 0x1B) bits. */
export const APIC_BASE_BSP = 1n << 8n;
export const APIC_BASE_EXTD = 1n << 10n;
export const APIC_BASE_ENABLE = 1n << 11n;
