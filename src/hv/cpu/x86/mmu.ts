/**
 * Address translation: the page-table walk for 32-bit, PAE and 4-level paging (4 KiB, 2 MiB,
 * 4 MiB and 1 GiB pages), accessed/dirty bit updates, protection checks with the architectural
 * #PF error codes, and the software TLB's fill and flush. Also the slow paths of memory access:
 * TLB misses, accesses that cross a page, MMIO, and writes to pages holding decoded code.
 */
import type { X86Cpu } from './cpu.js';
import {
  PAGE_SIZE, PAGE_SHIFT,
} from '../../memory/guest-memory.js';
import {
  CR0_WP, CR4_PAE, CR4_PSE, CR4_PGE, CR4_SMEP, EFER_NXE, EFER_LMA, PF_VEC, PFE_P, PFE_W, PFE_U, PFE_RSVD, PFE_I,
  TLB_SIZE, TLB_MASK, K_R, K_W, K_X, K_USER, K_CHECKED_R, K_CHECKED_W, AC_VEC, TWO32, MAXPHYADDR,
} from './constants.js';

/** Mask of physical-address bits 32+ allowed in an entry's high word (bits 32..MAXPHYADDR-1). */
const HI_ADDR_MASK = (1 << (MAXPHYADDR - 32)) - 1;

/** Bits of a 64-bit entry's high word that are reserved (beyond MAXPHYADDR, below the NX bit 63). */
const HI_RSVD = (~HI_ADDR_MASK & 0x7fffffff) >>> 0;

function pageFault(c: X86Cpu, la: number, code: number): never {
  const f = c.fault$;
  f.vector = PF_VEC; f.errorCode = code; f.address = la;
  throw f;
}

/**
 * Translates a linear address for an access of TLB kind `kind` (K_R/K_W/K_X, +K_USER for user).
 * Returns the physical address and fills the TLB when the page is RAM-backed.
 */
