/**
 * Debian's stock kernel and the project's busybox initramfs on `viridian run`, as a user runs it:
 * the kernel reaches /init, the shell on COM1 answers commands, dmesg is clean, the clocksource is
 * stable, the guest's date is the host's and `poweroff -f` ends the run with status 0. A second
 * boot brings up two CPUs and reboots into --no-reboot. The guest image is built by the project's
 * own script (apt-get download), as the README's main command does.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } from '../../../src/images/debian-guest.js';

const BOOT_TIMEOUT_MS = 20 * 60_000;
const guest = ensureDebianGuest({});

interface Session { output: () => string; send: (text: string) => void; terminate: () => void; waitFor: (re: RegExp) => Promise<RegExpExecArray>; done: Promise<{ status: number | null; stderr: string }> }

function start(args: string[]): Session {
  const child = spawn(process.execPath, ['bin/viridian', 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = waiters[i]!.re.exec(out);
      if (m !== null) { waiters[i]!.resolve(m); waiters.splice(i, 1); }
    }
  };
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); check(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_TIMEOUT_MS);
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on('exit', (status) => { clearTimeout(timer); resolve({ status, stderr: err }); }));
  return {
    output: () => out,
    send: (text) => { child.stdin.write(text); },
    terminate: () => { child.kill('SIGTERM'); },
    waitFor: (re) => new Promise((resolve, reject) => {
      waiters.push({ re, resolve });
      check();
      void done.then(() => reject(new Error(`the VM ended before ${re} appeared; output tail:\n${out.slice(-3000)}\nstderr:\n${err}`)));
    }),
    done,
  };
}

test('the README main command: Debian boots to a shell, answers commands, has a clean dmesg and the host date, and powers off (status 0)', { timeout: BOOT_TIMEOUT_MS }, async () => {
  const s = start([]);
  await s.waitFor(/viridian-guest: \/init reached \(6\.\d+/);
  // Markers are computed by the shell so the echoed command lines never match them.
  s.send('uname -a; echo UNAME-$((40+2))\n');
  await s.waitFor(/UNAME-42/);
  s.send('grep -c ^processor /proc/cpuinfo; grep -m1 "model name" /proc/cpuinfo; echo CPUINFO-$((40+2))\n');
  const cpu = await s.waitFor(/(\d+)\r?\nmodel name\s*: ([^\r\n]+)\r?\nCPUINFO-42/);
  s.send('cat /proc/interrupts; echo IRQS-$((40+2))\n');
  const irqs = await s.waitFor(/CPU0[\s\S]*?IRQS-42/);
  s.send('dmesg | grep -cE "BUG|Oops|WARNING|Call Trace"; echo DMESG-$((40+2))\n');
  const bad = await s.waitFor(/(\d+)\r?\nDMESG-42/);
  s.send('cat /sys/devices/system/clocksource/clocksource0/current_clocksource; dmesg | grep -c "unstable"; echo CLOCK-$((40+2))\n');
  const clock = await s.waitFor(/(\w+)\r?\n(\d+)\r?\nCLOCK-42/);
  s.send('date +%s; echo DATE-$((40+2))\n');
  const date = await s.waitFor(/(\d{9,})\r?\nDATE-42/);
  const hostNow = Date.now() / 1000;
  s.send('dmesg > /dev/null; poweroff -f\n');
  const end = await s.done;

  assert.match(s.output(), /Linux version 6\.\d+\.\d+-\d+-amd64/);
  assert.match(s.output(), /Linux \S+ 6\.\d+\.\d+-\d+-amd64 #1 SMP PREEMPT_DYNAMIC Debian/);
  assert.equal(cpu[1], '1');
  assert.match(cpu[2]!, /Viridian virtual x86-64 processor/);
  assert.match(irqs[0], /IO-APIC/, 'interrupts are routed through the IOAPIC');
  assert.match(irqs[0], /LOC:\s+[1-9]/, 'the local APIC timer ticks');
  assert.equal(bad[1], '0', `dmesg has BUG/Oops/WARNING/Call Trace lines:\n${s.output()}`);
  assert.equal(clock[1], 'tsc', 'the TSC is the clocksource');
  assert.equal(clock[2], '0', 'no clocksource was marked unstable');
  assert.ok(Math.abs(Number(date[1]) - hostNow) < 120, `guest date ${date[1]} vs host ${hostNow}`);
  assert.equal(end.status, 0, `poweroff ends the run with status 0; stderr: ${end.stderr}`);
});

test('two CPUs come online, and a guest reboot with --no-reboot ends the VM with status 4', { timeout: BOOT_TIMEOUT_MS }, async () => {
  const s = start(['--kernel', guest.kernel, '--initrd', guest.initrd, '--cpus', '2', '--no-reboot', '--append', `${DEBIAN_GUEST_CMDLINE} viridian.autorun=echo%20ONLINE=$(cat%20/sys/devices/system/cpu/online);reboot%20-f`]);
  const end = await s.done;
  assert.match(s.output(), /ONLINE=0-1/, `both CPUs online:\n${s.output().slice(-3000)}`);
  assert.match(s.output(), /smp: Brought up 1 node, 2 CPUs/);
  assert.equal(end.status, 4, end.stderr);
  assert.match(end.stderr, /guest reset \(.*\) and --no-reboot is set/);
});

test('the classic boot protocol: the bzImage decompresses itself in the guest and its kernel starts', { timeout: BOOT_TIMEOUT_MS }, async () => {
  // Up to the kernel's first console lines only: the rest of the boot is the same as through PVH.
  const s = start(['--kernel', guest.kernel, '--initrd', guest.initrd, '--boot-protocol', 'linux', '--append', DEBIAN_GUEST_CMDLINE]);
  await s.waitFor(/Linux version 6\.\d+\.\d+-\d+-amd64[\s\S]*?Command line: [^\n]*console=ttyS0/);
  await s.waitFor(/BIOS-e820: \[mem 0x0000000000100000-/);
  s.terminate();
  const end = await s.done;
  assert.equal(end.status, 143, `SIGTERM ends the run with 143: ${end.stderr}`);
  assert.doesNotMatch(s.output(), /Kernel panic|BUG:|Oops/);
});

test('a guest reboot without --no-reboot restarts the VM: the second boot sees the first one\'s disk write and powers off (status 0)', { timeout: BOOT_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'viridian-reboot-'));
  try {
    // A one-sector raw disk is the only state that survives the reset (RAM and devices are new).
    const flag = join(dir, 'flag.img');
    writeFileSync(flag, Buffer.alloc(512, 0x30));
    // Markers are computed by the guest: the kernel prints its command line, which holds the script.
    const script = 'if%20[%20$(head%20-c1%20/dev/vda)%20=%201%20];then%20echo%20SECOND-$((40+2));poweroff%20-f;fi;printf%201%20>/dev/vda;sync;echo%20FIRST-$((40+2));reboot%20-f';
    const s = start(['--kernel', guest.kernel, '--initrd', guest.initrd, '--disk', `${flag},format=raw`, '--append', `${DEBIAN_GUEST_CMDLINE} viridian.autorun=${script}`]);
    const end = await s.done;
    const out = s.output();
    assert.match(out, /FIRST-42[\s\S]*reboot: Restarting system[\s\S]*Linux version 6\.[\s\S]*SECOND-42/, `two boots in one run:\n${out.slice(-3000)}`);
    assert.equal((out.match(/viridian-guest: \/init reached/g) ?? []).length, 2);
    assert.match(end.stderr, /guest reset \(.*\); restarting/);
    assert.equal(end.status, 0, end.stderr);
    assert.equal(readFileSync(flag).subarray(0, 1).toString(), '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
