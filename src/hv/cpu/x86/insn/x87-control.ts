/**
 * x87 control and stack management: FNINIT, FNCLEX, FNSTSW (AX, m16), FNSTCW/FLDCW,
 * FNSTENV/FLDENV/FNSAVE/FRSTOR in the 16/32-bit real and protected formats, FXCH, FFREE(P),
 * FINCSTP/FDECSTP, FNOP, FCMOVcc, FWAIT, the no-op FENI/FDISI/FSETPM, FCHS and FABS.
 */
import type { X86Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { def } from '../opcode-table.js';
import { testCondition } from '../flags.js';
import { CR0_MP, CR0_TS, NM, MF, VM } from '../constants.js';
import {
  xf, x87Begin, commit, phys, isEmpty, setTag, tagOf, pop, copyPhys, underflowInto, masked, X_IE, X_SF, SW_ES, SW_B,
} from './x87-common.js';

function statusWord(c: X86Cpu): number { return (c.fpu.fsw & ~0x3800) | (c.fpu.top << 11); }

export function fninit(c: X86Cpu): void {
  const f = c.fpu;
  f.fcw = 0x037f; f.fsw = 0; f.top = 0; f.ftw = 0xffff;
  f.fop = 0; f.fip = 0; f.fcs = 0; f.fdp = 0; f.fds = 0;
}

def(0, 0xdb, { name: 'fninit', reg: 4, rm: 3 }, (c, i) => { x87Begin(c, i, false); fninit(c); });
def(0, 0xdb, { name: 'fnclex', reg: 4, rm: 2 }, (c, i) => { x87Begin(c, i, false); c.fpu.fsw &= ~(0x7f | SW_ES | SW_B); });
for (const rm of [0, 1, 4]) def(0, 0xdb, { name: 'feni/fdisi/fsetpm', reg: 4, rm }, (c, i) => { x87Begin(c, i, false); });
def(0, 0xdf, { name: 'fnstsw ax', reg: 4, rm: 0 }, (c, i) => { x87Begin(c, i, false); c.setReg16(0, statusWord(c)); });
def(0, 0xdd, { name: 'fnstsw m16', reg: 7, form: 'mem' }, (c, i) => { x87Begin(c, i, false); c.wr16(c.addrW(i, 2), statusWord(c)); });
def(0, 0xd9, { name: 'fnstcw', reg: 7, form: 'mem' }, (c, i) => { x87Begin(c, i, false); c.wr16(c.addrW(i, 2), c.fpu.fcw); });
// FLDCW, FLDENV and FRSTOR are waiting instructions: a pending unmasked exception raises #MF
// before they load anything (only the FN- forms skip the check).
def(0, 0xd9, { name: 'fldcw', reg: 5, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  // Bit 6 reads as 1 and bits 13-15 as 0 on every processor since the 387.
  c.fpu.fcw = (c.rd16(c.addr(i, 2)) & 0x1f3f) | 0x40;
  c.fpu.syncErrorSummary();
});

// ---- environment and full state ----

function realFormat(c: X86Cpu): boolean { return !c.protectedMode || (c.eflags & VM) !== 0; }

/** Stores the environment (14 or 28 bytes); returns its size. */
function storeEnv(c: X86Cpu, la: number, wide: boolean): number {
  const f = c.fpu;
  const cw = f.fcw, sw = statusWord(c), tw = f.ftw;
  const ip = f.fip >>> 0, dp = f.fdp >>> 0;
  if (wide) {
    c.probeWrite(la, 28);
    c.wr32(la, cw | 0xffff0000); c.wr32(la + 4, sw | 0xffff0000); c.wr32(la + 8, tw | 0xffff0000);
    if (realFormat(c)) {
      c.wr32(la + 12, (ip & 0xffff) | 0xffff0000); c.wr32(la + 16, ((ip >>> 16) << 12) | (f.fop & 0x7ff));
      c.wr32(la + 20, (dp & 0xffff) | 0xffff0000); c.wr32(la + 24, (dp >>> 16) << 12);
    } else {
      c.wr32(la + 12, ip); c.wr32(la + 16, (f.fcs & 0xffff) | ((f.fop & 0x7ff) << 16));
      c.wr32(la + 20, dp); c.wr32(la + 24, (f.fds & 0xffff) | 0xffff0000);
    }
    return 28;
  }
  c.probeWrite(la, 14);
  c.wr16(la, cw); c.wr16(la + 2, sw); c.wr16(la + 4, tw);
  if (realFormat(c)) {
    c.wr16(la + 6, ip & 0xffff); c.wr16(la + 8, (((ip >>> 16) & 0xf) << 12) | (f.fop & 0x7ff));
    c.wr16(la + 10, dp & 0xffff); c.wr16(la + 12, ((dp >>> 16) & 0xf) << 12);
  } else {
    c.wr16(la + 6, ip & 0xffff); c.wr16(la + 8, f.fcs); c.wr16(la + 10, dp & 0xffff); c.wr16(la + 12, f.fds);
  }
  return 14;
}

/** Loads the environment; the tag word's non-empty entries are recomputed from the registers. */
function loadEnv(c: X86Cpu, la: number, wide: boolean, regsAt: number): number {
  const f = c.fpu;
  const step = wide ? 4 : 2;
  const rd = (o: number): number => (wide ? c.rd32(la + o) : c.rd16(la + o)) & 0xffff;
  const cw = rd(0), sw = rd(step), tw = rd(2 * step);
  let ip: number, dp: number, op: number, cs = 0, ds = 0;
  if (realFormat(c)) {
    const w = wide ? c.rd32(la + 16) >>> 0 : c.rd16(la + 8);
    ip = rd(3 * step) | ((wide ? (w >>> 12) & 0xffff : (w >>> 12) & 0xf) << 16);
    op = w & 0x7ff;
    const w2 = wide ? c.rd32(la + 24) >>> 0 : c.rd16(la + 12);
    dp = rd(5 * step) | ((wide ? (w2 >>> 12) & 0xffff : (w2 >>> 12) & 0xf) << 16);
  } else if (wide) {
    ip = c.rd32(la + 12) >>> 0; const w = c.rd32(la + 16) >>> 0; cs = w & 0xffff; op = (w >>> 16) & 0x7ff;
    dp = c.rd32(la + 20) >>> 0; ds = c.rd32(la + 24) & 0xffff;
  } else {
    ip = c.rd16(la + 6); cs = c.rd16(la + 8); dp = c.rd16(la + 10); ds = c.rd16(la + 12); op = 0;
  }
  // Registers (FRSTOR) are read before anything changes so a fault leaves the state intact.
  const regs = new Uint8Array(80);
  if (regsAt > 0) for (let k = 0; k < 80; k++) regs[k] = c.rd8(la + regsAt + k);
  f.fcw = (cw & 0x1f3f) | 0x40;
  f.top = (sw >> 11) & 7; f.fsw = sw & ~0x3800;
  f.fip = ip; f.fdp = dp; f.fop = op; f.fcs = cs; f.fds = ds;
  if (regsAt > 0) for (let k = 0; k < 8; k++) f.st.set(regs.subarray(k * 10, k * 10 + 10), ((f.top + k) & 7) * 10);
  let ftw = 0;
  for (let p = 0; p < 8; p++) ftw |= (((tw >> (p * 2)) & 3) === 3 ? 3 : f.classify(p)) << (p * 2);
  f.ftw = ftw;
  c.fpu.syncErrorSummary();
  return wide ? 28 : 14;
}

def(0, 0xd9, { name: 'fnstenv', reg: 6, form: 'mem' }, (c, i) => {
  x87Begin(c, i, false);
  storeEnv(c, c.addrW(i, i.osize === 2 ? 14 : 28), i.osize !== 2);
  // FNSTENV masks all exceptions after saving; with everything masked no error is pending.
  c.fpu.fcw |= 0x3f;
  c.fpu.syncErrorSummary();
});
def(0, 0xd9, { name: 'fldenv', reg: 4, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  loadEnv(c, c.addr(i, i.osize === 2 ? 14 : 28), i.osize !== 2, 0);
});
def(0, 0xdd, { name: 'fnsave', reg: 6, form: 'mem' }, (c, i) => {
  x87Begin(c, i, false);
  const wide = i.osize !== 2;
  const la = c.addrW(i, wide ? 108 : 94);
  c.probeWrite(la, wide ? 108 : 94);
  const n = storeEnv(c, la, wide);
  const f = c.fpu;
  for (let k = 0; k < 8; k++) {
    const o = ((f.top + k) & 7) * 10;
    for (let b = 0; b < 10; b++) c.wr8(la + n + k * 10 + b, f.st[o + b]!);
  }
  fninit(c);
});
def(0, 0xdd, { name: 'frstor', reg: 4, form: 'mem' }, (c, i) => {
  x87Begin(c, i);
  const wide = i.osize !== 2;
  loadEnv(c, c.addr(i, wide ? 108 : 94), wide, wide ? 28 : 14);
});

// FWAIT (9B): #NM only when both CR0.MP and CR0.TS; a pending unmasked exception raises #MF.
def(0, 0x9b, { name: 'fwait' }, (c) => {
  if ((c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) c.fault(NM);
  if ((c.fpu.fsw & SW_ES) !== 0) c.fault(MF);
});

// ---- stack manipulation ----

def(0, 0xd9, { name: 'fnop', reg: 2, rm: 0 }, (c, i) => { x87Begin(c, i); });
def(0, 0xd9, { name: 'fdecstp', reg: 6, rm: 6 }, (c, i) => { x87Begin(c, i); c.fpu.top = (c.fpu.top - 1) & 7; commit(c); });
def(0, 0xd9, { name: 'fincstp', reg: 6, rm: 7 }, (c, i) => { x87Begin(c, i); c.fpu.top = (c.fpu.top + 1) & 7; commit(c); });
def(0, 0xdd, { name: 'ffree', reg: 0, form: 'reg' }, (c, i) => { x87Begin(c, i); setTag(c, phys(c, i.rm & 7), 3); });
def(0, 0xdf, { name: 'ffreep', reg: 0, form: 'reg' }, (c, i) => { x87Begin(c, i); setTag(c, phys(c, i.rm & 7), 3); pop(c); });

const TMP = new Uint8Array(10);
function fxch(c: X86Cpu, i: Insn): void {
  x87Begin(c, i);
  const k = i.rm & 7;
  const p0 = phys(c, 0), pk = phys(c, k);
  const e0 = isEmpty(c, 0), ek = isEmpty(c, k);
  if (e0 || ek) {
    // Stack underflow: masked, empty operands become the indefinite first.
    xf.flags |= X_IE | X_SF;
    if (!masked(c, X_IE)) { commit(c); return; }
    if (e0) underflowInto(c, p0);
    if (ek) underflowInto(c, pk);
  }
  const f = c.fpu;
  TMP.set(f.st.subarray(p0 * 10, p0 * 10 + 10));
  const t0 = tagOf(c, p0);
  copyPhys(c, pk, p0);
  f.st.set(TMP, pk * 10); setTag(c, pk, t0);
  commit(c);
}
def(0, 0xd9, { name: 'fxch', reg: 1, form: 'reg' }, fxch);
def(0, 0xdd, { name: 'fxch4', reg: 1, form: 'reg' }, fxch);
def(0, 0xdf, { name: 'fxch7', reg: 1, form: 'reg' }, fxch);

// FCMOVcc: DA /0-/3 (B, E, BE, U), DB /0-/3 (NB, NE, NBE, NU).
const CC = [2, 4, 6, 10];
for (let r = 0; r < 4; r++) {
  for (const negate of [false, true]) {
    const cc = CC[r]! | (negate ? 1 : 0);
    def(0, negate ? 0xdb : 0xda, { name: 'fcmovcc', reg: r, form: 'reg' }, (c, i) => {
      x87Begin(c, i);
      const k = i.rm & 7;
      if (isEmpty(c, 0) || isEmpty(c, k)) {
        xf.flags |= X_IE | X_SF;
        if (masked(c, X_IE)) underflowInto(c, phys(c, 0));
      } else if (testCondition(c.lf, cc)) copyPhys(c, phys(c, k), phys(c, 0));
      commit(c);
    });
  }
}

// FCHS / FABS work on the sign bit only.
function signOp(clear: boolean) {
  return (c: X86Cpu, i: Insn): void => {
    x87Begin(c, i);
    const p = phys(c, 0);
    if (isEmpty(c, 0)) { xf.flags |= X_IE | X_SF; underflowInto(c, p); }
    else { const o = p * 10 + 9; c.fpu.st[o] = clear ? c.fpu.st[o]! & 0x7f : c.fpu.st[o]! ^ 0x80; }
    commit(c);
  };
}
def(0, 0xd9, { name: 'fchs', reg: 4, rm: 0 }, signOp(false));
def(0, 0xd9, { name: 'fabs', reg: 4, rm: 1 }, signOp(true));

