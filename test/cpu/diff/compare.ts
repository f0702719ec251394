/**
 * Compares the host's outcome with the engine's and renders a mismatch: exception and error code,
 * all sixteen GPRs, RFLAGS without the template's undefined flags, the FXSAVE image (FCW, FSW
 * without undefined condition codes, abridged tags, MXCSR, ST0-7, XMM0-15; not FIP/FDP/FOP, which
 * AMD only stores with an exception pending) and the data window.
 */
import { FX, view } from './fx.js';
import { ARITH, F, FSW_C, type Template } from './template.js';
import { applyRuns, defaultWindow, undoRuns, type CaseInput, type NativeOutcome, type MachineState } from './wire.js';

export const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

export interface EngineOutcome { state: MachineState; exception: number | null; errorCode: number | null }

const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17, 21]);
const hex = (v: bigint | number, w = 0): string => '0x' + v.toString(16).padStart(w, '0');
const bytesHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** ST register value (10 bytes) as sign, exponent, significand. */
function f80Parts(b: Uint8Array): { sign: number; exp: number; mant: bigint } {
  const dv = view(b);
  const se = dv.getUint16(8, true);
  return { sign: se >> 15, exp: se & 0x7fff, mant: dv.getBigUint64(0, true) };
}

/**
 * Absolute tolerance next to the ulp one: near a zero of the function (cos x for x close to k*pi/2)
 * any relative bound fails for an engine that rounds the operand to double first, while the
 * absolute error stays near |x| * 2^-53.
 */
const TRANSCENDENTAL_ABS = 2 ** -45;

/** Finite ST value as a double (NaN for NaNs and infinities); for tolerances only. */
function f80Number(b: Uint8Array): number {
  const p = f80Parts(b);
  if (p.exp === 0x7fff) return NaN;
  const v = Number(p.mant) * 2 ** ((p.exp === 0 ? 1 : p.exp) - 16383 - 63);
  return p.sign ? -v : v;
}

/** Distance in units of the last place of the 64-bit significand, or Infinity across classes. */
export function f80UlpDistance(a: Uint8Array, b: Uint8Array): number {
  const x = f80Parts(a), y = f80Parts(b);
  if (x.sign !== y.sign) return x.mant === 0n && y.mant === 0n ? 0 : Infinity;
  if (x.exp === 0x7fff || y.exp === 0x7fff) return x.exp === y.exp && x.mant === y.mant ? 0 : Infinity;
  // Ordered integers: exponent and significand concatenated (normal numbers only, which is all
  // the transcendental templates produce apart from exact zeros).
  const ka = (BigInt(x.exp) << 63n) | (x.mant & 0x7fffffffffffffffn);
  const kb = (BigInt(y.exp) << 63n) | (y.mant & 0x7fffffffffffffffn);
  const d = ka > kb ? ka - kb : kb - ka;
  return d > 1_000_000_000n ? Infinity : Number(d);
}

/**
 * Differences between host and engine, as lines; empty when they agree. `scratch` is a window
 * buffer holding the default pattern on entry and on return (used to rebuild the host window
 * without allocating).
 */
export function diffOutcomes(t: Template, input: CaseInput, host: NativeOutcome, engine: EngineOutcome, scratch: Uint8Array): string[] {
  const d: string[] = [];
  if (host.exception !== engine.exception) {
    d.push(`exception: host ${fmtVec(host.exception)} (at +${host.ripOffset}) engine ${fmtVec(engine.exception)}`);
    return d;
  }
  // Only these vectors push an error code; for the others the kernel's REG_ERR is meaningless.
  if (host.exception !== null && ERROR_CODE_VECTORS.has(host.exception) && host.errorCode !== engine.errorCode) {
    d.push(`error code: host ${hex(host.errorCode ?? 0)} engine ${hex(engine.errorCode ?? 0)}`);
  }
  const es = engine.state;
  // 32-bit code sees only the low halves of EAX..EDI; the SDM leaves the rest undefined there.
  const compat = t.bits === 32;
  for (let k = 0; k < (compat ? 8 : 16); k++) {
    if (t.undefinedRegs?.includes(k)) continue;
    if (compat ? (host.gpr[k]! & 0xffffffffn) !== (es.gpr[k]! & 0xffffffffn) : host.gpr[k] !== es.gpr[k]) d.push(`${REG_NAMES[k]}: host ${hex(host.gpr[k]!, 16)} engine ${hex(es.gpr[k]!, 16)}  (in ${hex(input.gpr[k]!, 16)})`);
  }
  const fmask = ((ARITH & ~(t.undefinedFlags ?? 0)) | F.DF) >>> 0;
  if ((host.rflags & fmask) !== (es.rflags & fmask)) {
    d.push(`rflags: host ${hex(host.rflags & fmask, 3)} engine ${hex(es.rflags & fmask, 3)} (compared bits ${hex(fmask, 3)}, in ${hex(input.rflags, 3)})`);
  }
  diffFx(t, host.fxsave, es.fxsave, d);
  applyRuns(scratch, host.runs);
  for (const [off, len] of t.ignoreData ?? []) scratch.set(es.data.subarray(off, off + len), off);
  if (!Buffer.from(scratch.buffer, scratch.byteOffset, scratch.length).equals(Buffer.from(es.data.buffer, es.data.byteOffset, es.data.length))) {
    let first = 0;
    while (scratch[first] === es.data[first]) first++;
    const lo = first & ~15;
    d.push(`data window differs first at +${hex(first)}:\n      host   ${bytesHex(scratch.subarray(lo, lo + 32))}\n      engine ${bytesHex(es.data.subarray(lo, lo + 32))}`);
  }
  undoRuns(scratch, host.runs);
  for (const [off, len] of t.ignoreData ?? []) scratch.set(defaultWindow().subarray(off, off + len), off);
  return d;
}