export function translate(c: X86Cpu, la: number, kind: number): number {
  const vpn = Math.floor(la / PAGE_SIZE);
  const off = la - vpn * PAGE_SIZE;
  const user = kind >= K_USER;
  const access = user ? kind - K_USER : kind;
  if (!c.paging) {
    let pa = vpn * PAGE_SIZE;
    if (!c.a20) pa = (pa & ~0x100000) >>> 0;
    fill(c, kind, vpn, pa, false);
    return pa + off;
  }
  const write = access === K_W;
  const fetch = access === K_X;
  const nxe = (c.efer & EFER_NXE) !== 0;
  let errBase = (write ? PFE_W : 0) | (user ? PFE_U : 0) | (fetch && (nxe || (c.cr4 & CR4_SMEP) !== 0) ? PFE_I : 0);
  let allowW = true, allowU = true, nx = false;
  let global = false;
  let span = 1;
  let pagePa: number;

  if ((c.cr4 & CR4_PAE) === 0) {
    // 32-bit paging: 2 levels of 4-byte entries; 4 MiB pages with CR4.PSE (PSE-36 high bits).
    const u = la >>> 0;
    const pdeAddr = ((c.cr3 & 0xfffff000) >>> 0) + ((u >>> 22) << 2);
    const pde = c.mem.read32(pdeAddr) >>> 0;
    if ((pde & 1) === 0) pageFault(c, la, errBase);
    allowW = (pde & 2) !== 0; allowU = (pde & 4) !== 0;
    if ((pde & 0x80) !== 0 && (c.cr4 & CR4_PSE) !== 0) {
      if ((pde & 0x200000) !== 0) pageFault(c, la, errBase | PFE_P | PFE_RSVD);
      check(c, la, errBase, allowW, allowU, false, write, user, fetch);
      setAD(c, pdeAddr, pde, write);
      global = (pde & 0x100) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      pagePa = ((pde & 0xffc00000) >>> 0) + ((pde >>> 13) & 0xff) * TWO32 + (u & 0x3ff000);
      span = 1024;
    } else {
      const pteAddr = ((pde & 0xfffff000) >>> 0) + (((u >>> 12) & 0x3ff) << 2);
      const pte = c.mem.read32(pteAddr) >>> 0;
      if ((pte & 1) === 0) pageFault(c, la, errBase);
      allowW = allowW && (pte & 2) !== 0; allowU = allowU && (pte & 4) !== 0;
      check(c, la, errBase, allowW, allowU, false, write, user, fetch);
      setA(c, pdeAddr, pde);
      setAD(c, pteAddr, pte, write);
      global = (pte & 0x100) !== 0 && (c.cr4 & CR4_PGE) !== 0;
      pagePa = (pte & 0xfffff000) >>> 0;
    }
  } else {
    const long = (c.efer & EFER_LMA) !== 0;
    // Index bits from the 48-bit (sign-folded) linear address.
    const u48 = la < 0 ? la + 281474976710656 : la;
    let tableAddr: number;
    let level: number;
    if (long) {
      tableAddr = Math.floor(c.cr3 / PAGE_SIZE) * PAGE_SIZE % (2 ** MAXPHYADDR);
      level = 4;
    } else {
      // PAE: the 4 PDPTEs (read at walk time rather than cached at CR3 load).
      const pdpteAddr = ((c.cr3 & 0xffffffe0) >>> 0) + (((la >>> 30) & 3) << 3);
      const lo = c.mem.read32(pdpteAddr) >>> 0;
      const hi = c.mem.read32(pdpteAddr + 4) >>> 0;
      if ((lo & 1) === 0) pageFault(c, la, errBase);
      if ((lo & 0x1e6) !== 0 || (hi & (HI_RSVD | 0x80000000)) !== 0) pageFault(c, la, errBase | PFE_P | PFE_RSVD);
      tableAddr = ((lo & 0xfffff000) >>> 0) + (hi & HI_ADDR_MASK) * TWO32;
      level = 2;
    }
    const walked: number[] = [];
    for (;;) {
      const shift = PAGE_SHIFT + 9 * (level - 1);
      const index = Math.floor(u48 / 2 ** shift) % 512;
      const eAddr = tableAddr + index * 8;
      const lo = c.mem.read32(eAddr) >>> 0;
      const hi = c.mem.read32(eAddr + 4) >>> 0;
      if ((lo & 1) === 0) pageFault(c, la, errBase);
      let rsvd = (hi & HI_RSVD) !== 0 || (!nxe && (hi & 0x80000000) !== 0);
      const ps = (lo & 0x80) !== 0;
      if (level === 4 && ps) rsvd = true;
      if (ps && level === 3 && !long) rsvd = true;
      if (rsvd) pageFault(c, la, errBase | PFE_P | PFE_RSVD);
      allowW = allowW && (lo & 2) !== 0;
      allowU = allowU && (lo & 4) !== 0;
      nx = nx || (nxe && (hi & 0x80000000) !== 0);
      const frame = ((lo & 0xfffff000) >>> 0) + (hi & HI_ADDR_MASK) * TWO32;
      if (level === 1 || (ps && level <= 3)) {
        if (level > 1) {
          // Large page: the frame's low bits (below the page size, above bit 12 PAT) must be zero.
          const size = 2 ** shift;
          const base = ((lo & 0xffffe000) >>> 0) + (hi & HI_ADDR_MASK) * TWO32;
          if (base % size !== 0) pageFault(c, la, errBase | PFE_P | PFE_RSVD);
          check(c, la, errBase, allowW, allowU, nx, write, user, fetch);
          for (const w of walked) setA(c, w, c.mem.read32(w) >>> 0);
          setAD(c, eAddr, lo, write);
          pagePa = base + (Math.floor(u48 / PAGE_SIZE) * PAGE_SIZE) % size;
          span = size / PAGE_SIZE;
        } else {
          check(c, la, errBase, allowW, allowU, nx, write, user, fetch);
          for (const w of walked) setA(c, w, c.mem.read32(w) >>> 0);
          setAD(c, eAddr, lo, write);
          pagePa = frame;
        }
        global = (lo & 0x100) !== 0 && (c.cr4 & CR4_PGE) !== 0;
        break;
      }
      walked.push(eAddr);
      tableAddr = frame;
      level--;
    }
  }
  fill(c, kind, vpn, pagePa, global, span);
  return pagePa + off;
}

function check(c: X86Cpu, la: number, err: number, allowW: boolean, allowU: boolean, nx: boolean,
  write: boolean, user: boolean, fetch: boolean): void {
  if (user && !allowU) pageFault(c, la, err | PFE_P);
  if (write && !allowW && (user || (c.cr0 & CR0_WP) !== 0)) pageFault(c, la, err | PFE_P);
  if (fetch && nx) pageFault(c, la, err | PFE_P);
  if (fetch && !user && allowU && (c.cr4 & CR4_SMEP) !== 0) pageFault(c, la, err | PFE_P);
}

