/**
 * bench/cpu: fixed guest workloads (integer mix, memory copy, branchy code, SSE2 math) run on
 * Viridian's engine and on QEMU TCG (the peer) in the same run. Prints guest instructions per
 * second for both and the ratio. The instruction count comes from Viridian's run of the same bytes;
 * QEMU's time is the workload run minus a run of the same image with zero iterations (its boot).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMemory } from '../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../src/hv/cpu/x86/x86-processor.js';
import { EXIT_STOPPED, EXIT_SHUTDOWN } from '../../src/hv/processor.js';
import { planMultiboot } from '../../src/vm/boot/multiboot.js';
import { applyMultiboot } from '../../src/vm/boot/apply-multiboot.js';

const WORKLOADS = [
  { id: 1, name: 'integer mix', iter: 200 },
  { id: 2, name: 'memory copy', iter: 200 },
  { id: 3, name: 'branchy', iter: 20 },
  { id: 4, name: 'SSE2 math', iter: 2000 },
];
const MEM = 64 * 1024 * 1024;
const QEMU_FACTOR = Number(process.env['VIRIDIAN_BENCH_QEMU_FACTOR'] ?? 50);

function build(dir: string, id: number, iter: number): string {
  const out = join(dir, `w${id}-${iter}.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DWORKLOAD=${id}`, `-DITER=${iter}`, '-o', out, join(process.cwd(), 'bench', 'cpu', 'workloads.asm')]);
  return out;
}

function runViridian(file: string): { instructions: number; seconds: number; ok: boolean; detail: string } {
  const mem = new GuestMemory();
  mem.addRegion(0, MEM);
  let done = false;
  let vp: X86Processor | undefined;
  vp = new X86Processor(mem, {
    ioRead: () => 0xffffffff,
    ioWrite: (port) => { if (port === 0xf4) { done = true; vp?.requestStop(); } },
  });
  const plan = planMultiboot(file, new Uint8Array(readFileSync(file)), {
    cmdline: '', memory: [{ base: 0, length: 0x9f000, type: 1 }, { base: 0x100000, length: MEM - 0x100000, type: 1 }],
  });
  applyMultiboot(mem, vp.cpu, plan);
  const t0 = process.hrtime.bigint();
  let detail = '';
  for (let k = 0; k < 100000 && !done; k++) {
    const r = vp.run(10_000_000);
    if (r === EXIT_SHUTDOWN) { detail = `triple fault at rip ${vp.cpu.rip.toString(16)}`; break; }
    if (r !== 0 && r !== EXIT_STOPPED) { detail = `exit ${r} at rip ${vp.cpu.rip.toString(16)}`; break; }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { instructions: vp.cpu.icount, seconds, ok: done, detail };
}

function runQemu(file: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('qemu-system-x86_64', ['-accel', 'tcg', '-m', '256', '-kernel', file, '-display', 'none', '-serial', 'none',
    '-monitor', 'none', '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 1) throw new Error(`qemu exited with ${r.status}: ${r.stderr?.toString()}`);
  return s;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-bench-'));
  const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
  const rows: string[] = [];
  try {
    for (const w of WORKLOADS) {
      const file = build(dir, w.id, w.iter);
      const v = runViridian(file);
      const v0 = runViridian(build(dir, w.id, 0));
      if (!v.ok) {
        const line = `${w.name.padEnd(12)}  viridian: did not finish (${v.detail})`;
        process.stdout.write(line + '\n');
        continue;
      }
      // Guest instructions per iteration, from Viridian's exact count (the set-up is subtracted).
      const perIter = (v.instructions - v0.instructions) / w.iter;
      const vm = (v.instructions - v0.instructions) / Math.max(1e-6, v.seconds - v0.seconds) / 1e6;
      let line = `${w.name.padEnd(12)}  ${perIter.toFixed(0).padStart(8)} insns/iter x ${w.iter}  viridian ${vm.toFixed(1).padStart(7)} MIPS`;
      if (hasQemu) {
        // QEMU runs many more iterations so that its time is well above its boot-time noise.
        const qIter = w.iter * QEMU_FACTOR;
        const boot = Math.min(runQemu(build(dir, w.id, 0)), runQemu(build(dir, w.id, 0)));
        const total = Math.min(runQemu(build(dir, w.id, qIter)), runQemu(build(dir, w.id, qIter)));
        const net = Math.max(1e-3, total - boot);
        const qm = (perIter * qIter) / net / 1e6;
        line += `  qemu-tcg ${qm.toFixed(1).padStart(7)} MIPS  ratio viridian/qemu ${(vm / qm).toFixed(4)}`;
      }
      rows.push(line);
      process.stdout.write(line + '\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (rows.length === 0) process.exitCode = 1;
}

main();
