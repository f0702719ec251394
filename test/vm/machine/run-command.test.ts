/**
 * `viridian run` end to end on the PC platform with a Multiboot test guest (guests/platform/
 * actions.asm): every documented exit status, the reset paths with and without --no-reboot,
 * console input, and bad input.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleFile } from '../../helpers/nasm.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-run-'));
const guest = join(dir, 'actions.bin');
writeFileSync(guest, assembleFile('guests/platform/actions.asm'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input = '', timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/viridian', 'run', ...args], { input, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('debug-exit: the guest writes v to port 0xf4, run exits (v << 1) | 1', () => {
  const r = run(['--kernel', guest, '--append', 'e']);
  assert.equal(r.status, 85, r.stderr);
  assert.match(r.stdout, /^actions: e\n/);
});

test('ACPI S5 power-off exits 0', () => {
  const r = run(['--kernel', guest, '--append', 'p']);
  assert.equal(r.status, 0, r.stderr);
});

for (const [action, reason] of [['c', /port 0xCF9/], ['k', /i8042/], ['a', /ACPI reset register/]] as const) {
  test(`reset via ${reason.source} ends the VM with --no-reboot (status 4, reason on stderr)`, () => {
    const r = run(['--kernel', guest, '--append', action, '--no-reboot']);
    assert.equal(r.status, 4);
    assert.match(r.stderr, reason);
    assert.match(r.stderr, /--no-reboot/);
  });
}

test('triple fault with --no-reboot prints the CPU state', () => {
  const r = run(['--kernel', guest, '--append', 't', '--no-reboot']);
  assert.equal(r.status, 4);
  assert.match(r.stderr, /triple fault on CPU 0/);
  assert.match(r.stderr, /rip=0*1000[0-9a-f]{2} /);
  assert.match(r.stderr, /idt=0+\/0/);
});

test('without --no-reboot a reset restarts the guest from its kernel', () => {
  // The guest resets forever; the run ends when stdout's reader stops reading (EPIPE, status 141).
  const r = spawnSync('sh', ['-c', `${process.execPath} bin/viridian run --kernel ${guest} --append k </dev/null | head -c 60`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.stdout, 'actions: k\n'.repeat(6).slice(0, 60));
});

test('console input reaches COM1 and output comes back (no TTY: forwarded as is)', () => {
  const r = run(['--kernel', guest, '--append', 's'], 'hello, guestq');
  assert.equal(r.status, 85, r.stderr);
  assert.equal(r.stdout, 'actions: s\nhello, guest');
});

test('--serial file:PATH writes COM1 to the file, none discards it', () => {
  const out = join(dir, 'serial.txt');
  assert.equal(run(['--kernel', guest, '--append', 'e', '--serial', `file:${out}`]).status, 85);
  assert.equal(readFileSync(out, 'utf8'), 'actions: e\n');
  const r = run(['--kernel', guest, '--append', 'e', '--serial', 'none']);
  assert.equal(r.status, 85);
  assert.equal(r.stdout, '');
});

test('a NIC on a socket: the VM runs with it and the socket is cleaned up after', () => {
  const sock = join(dir, 'net.sock');
  const r = run(['--kernel', guest, '--append', 'e', '--nic', `socket=${sock},mac=52:54:00:12:34:56`]);
  assert.equal(r.status, 85, r.stderr);
});

test('bad input: one line naming the problem, status 2', () => {
  const cases: [string[], RegExp][] = [
    [['--kernel', join(dir, 'missing')], /--kernel: cannot read .*missing: no such file/],
    [['--kernel', guest, '--memory', 'lots'], /--memory: 'lots' is not a size/],
    [['--kernel', guest, '--memory', '1M'], /too small/],
    [['--kernel', guest, '--cpus', '0'], /--cpus: '0' must be a whole number/],
    [['--kernel', guest, '--serial', 'tcp:1'], /--serial: 'tcp:1'/],
    [['--kernel', guest, '--bogus'], /Unknown option '--bogus'/],
    [['--kernel', 'package.json'], /package.json: is not a kernel Viridian can boot .*accepted: a Linux bzImage/],
    [['--kernel', guest, '--initrd', join(dir, 'nope')], /--initrd: cannot read/],
    [['--kernel', guest, '--nic', 'tap=x'], /--nic: 'tap=x'/],
    [['--kernel', guest, '--nic', `socket=${join(dir, 's')},mac=01:00:00:00:00:01`], /mac/],
    [['--kernel', guest, '--disk', `${join(dir, 'd')},format=iso`], /--disk .*format 'iso'/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
  }
});

test('the bare-metal CPU guests pass through viridian run on the PC platform (Multiboot entry, APIC interrupts)', () => {
  for (const name of ['modes', 'exceptions']) {
    const image = join(dir, `${name}.bin`);
    writeFileSync(image, assembleFile(`guests/baremetal/${name}.asm`, ['-DPC']));
    const r = run(['--kernel', image, '--no-reboot'], '', 60_000);
    assert.equal(r.status, 1, `${name}: debug-exit 0 (all checks passed) is status 1; got ${r.status}: ${r.stderr}`);
  }
});