function fmtVec(v: number | null): string {
  if (v === null) return 'none';
  const names: Record<number, string> = { 0: '#DE', 1: '#DB', 3: '#BP', 6: '#UD', 7: '#NM', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 19: '#XM' };
  return v === -1 ? 'step budget exhausted' : `${names[v] ?? 'vector'} ${v}`;
}

function diffFx(t: Template, h: Uint8Array, e: Uint8Array, d: string[]): void {
  const hv = view(h), ev = view(e);
  const fcw = hv.getUint16(FX.FCW, true), efcw = ev.getUint16(FX.FCW, true);
  if (fcw !== efcw) d.push(`fcw: host ${hex(fcw, 4)} engine ${hex(efcw, 4)}`);
  let fswMask = 0xffff & ~(t.undefinedFsw ?? 0);
  if (t.ulps !== undefined) fswMask &= ~FSW_C.C1;
  const fsw = hv.getUint16(FX.FSW, true) & fswMask, efsw = ev.getUint16(FX.FSW, true) & fswMask;
  if (fsw !== efsw) d.push(`fsw: host ${hex(fsw, 4)} engine ${hex(efsw, 4)} (compared bits ${hex(fswMask, 4)})`);
  if (h[FX.FTW] !== e[FX.FTW]) d.push(`ftw (abridged): host ${hex(h[FX.FTW]!, 2)} engine ${hex(e[FX.FTW]!, 2)}`);
  const mx = hv.getUint32(FX.MXCSR, true), emx = ev.getUint32(FX.MXCSR, true);
  if (mx !== emx) d.push(`mxcsr: host ${hex(mx, 8)} engine ${hex(emx, 8)}`);
  for (let i = 0; i < 8; i++) {
    const a = h.subarray(FX.ST0 + i * 16, FX.ST0 + i * 16 + 10), b = e.subarray(FX.ST0 + i * 16, FX.ST0 + i * 16 + 10);
    if (Buffer.from(a).equals(Buffer.from(b))) continue;
    if (t.ulps !== undefined && (f80UlpDistance(a, b) <= t.ulps || Math.abs(f80Number(a) - f80Number(b)) <= TRANSCENDENTAL_ABS)) continue;
    d.push(`st${i}/mm${i}: host ${f80Text(a)} engine ${f80Text(b)}`);
  }
  for (let x = 0; x < 16; x++) {
    const a = h.subarray(FX.XMM0 + x * 16, FX.XMM0 + x * 16 + 16), b = e.subarray(FX.XMM0 + x * 16, FX.XMM0 + x * 16 + 16);
    if (Buffer.from(a).equals(Buffer.from(b))) continue;
    if (t.approxF32 === true && approxEqualF32(a, b)) continue;
    d.push(`xmm${x}: host ${bytesHex(a)} engine ${bytesHex(b)}`);
  }
}

/** Lane-wise: equal bits, or finite floats within 3 * 2^-12 relative (each approximation is within 1.5 * 2^-12). */
function approxEqualF32(a: Uint8Array, b: Uint8Array): boolean {
  const va = view(a), vb = view(b);
  for (let i = 0; i < 16; i += 4) {
    if (va.getUint32(i, true) === vb.getUint32(i, true)) continue;
    const x = va.getFloat32(i, true), y = vb.getFloat32(i, true);
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x - y) > 3 * 2 ** -12 * Math.max(Math.abs(x), Math.abs(y))) return false;
  }
  return true;
}

function f80Text(b: Uint8Array): string {
  const p = f80Parts(b);
  return `${p.sign ? '-' : '+'}e${hex(p.exp, 4)}:m${hex(p.mant, 16)}`;
}

/** The input, for reproducing by hand: registers, flags, x87/SSE control and the patched window bytes. */
export function describeInput(c: CaseInput): string {
  const lines: string[] = [];
  for (let k = 0; k < 16; k += 4) lines.push('    ' + [0, 1, 2, 3].map((j) => `${REG_NAMES[k + j]!.padStart(3)}=${hex(c.gpr[k + j]!, 16)}`).join(' '));
  const v = view(c.fxsave);
  lines.push(`    rflags=${hex(c.rflags, 3)} fcw=${hex(v.getUint16(FX.FCW, true), 4)} fsw=${hex(v.getUint16(FX.FSW, true), 4)} ftw=${hex(c.fxsave[FX.FTW]!, 2)} mxcsr=${hex(v.getUint32(FX.MXCSR, true), 8)}`);
  for (let i = 0; i < 8; i++) if (c.fxsave.subarray(FX.ST0 + i * 16, FX.ST0 + i * 16 + 10).some((x) => x !== 0)) lines.push(`    st${i}=${f80Text(c.fxsave.subarray(FX.ST0 + i * 16, FX.ST0 + i * 16 + 10))}`);
  for (let x = 0; x < 16; x++) lines.push(`    xmm${x}=${bytesHex(c.fxsave.subarray(FX.XMM0 + x * 16, FX.XMM0 + x * 16 + 16))}`);
  for (const r of c.runs) if (r.bytes.length <= 64) lines.push(`    data+${hex(r.offset)}: ${bytesHex(r.bytes)}`);
  lines.push(`    (plus ${c.runs.filter((r) => r.bytes.length > 64).length} larger random data runs; window image: windowOf(runs))`);
  return lines.join('\n');
}

