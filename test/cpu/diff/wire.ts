/**
 * The byte format spoken with the native runner (native/runner.c documents it field by field).
 * The data window travels as runs against a fixed default pattern, so a case that touches a few
 * bytes costs a few bytes on the pipe instead of 64 KiB each way.
 */
import { FormatError } from '../../../src/common/errors.js';

export const CODE_BASE = 0x2000_0000;
export const DATA_BASE = 0x1000_0000;
export const DATA_SIZE = 0x1_0000;
/** The runner's code pages (16 KiB) less the exit jumps it appends (21 bytes for 32-bit code). */
export const MAX_CODE = 0x4000 - 21;
/** Set in the code length word: the code is 32-bit and runs in compatibility mode. */
const COMPAT_FLAG = 0x8000_0000;

/** The same shape as the engine's SnippetState, so states pass to runSnippet unchanged. */
export interface MachineState {
  gpr: BigUint64Array;
  rflags: number;
  fxsave: Uint8Array;
  data: Uint8Array;
}

/** Bytes that differ from the default window pattern. */
export interface DataRun { offset: number; bytes: Uint8Array }

/** A case as the runner sees it: the window is the default pattern patched by `runs`. */
export interface CaseInput {
  code: Uint8Array;
  /** 32: the code runs in compatibility mode (default 64-bit mode). */
  bits?: 32 | 64;
  gpr: BigUint64Array;
  rflags: number;
  fxsave: Uint8Array;
  runs: DataRun[];
}

export interface NativeOutcome {
  gpr: BigUint64Array;
  rflags: number;
  fxsave: Uint8Array;
  runs: DataRun[];
  /** Exception vector, or null when the snippet ran to its end. */
  exception: number | null;
  errorCode: number | null;
  /** Where execution stopped, as an offset from the code base (the code length when it finished). */
  ripOffset: number;
}

/** Writes runs over a window buffer. */
export function applyRuns(window: Uint8Array, runs: readonly DataRun[]): void {
  for (const r of runs) window.set(r.bytes, r.offset);
}

/** Puts the default pattern back where runs were applied (cheaper than refilling 64 KiB). */
export function undoRuns(window: Uint8Array, runs: readonly DataRun[]): void {
  const p = defaultWindow();
  for (const r of runs) window.set(p.subarray(r.offset, r.offset + r.bytes.length), r.offset);
}

/** A full window image for a case (allocates 64 KiB; for tests and reports, not loops). */
export function windowOf(runs: readonly DataRun[]): Uint8Array {
  const w = defaultWindow().slice();
  applyRuns(w, runs);
  return w;
}

let pattern: Uint8Array | undefined;
/** The data window's contents before a case patches it; must match diff_pattern() in runner.c. */
export function defaultWindow(): Uint8Array {
  if (pattern === undefined) {
    pattern = new Uint8Array(DATA_SIZE);
    for (let i = 0; i < DATA_SIZE; i++) pattern[i] = ((i * 0x9d) ^ (i >>> 8) ^ 0x5a) & 0xff;
  }
  return pattern;
}

/** Runs where `data` (a full window) differs from the default pattern, merged across small gaps. */
export function windowRuns(data: Uint8Array): DataRun[] {
  const p = defaultWindow();
  const runs: DataRun[] = [];
  let i = 0;
  while (i < DATA_SIZE) {
    if (data[i] === p[i]) { i++; continue; }
    const start = i;
    let last = i;
    while (i < DATA_SIZE && i - last <= 8) { if (data[i] !== p[i]) last = i; i++; }
    runs.push({ offset: start, bytes: data.slice(start, last + 1) });
    i = last + 1;
  }
  return runs;
}

export function encodeCase(c: CaseInput): Buffer {
  if (c.code.length > MAX_CODE) throw new RangeError(`snippet of ${c.code.length} bytes exceeds ${MAX_CODE}`);
  if (c.gpr.length !== 16 || c.fxsave.length !== 512) throw new RangeError('machine state has the wrong shape');
  let size = 4 + c.code.length + 17 * 8 + 512 + 4;
  for (const r of c.runs) {
    if (r.offset < 0 || r.offset + r.bytes.length > DATA_SIZE) throw new RangeError(`data run at ${r.offset} leaves the window`);
    size += 8 + r.bytes.length;
  }
  const b = Buffer.allocUnsafe(size);
  let o = b.writeUInt32LE((c.code.length | (c.bits === 32 ? COMPAT_FLAG : 0)) >>> 0, 0);
  b.set(c.code, o); o += c.code.length;
  for (let r = 0; r < 16; r++) o = b.writeBigUInt64LE(c.gpr[r]!, o);
  o = b.writeBigUInt64LE(BigInt(c.rflags >>> 0), o);
  b.set(c.fxsave, o); o += 512;
  o = b.writeUInt32LE(c.runs.length, o);
  for (const r of c.runs) {
    o = b.writeUInt32LE(r.offset, o);
    o = b.writeUInt32LE(r.bytes.length, o);
    b.set(r.bytes, o); o += r.bytes.length;
  }
  return b;
}

/** Splits the runner's output into one outcome per case; a short or inconsistent stream is a FormatError. */
export function decodeOutcomes(out: Buffer, count: number): NativeOutcome[] {
  const res: NativeOutcome[] = [];
  const fail = (what: string): never => { throw new FormatError('native runner output', `${what} (case ${res.length} of ${count})`); };
  let o = 0;
  for (let k = 0; k < count; k++) {
    if (o + 16 + 136 + 512 + 4 > out.length) fail('truncated record');
    const vector = out.readInt32LE(o);
    const err = out.readUInt32LE(o + 4);
    const rip = out.readBigUInt64LE(o + 8);
    o += 16;
    const gpr = new BigUint64Array(16);
    for (let r = 0; r < 16; r++) gpr[r] = out.readBigUInt64LE(o + r * 8);
    const rflags = Number(out.readBigUInt64LE(o + 128) & 0xffffffffn);
    o += 136;
    const fxsave = new Uint8Array(out.subarray(o, o + 512));
    o += 512;
    const nruns = out.readUInt32LE(o); o += 4;
    const runs: DataRun[] = [];
    for (let r = 0; r < nruns; r++) {
      if (o + 8 > out.length) fail('truncated data run');
      const off = out.readUInt32LE(o), len = out.readUInt32LE(o + 4);
      o += 8;
      if (off > DATA_SIZE || len > DATA_SIZE - off || o + len > out.length) fail('data run outside the window');
      runs.push({ offset: off, bytes: new Uint8Array(out.subarray(o, o + len)) });
      o += len;
    }
    res.push({
      gpr, rflags, fxsave, runs,
      exception: vector < 0 ? null : vector,
      errorCode: vector < 0 ? null : err,
      // A fault outside the code pages shows up as a huge or wrapped offset.
      ripOffset: Number(BigInt.asIntN(64, rip)),
    });
  }
  if (o !== out.length) fail(`${out.length - o} unexpected trailing bytes`);
  return res;
}
