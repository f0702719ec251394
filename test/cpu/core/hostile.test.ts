/**
 * Hostile instruction streams: random bytes executed in every operating mode must only ever raise
 * guest exceptions (or halt/shut down the guest). Any JavaScript error escaping the engine — a
 * RangeError from an out-of-bounds typed-array access, a TypeError from an unexpected state — is a
 * failure. Memory is touched only through the RAM regions and the MMIO handler, which records
 * every access so the test can check they stay outside RAM.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { MODES, enterMode } from '../../../src/hv/cpu/x86/testing/machine-states.js';

const RAM = 2 * 1024 * 1024;
const TRIALS = Number(process.env['VIRIDIAN_FUZZ_TRIALS'] ?? 60);
const STEPS = 20_000;

/** xorshift32: reproducible streams from a seed printed on failure. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

for (const mode of MODES) {
  test(`random code in ${mode} mode raises only guest exceptions`, () => {
    const mem = new GuestMemory();
    const region = mem.addRegion(0, RAM);
    let badMmio = 0;
    mem.mmio = {
      mmioRead: (addr, data) => { if (addr < RAM) badMmio++; data.fill(0xff); },
      mmioWrite: (addr) => { if (addr < RAM) badMmio++; },
    };
    const vp = new X86Processor(mem, { ioRead: () => 0xffffffff, ioWrite: () => { /* dropped */ } });
    for (let t = 0; t < TRIALS; t++) {
      const seed = (mode.length * 7919 + t * 104729) >>> 0;
      const next = rng(seed);
      // Random bytes everywhere except the page tables the mode needs (first 32 KiB).
      for (let k = 0x8000; k < RAM; k += 4) { const v = next(); region.u8[k] = v; region.u8[k + 1] = v >>> 8; region.u8[k + 2] = v >>> 16; region.u8[k + 3] = v >>> 24; }
      vp.reset();
      enterMode(vp.cpu, mode, 0x10000 + (next() % 0x10000));
      const start = vp.cpu.icount;
      try {
        while (vp.cpu.icount - start < STEPS) {
          const r = vp.run(STEPS);
          if (r !== 0) break; // halt, shutdown, wait-for-SIPI: the guest stopped itself
        }
      } catch (e) {
        assert.fail(`engine error in ${mode} mode, seed ${seed}, rip ${vp.cpu.rip.toString(16)}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    assert.equal(badMmio, 0, 'a RAM address was routed to MMIO');
  });
}
