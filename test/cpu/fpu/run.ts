/**
 * Runs a short 64-bit instruction sequence through the engine with RBX pointing at a scratch
 * area, for the x87/SSE unit tests.
 */
import { runSnippet, SNIPPET_DATA_BASE, SNIPPET_DATA_SIZE, type SnippetResult } from '../../../src/hv/cpu/x86/testing/snippet.js';
import { assemble } from '../../helpers/nasm.js';
import { defaultFx } from '../diff/fx.js';

export interface Run extends SnippetResult { data: Uint8Array; fx: DataView }

/** `data` is copied to the scratch area at RBX; `mxcsr` replaces the default 0x1f80. */
export function run(lines: string[], data: number[] | Uint8Array = [], mxcsr = 0x1f80): Run {
  const code = assemble(`bits 64\n${lines.join('\n')}\n`);
  const gpr = new BigUint64Array(16);
  gpr[3] = BigInt(SNIPPET_DATA_BASE + 0x100);
  gpr[4] = BigInt(SNIPPET_DATA_BASE + 0x8000);
  const mem = new Uint8Array(SNIPPET_DATA_SIZE);
  mem.set(data, 0x100);
  const fx = defaultFx();
  new DataView(fx.buffer).setUint32(24, mxcsr, true);
  const r = runSnippet(code, { gpr, rflags: 2, fxsave: fx, data: mem });
  return { ...r, data: r.state.data.subarray(0x100, 0x200), fx: new DataView(r.state.fxsave.buffer, r.state.fxsave.byteOffset, 512) };
}

export function le(bytes: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[at + k]!);
  return v;
}