function setA(c: X86Cpu, addr: number, e: number): void {
  if ((e & 0x20) === 0) c.mem.write32(addr, e | 0x20);
}

function setAD(c: X86Cpu, addr: number, e: number, write: boolean): void {
  const want = e | 0x20 | (write ? 0x40 : 0);
  if (want !== e) c.mem.write32(addr, want);
}

/** Installs a TLB entry for a RAM page. Write entries skip code pages (writes must invalidate blocks). */
function fill(c: X86Cpu, kind: number, vpn: number, pagePa: number, global: boolean, span = 1): void {
  const ri = c.mem.regionIndex(pagePa);
  if (ri < 0) return;
  const r = c.regions[ri];
  if (r === undefined) { c.refreshRegions(); return; }
  const off = pagePa - r.base;
  const access = kind >= K_USER ? kind - K_USER : kind;
  if (access === K_W) {
    if (r.code[off >>> PAGE_SHIFT] !== 0) return;
    // The first write through this entry dirties the page; later fast-path writes need no tracking
    // until the dirty log is cleared, which flushes write entries (flushWrites).
    c.mem.markDirty(ri, off);
  }
  const idx = kind * TLB_SIZE + (vpn & TLB_MASK);
  if (span > c.largePageSpan) c.largePageSpan = span;
  c.tlbTag[idx] = vpn;
  c.tlbReg[idx] = ri;
  c.tlbOff[idx] = off;
  c.tlbGlobal[idx] = global ? 1 : 0;
}

export function flushTlb(c: X86Cpu, keepGlobal: boolean): void {
  const tags = c.tlbTag;
  if (!keepGlobal) { tags.fill(NaN); c.largePageSpan = 0; return; }
  const g = c.tlbGlobal;
  for (let k = 0; k < tags.length; k++) if (g[k] === 0) tags[k] = NaN;
}

/**
 * INVLPG. Entries filled from a large page cache its 4 KiB pieces under their own tags, so when
 * large pages are present every entry inside the aligned large region around `la` goes (the
 * largest page size filled since the last full flush bounds that region).
 */
export function flushTlbPage(c: X86Cpu, la: number): void {
  const tags = c.tlbTag;
  const vpn = Math.floor(la / PAGE_SIZE);
  const span = c.largePageSpan;
  if (span <= 1) {
    for (let k = 0; k < 6; k++) {
      const idx = k * TLB_SIZE + (vpn & TLB_MASK);
      if (tags[idx] === vpn) tags[idx] = NaN;
    }
    return;
  }
  const first = Math.floor(vpn / span) * span, end = first + span;
  if (span >= TLB_SIZE) {
    for (let idx = 0; idx < tags.length; idx++) { const t = tags[idx]!; if (t >= first && t < end) tags[idx] = NaN; }
    return;
  }
  for (let v = first; v < end; v++) {
    for (let k = 0; k < 6; k++) {
      const idx = k * TLB_SIZE + (v & TLB_MASK);
      if (tags[idx] === v) tags[idx] = NaN;
    }
  }
}

/** Drops write entries for one physical page (it now holds code), or all of them (dirty log cleared). */
export function flushWrites(c: X86Cpu, region: number, pageOff: number): void {
  for (const k of [K_W, K_W + K_USER]) {
    const base = k * TLB_SIZE;
    for (let j = 0; j < TLB_SIZE; j++) {
      if (region < 0 || (c.tlbReg[base + j] === region && c.tlbOff[base + j] === pageOff)) c.tlbTag[base + j] = NaN;
    }
  }
}

// ---- slow paths of memory access ----

/** For the never-filled checked kinds: alignment check, data breakpoints; returns the real kind. */
function checkedKind(c: X86Cpu, la: number, size: number, kind: number): number {
  if (kind < K_CHECKED_R) return kind;
  const write = kind === K_CHECKED_W;
  if (c.alignCheck && size > 1 && la % size !== 0) c.fault(AC_VEC, 0);
  if (c.dataBreakpoints !== 0) matchDataBreakpoints(c, la, size, write);
  return (write ? K_W : K_R) + (c.cpl === 3 ? K_USER : 0);
}

