/**
 * bench/io: disk throughput seen from inside the Debian test guest, on Viridian and on QEMU TCG with
 * virtio-blk, over the same kind of image (a fresh raw file and a fresh dynamic VHD of the same
 * size for each VM, so both start from empty images).
 *
 * In the guest: a sequential write of the whole disk (busybox dd bs=1M, O_DIRECT, then fsync) from a
 * buffer in RAM, a sequential read of it (O_DIRECT), and 4 KiB O_DIRECT reads at pseudo-random
 * offsets (bench/io/randread.asm, one process, queue depth 1; a dd per read would time fork and
 * exec instead). Times come from the guest's monotonic clock (/proc/timer_list, in ns); both VMs'
 * guest clocks follow the host's. Prints MiB/s for each VM and the ratio Viridian / QEMU.
 *
 * Run: npm run build && npm run bench -- io [--size-mib N] [--reads N]   (not part of npm test)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } from '../../src/images/debian-guest.js';
import { writeScriptDisk, SCRIPT_DISK_AUTORUN } from '../../src/images/script-disk.js';

const MiB = 1024 * 1024;
function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive whole number`);
  return v;
}
const SIZE_MIB = option('--size-mib', 64);
const READS = option('--reads', 2000);
const DISKS = [{ label: 'raw', serial: 'VIRIDIAN-DISK1' }, { label: 'vhd', serial: 'VIRIDIAN-DISK2' }];
const VM_TIMEOUT_MS = 40 * 60_000;

function guestScript(randread: Buffer): string {
  return `
echo 1 > /proc/sys/kernel/printk
dev() {
  for s in /sys/block/vd*; do
    if [ "$(cat $s/serial 2>/dev/null)" = "$1" ]; then echo /dev/\${s##*/}; return 0; fi
  done
  return 1
}
# T = monotonic nanoseconds ("now at N nsecs" in /proc/timer_list), read without forking: /proc/uptime
# has 10 ms steps, too coarse for QEMU's fast sequential reads.
now() { T=; while read now_w1 now_w2 now_w3 now_rest; do if [ "$now_w1" = now ]; then T=$now_w3; return; fi; done < /proc/timer_list; }
now; [ -n "$T" ] || echo "IO-FAIL clock: no 'now at' line in /proc/timer_list"
base64 -d > /tmp/randread <<'END-OF-PROGRAM'
${randread.toString('base64').replace(/.{76}/g, '$&\n')}
END-OF-PROGRAM
chmod +x /tmp/randread
head -c ${MiB} /dev/urandom > /tmp/chunk
for i in $(seq ${SIZE_MIB}); do cat /tmp/chunk; done > /tmp/data
report() {
  echo "IO $1 $2 $3 $4 $5"
  [ "$3" = 0 ] || grep -v records /tmp/err | sed "s/^/IO-ERR $1 $2 /"
}
measure() {
  d=$(dev $2) || { echo "IO-FAIL $1 no disk with serial $2"; return; }
  now; t0=$T; dd if=/tmp/data of=$d bs=1M oflag=direct conv=fsync 2>/tmp/err; rc=$?; now
  report $1 seq-write $rc ${SIZE_MIB * MiB} $((T - t0))
  now; t0=$T; dd if=$d of=/dev/null bs=1M iflag=direct 2>/tmp/err; rc=$?; now
  report $1 seq-read $rc ${SIZE_MIB * MiB} $((T - t0))
  now; t0=$T; /tmp/randread $d ${READS} 2>/tmp/err; rc=$?; now
  report $1 rand-read-4k $rc ${READS * 4096} $((T - t0))
}
${DISKS.map((d) => `measure ${d.label} ${d.serial}`).join('\n')}
echo "BENCH-DONE-$((40+2))"
`;
}

function buildRandread(dir: string): Buffer {
  const obj = join(dir, 'randread.o'), exe = join(dir, 'randread');
  execFileSync('nasm', ['-f', 'elf64', '-o', obj, join(process.cwd(), 'bench', 'io', 'randread.asm')]);
  execFileSync('ld', ['-static', '-s', '-o', exe, obj]);
  return readFileSync(exe);
}

/** Fresh data disks for one VM: a raw file and a dynamic VHD, both SIZE_MIB. */
function freshDisks(dir: string, vm: string): { raw: string; vhd: string } {
  const raw = join(dir, `${vm}.raw`), vhd = join(dir, `${vm}.vhd`);
  rmSync(raw, { force: true });
  rmSync(vhd, { force: true });
  writeFileSync(raw, '');
  truncateSync(raw, SIZE_MIB * MiB);
  execFileSync(process.execPath, ['bin/viridian', 'disk', 'create', vhd, '--size', `${SIZE_MIB}M`, '--type', 'dynamic'], { stdio: 'ignore' });
  return { raw, vhd };
}

interface Run { output: string; status: number | null; stderr: string; seconds: number }

function runVm(cmd: string, args: string[]): Promise<Run> {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), VM_TIMEOUT_MS);
  return new Promise((resolve) => child.on('exit', (status) => {
    clearTimeout(timer);
    resolve({ output: output.replace(/\r/g, ''), status, stderr, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
  }));
}

/** MiB/s by "disk workload", from the guest's IO lines; a failed or missing step is an error. */
function results(vm: string, run: Run): Map<string, number> {
  if (!/^BENCH-DONE-42$/m.test(run.output)) {
    throw new Error(`${vm}: the guest did not finish (exit ${run.status})\n${run.output.slice(-3000)}\n${run.stderr.slice(-2000)}`);
  }
  const m = new Map<string, number>();
  for (const x of run.output.matchAll(/^IO (\S+) (\S+) (\d+) (\d+) (\d+)$/gm)) {
    if (x[3] !== '0') throw new Error(`${vm}: ${x[1]} ${x[2]} failed in the guest (exit ${x[3]}):\n${run.output.slice(-3000)}`);
    m.set(`${x[1]} ${x[2]}`, Number(x[4]) / MiB / (Math.max(1, Number(x[5])) / 1e9));
  }
  const fail = /^IO-FAIL .*$/m.exec(run.output);
  if (fail !== null) throw new Error(`${vm}: ${fail[0]}`);
  return m;
}

async function main(): Promise<void> {
  const guest = ensureDebianGuest({ log: (l) => process.stderr.write(`bench/io: ${l}\n`) });
  const dir = mkdtempSync(join(tmpdir(), 'viridian-bench-io-'));
  try {
    const script = join(dir, 'script.raw');
    writeScriptDisk(script, guestScript(buildRandread(dir)));
    const append = `${DEBIAN_GUEST_CMDLINE} ${SCRIPT_DISK_AUTORUN}`;

    console.log(`bench/io: ${SIZE_MIB} MiB disks; dd bs=1M O_DIRECT write (fsync) and read; ${READS} random 4 KiB O_DIRECT reads`);
    const v = freshDisks(dir, 'viridian');
    const vr = await runVm(process.execPath, ['bin/viridian', 'run', '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', append,
      '--disk', `${script},readonly,format=raw`, '--disk', `${v.raw},format=raw`, '--disk', v.vhd]);
    const ours = results('viridian', vr);
    console.log(`viridian run: ${vr.seconds.toFixed(0)} s wall in all`);

    let theirs: Map<string, number> | undefined;
    if (spawnSync('qemu-system-x86_64', ['--version']).status === 0) {
      const q = freshDisks(dir, 'qemu');
      const drives = [[script, 'raw', ',readonly=on'], [q.raw, 'raw', ''], [q.vhd, 'vpc', '']].flatMap(([file, format, extra], i) => [
        '-drive', `file=${file},format=${format},if=none,id=d${i}${extra}`, '-device', `virtio-blk-pci,drive=d${i},serial=VIRIDIAN-DISK${i}`]);
      const qr = await runVm('qemu-system-x86_64', ['-accel', 'tcg', '-m', '512', '-kernel', guest.kernel, '-initrd', guest.initrd,
        '-append', append, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', ...drives]);
      theirs = results('qemu-tcg', qr);
      console.log(`qemu-tcg: ${qr.seconds.toFixed(0)} s wall in all`);
    } else {
      console.log('qemu-system-x86_64 is not installed: Viridian figures only');
    }

    console.log(`${'disk'.padEnd(5)} ${'workload'.padEnd(13)} ${'viridian'.padStart(12)} ${'qemu-tcg'.padStart(12)}  viridian/qemu`);
    for (const [key, mbps] of ours) {
      const [disk, work] = key.split(' ') as [string, string];
      const q = theirs?.get(key);
      const cols = q === undefined ? '' : `${(q.toFixed(1) + ' MiB/s').padStart(12)}  ${(mbps / q).toFixed(3)}`;
      console.log(`${disk.padEnd(5)} ${work.padEnd(13)} ${(mbps.toFixed(1) + ' MiB/s').padStart(12)} ${cols}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/io: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
