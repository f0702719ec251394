/**
 * A minimal machine for bare-metal CPU test guests until the PC platform exists: RAM, one
 * processor, the QEMU-compatible debug-exit port (0xf4: status = value << 1 | 1) and a console
 * port (0xe9). The image is loaded flat and entered in real mode at 0000:entry.
 */
import { GuestMemory } from '../../../memory/guest-memory.js';
import { X86Processor } from '../x86-processor.js';
import { EXIT_NAMES, EXIT_SHUTDOWN, EXIT_HALT, EXIT_STOPPED, type CpuIo, type IoSize } from '../../../processor.js';
import { CS } from '../constants.js';

/**
 * Test interrupt source: the guest writes a vector to port 0xe0 to make it pending (delivered when
 * IF allows), and any value to port 0xe1 to raise an NMI. Lets guests test interrupt shadows.
 */
class TestInterrupts {
  pending = -1;
  pendingVector(): number { return this.pending; }
  acknowledge(): number { const v = this.pending; this.pending = -1; return v; }
  getTpr(): number { return 0; }
  setTpr(): void { /* no priorities */ }
}

export interface BareMetalResult {
  /** (v << 1) | 1 for a debug-exit write of v; undefined when the guest ended another way. */
  status: number | undefined;
  /** How the run ended: 'debug-exit', 'shutdown' (triple fault), 'halt', 'budget'. */
  end: string;
  console: string;
  instructions: number;
  /** Register dump at the end (for failure messages). */
  state: string;
}

export function runBareMetal(image: Uint8Array, opts: { loadAddress?: number; memory?: number; budget?: number } = {}): BareMetalResult {
  const load = opts.loadAddress ?? 0x8000;
  const mem = new GuestMemory();
  mem.addRegion(0, opts.memory ?? 16 * 1024 * 1024);
  mem.writeBytes(load, image);
  let status: number | undefined;
  let text = '';
  let vp: X86Processor | undefined;
  const ints = new TestInterrupts();
  const io: CpuIo = {
    ioRead: (_port: number, size: IoSize) => (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff),
    ioWrite: (port: number, _size: IoSize, value: number) => {
      if (port === 0xf4) { status = ((value & 0xff) << 1) | 1; vp?.requestStop(); }
      else if (port === 0xe9) text += String.fromCharCode(value & 0xff);
      else if (port === 0xe0) { ints.pending = value & 0xff; vp?.notifyInterrupt(); }
      else if (port === 0xe1) vp?.raiseNmi();
    },
  };
  vp = new X86Processor(mem, io);
  vp.setInterruptController(ints);
  const c = vp.cpu;
  c.segSel[CS] = 0; c.segBase[CS] = 0;
  c.rip = load;
  c.updateMode();
  const budget = opts.budget ?? 50_000_000;
  let end = 'budget';
  while (c.icount < budget) {
    const r = vp.run(budget - c.icount);
    if (r === EXIT_STOPPED && status !== undefined) { end = 'debug-exit'; break; }
    if (r === EXIT_SHUTDOWN) { end = 'shutdown'; break; }
    if (r === EXIT_HALT) { end = 'halt'; break; }
    if (r !== EXIT_STOPPED) { end = EXIT_NAMES[r] ?? String(r); if (r !== 0) break; }
  }
  const regs = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'].map((n, k) => `${n}=${c.r64[k]!.toString(16)}`).join(' ');
  const state = `rip=${c.rip.toString(16)} cs=${c.segSel[CS]!.toString(16)} cr0=${(c.cr0 >>> 0).toString(16)} cr2=${c.cr2.toString(16)} cr3=${c.cr3.toString(16)} efer=${c.efer.toString(16)} ${regs}`;
  return { status, end, console: text, instructions: c.icount, state };
}