function matchDataBreakpoints(c: X86Cpu, la: number, size: number, write: boolean): void {
  const dr7 = c.dr[7]!;
  for (let n = 0; n < 4; n++) {
    if ((c.dataBreakpoints & (1 << n)) === 0) continue;
    const rw = (dr7 >>> (16 + n * 4)) & 3;
    if (rw === 1 && !write) continue;
    const len = [1, 2, 8, 4][(dr7 >>> (18 + n * 4)) & 3]!;
    const start = Math.floor(c.dr[n]! / len) * len;
    if (la < start + len && start < la + size) c.pendingDb |= 1 << n;
  }
}

export function readSlow(c: X86Cpu, la: number, size: number, kind: number): number {
  kind = checkedKind(c, la, size, kind);
  const vpn = Math.floor(la / PAGE_SIZE);
  const off = la - vpn * PAGE_SIZE;
  if (off + size <= PAGE_SIZE) {
    const pa = translate(c, la, kind);
    // A device access may raise an interrupt: have the run loop look at events after this block.
    if (c.mem.regionIndex(pa) < 0) c.stopBlock = true;
    return readPhys(c, pa, size);
  }
  // Crosses a page: translate both pages first (faults come before any effect), then gather bytes.
  const pa1 = translate(c, la, kind);
  const pa2 = translate(c, (vpn + 1) * PAGE_SIZE, kind);
  const n1 = PAGE_SIZE - off;
  const b = c.mmioBuf;
  c.mem.readBytes(pa1, b.subarray(0, n1));
  c.mem.readBytes(pa2, b.subarray(n1, size));
  return assemble(c, b, size);
}

function assemble(c: X86Cpu, b: Uint8Array, size: number): number {
  switch (size) {
    case 1: return b[0]!;
    case 2: return b[0]! | (b[1]! << 8);
    case 4: return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
    default:
      c.hi = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
      return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  }
}

function readPhys(c: X86Cpu, pa: number, size: number): number {
  const b = c.mmioBuf.subarray(0, size);
  c.mem.readBytes(pa, b);
  return assemble(c, c.mmioBuf, size);
}

function scatter(b: Uint8Array, size: number, lo: number, hi: number): void {
  b[0] = lo; b[1] = lo >>> 8;
  if (size > 2) { b[2] = lo >>> 16; b[3] = lo >>> 24; }
  if (size > 4) { b[4] = hi; b[5] = hi >>> 8; b[6] = hi >>> 16; b[7] = hi >>> 24; }
}

export function writeSlow(c: X86Cpu, la: number, size: number, lo: number, hi: number, kind: number): void {
  kind = checkedKind(c, la, size, kind);
  const vpn = Math.floor(la / PAGE_SIZE);
  const off = la - vpn * PAGE_SIZE;
  const b = c.mmioBuf;
  scatter(b, size, lo, hi);
  if (off + size <= PAGE_SIZE) {
    const pa = translate(c, la, kind);
    if (c.mem.regionIndex(pa) < 0) c.stopBlock = true;
    c.mem.writeBytes(pa, b.subarray(0, size));
    return;
  }
  const pa1 = translate(c, la, kind);
  const pa2 = translate(c, (vpn + 1) * PAGE_SIZE, kind);
  const n1 = PAGE_SIZE - off;
  c.mem.writeBytes(pa1, b.subarray(0, n1));
  c.mem.writeBytes(pa2, b.subarray(n1, size));
}

export function probeWriteSlow(c: X86Cpu, la: number, size: number, kind: number): void {
  if (kind >= K_CHECKED_R) kind = K_W + (c.cpl === 3 ? K_USER : 0);
  const vpn = Math.floor(la / PAGE_SIZE);
  const idx = kind * TLB_SIZE + (vpn & TLB_MASK);
  const off = la - vpn * PAGE_SIZE;
  if (c.tlbTag[idx] === vpn && off + size <= PAGE_SIZE) return;
  translate(c, la, kind);
  if (off + size > PAGE_SIZE) translate(c, (vpn + 1) * PAGE_SIZE, kind);
}

/** Instruction fetch translation (used by the block builder); kind is the current execute kind. */
export function translateFetch(c: X86Cpu, la: number): number {
  const vpn = Math.floor(la / PAGE_SIZE);
  const idx = c.kX + (vpn & TLB_MASK);
  if (c.tlbTag[idx] === vpn) return c.regions[c.tlbReg[idx]!]!.base + c.tlbOff[idx]! + (la - vpn * PAGE_SIZE);
  return translate(c, la, c.kX / TLB_SIZE);
}

