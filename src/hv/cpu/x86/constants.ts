/** Architectural constants shared by the engine's files. */

// Segment register indexes (same order as the ModRM sreg encoding), then LDTR and TR.
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

// General-purpose register numbers.
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

// RFLAGS bits.
export const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9,
  DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17, AC = 1 << 18,
  VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bits software can change with POPF/IRET at CPL 0 (others are fixed or restricted). */
export const FLAGS_WRITABLE = ARITH_FLAGS | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;

// CR0 / CR4 / EFER bits.
export const CR0_PE = 1 << 0, CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3, CR0_ET = 1 << 4, CR0_NE = 1 << 5,
  CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29, CR0_CD = 1 << 30, CR0_PG = 1 << 31;
export const CR4_VME = 1 << 0, CR4_PVI = 1 << 1, CR4_TSD = 1 << 2, CR4_DE = 1 << 3, CR4_PSE = 1 << 4, CR4_PAE = 1 << 5,
  CR4_MCE = 1 << 6, CR4_PGE = 1 << 7, CR4_PCE = 1 << 8, CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10,
  CR4_UMIP = 1 << 11, CR4_FSGSBASE = 1 << 16, CR4_PCIDE = 1 << 17, CR4_OSXSAVE = 1 << 18, CR4_SMEP = 1 << 20, CR4_SMAP = 1 << 21;
export const EFER_SCE = 1 << 0, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

// Exception vectors.
export const DE = 0, DB = 1, NMI_VEC = 2, BP = 3, OF_VEC = 4, BR = 5, UD = 6, NM = 7, DF_VEC = 8, TS = 10, NP = 11,
  SS_VEC = 12, GP = 13, PF_VEC = 14, MF = 16, AC_VEC = 17, MC = 18, XM = 19;

/** Exceptions that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === DF_VEC || (vector >= TS && vector <= PF_VEC) || vector === AC_VEC || vector === 21;
}

// Page-fault error code bits.
export const PFE_P = 1, PFE_W = 2, PFE_U = 4, PFE_RSVD = 8, PFE_I = 16;

// Descriptor attribute layout (as VMX access rights): type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13, D/B 14, G 15.
export const ATTR_S = 1 << 4, ATTR_P = 1 << 7, ATTR_L = 1 << 13, ATTR_DB = 1 << 14, ATTR_G = 1 << 15;

export const TWO32 = 4294967296;
export const TWO47 = 140737488355328;

// Software TLB geometry: direct-mapped, TLB_SIZE entries per kind; kinds are read, write, execute,
// each for supervisor and (+K_USER) user accesses.
export const TLB_BITS = 10;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;
export const K_R = 0, K_W = 1, K_X = 2, K_USER = 3;
/** Never-filled kinds: data accesses that must be checked (alignment, data breakpoints) use these. */
export const K_CHECKED_R = 6, K_CHECKED_W = 7;

/** Physical address width advertised in CPUID 0x80000008 and enforced on page-table entries. */
export const MAXPHYADDR = 40;
