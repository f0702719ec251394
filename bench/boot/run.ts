/**
 * bench/boot: time from process start to the Debian guest's "/init reached" line on the serial
 * console, for the same kernel, initramfs, memory (512 MiB), one vCPU and command line:
 *   viridian        `viridian run` (bzImage decompressed on the host, entered through PVH)
 *   viridian-linux  `viridian run --boot-protocol linux` (the kernel decompresses itself), with --all
 *   qemu-bzimage    qemu-system-x86_64 -accel tcg with the bzImage (the kernel decompresses itself)
 *   qemu-pvh        qemu-system-x86_64 -accel tcg with the uncompressed vmlinux through PVH
 * and prints each time and the ratio Viridian / QEMU (above 1: Viridian is slower). QEMU rows
 * are left out, with a note, when qemu-system-x86_64 is not installed. Runs are one after the
 * other so they do not compete for the CPU; each run is killed once the marker appears.
 *
 * Run: npm run build && npm run bench -- boot [--runs N] [--all]   (not part of npm test)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } from '../../src/images/debian-guest.js';
import { extractBzImagePayload } from '../../src/vm/boot/bzimage-payload.js';

const MARKER = 'viridian-guest: /init reached';
const TIMEOUT_MS = 30 * 60_000;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Math.max(1, Number(process.argv[runsArg + 1])) : 1;
const ALL = process.argv.includes('--all');

/** Seconds until `marker` appears on the child's stdout; the child is killed then. */
function timeToMarker(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes(MARKER)) {
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(s);
      }
    });
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`${cmd} ended before ${MARKER}; output tail:\n${out.slice(-2000)}`)); });
  });
}

async function best(name: string, cmd: string, args: string[]): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const s = await timeToMarker(cmd, args);
    process.stdout.write(`  ${name} run ${i + 1}: ${s.toFixed(2)} s\n`);
    min = Math.min(min, s);
  }
  return min;
}

function haveQemu(): boolean {
  return spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function main(): Promise<void> {
  const g = ensureDebianGuest({ log: (l) => process.stderr.write(`bench: ${l}\n`) });
  const cmdline = DEBIAN_GUEST_CMDLINE;
  const common = ['--memory', '512M', '--cpus', '1', '--kernel', g.kernel, '--initrd', g.initrd, '--append', cmdline, '--serial', 'stdio'];
  process.stdout.write(`bench/boot: Debian ${g.kernelVersion}, 512 MiB, 1 vCPU, to "${MARKER}" (best of ${RUNS})\n`);
  const rows: [string, number][] = [];
  rows.push(['viridian', await best('viridian', process.execPath, ['bin/viridian', 'run', ...common])]);
  if (ALL) rows.push(['viridian-linux', await best('viridian-linux', process.execPath, ['bin/viridian', 'run', ...common, '--boot-protocol', 'linux'])]);
  if (haveQemu()) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-boot-'));
    try {
      const vmlinux = join(dir, 'vmlinux');
      writeFileSync(vmlinux, extractBzImagePayload(g.kernel, readFileSync(g.kernel)).elf);
      const q = (kernel: string): string[] => ['-accel', 'tcg', '-m', '512', '-smp', '1', '-kernel', kernel, '-initrd', g.initrd, '-append', cmdline, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot'];
      rows.push(['qemu-bzimage', await best('qemu-bzimage', 'qemu-system-x86_64', q(g.kernel))]);
      rows.push(['qemu-pvh', await best('qemu-pvh', 'qemu-system-x86_64', q(vmlinux))]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    process.stdout.write('  qemu-system-x86_64 is not installed: no peer to compare with (tools/install-deps installs it)\n');
  }
  process.stdout.write('\n');
  for (const [name, s] of rows) process.stdout.write(`${name.padEnd(16)} ${s.toFixed(2).padStart(8)} s\n`);
  const v = rows[0]![1];
  for (const [name, s] of rows.slice(1)) if (name.startsWith('qemu')) process.stdout.write(`ratio viridian / ${name}: ${(v / s).toFixed(2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/boot: ${(e as Error).message}\n`);
  process.exit(1);
});
