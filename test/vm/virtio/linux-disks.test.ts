/**
 * Issue 5's disk proof with Debian's stock kernel on `viridian run`: a dynamic VHD, a dynamic VHDX
 * and a differencing VHD (over a base VHD holding a known pattern) are partitioned with sfdisk,
 * formatted with mkfs.ext4 and filled with files by the guest (boot 1); a second boot finds e2fsck
 * clean and the same checksums, with the VHD attached read-only, where a raw write fails and the
 * image stays byte-identical. The host then checks the images with `viridian disk check` and
 * `qemu-img check` (VHDX; qemu-img has no check for VHD), reads them through qemu-img's own
 * drivers where it can (qemu-img compare against Viridian's raw export) and runs the host's
 * e2fsck and debugfs on the partitions to read the files back independently of the guest.
 *
 * Guest commands come from a script disk (the first disk, /dev/vda); the test disks are found by
 * their virtio serial numbers (VIRIDIAN-DISK<n>, in --disk order). Two boots in all.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } from '../../../src/images/debian-guest.js';
import { writeScriptDisk, SCRIPT_DISK_AUTORUN } from '../../../src/images/script-disk.js';
import { openImage } from '../../../src/storage/registry.js';

/** A boot takes 2–5 minutes on an idle machine and over 25 on a busy shared one. */
const BOOT_TIMEOUT_MS = 45 * 60_000;
/** The test's own limit is later, so a killed boot still reports the guest's output. */
const TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + 5 * 60_000;
const MiB = 1024 * 1024;
const guest = ensureDebianGuest({});
const dir = mkdtempSync(join(tmpdir(), 'viridian-linux-disks-'));

interface TestDisk { name: string; file: string; serial: string; sizeMiB: number; lines: number; qemuFormat?: string }
// Distinct sizes and contents so a mix-up between disks cannot pass.
const DISKS: TestDisk[] = [
  { name: 'a', file: join(dir, 'a.vhd'), serial: 'VIRIDIAN-DISK1', sizeMiB: 48, lines: 2000, qemuFormat: 'vpc' },
  { name: 'b', file: join(dir, 'b.vhdx'), serial: 'VIRIDIAN-DISK2', sizeMiB: 56, lines: 3000, qemuFormat: 'vhdx' },
  { name: 'c', file: join(dir, 'c.vhd'), serial: 'VIRIDIAN-DISK3', sizeMiB: 64, lines: 4000 },
];
const BASE = join(dir, 'base.vhd');
/** The base holds this pattern between the MBR and the first partition (1 MiB), where the guest never writes. */
const PATTERN_OFFSET = 512 * 1024;
const PATTERN = randomBytes(256 * 1024);
const FILES = ['small.txt', 'dir/big.bin', 'kb.bin'];

const PRELUDE = `
echo 1 > /proc/sys/kernel/printk
dev() {
  for s in /sys/block/vd*; do
    if [ "$(cat $s/serial 2>/dev/null)" = "$1" ]; then echo /dev/\${s##*/}; return 0; fi
  done
  echo "no disk with serial $1" >&2; return 1
}
sums() { (cd /mnt && md5sum ${FILES.join(' ')}) | sed "s/^/SUM $1 /"; }
`;

const BOOT1 = `${PRELUDE}
prepare() {
  d=$(dev $2) || return 1
  echo "DISK $1 $d $(cat /sys/block/\${d#/dev/}/size)"
  echo ',,L' | sfdisk -q "$d" || return 1
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b "\${d}1" ] && break; sleep 1; done
  mkfs.ext4 -q -L "disk-$1" "\${d}1" || return 1
  mount -t ext4 "\${d}1" /mnt || return 1
  seq 1 $3 > /mnt/small.txt
  mkdir /mnt/dir
  head -c ${3 * MiB} /dev/urandom > /mnt/dir/big.bin
  dd if=/dev/urandom of=/mnt/kb.bin bs=1024 count=20 2>/dev/null
  sums $1
  sync
  umount /mnt || return 1
  echo "PREPARED-$1-$((40+2))"
}
${DISKS.map((d) => `prepare ${d.name} ${d.serial} ${d.lines} || echo "FAILED-${d.name}-$((40+2))"`).join('\n')}
dmesg | grep -iE 'I/O error|EXT4-fs error|virtio.*(error|reset)|Call Trace' | sed 's/^/KERNEL-PROBLEM /'
echo "DONE-$((40+2))"
`;

const BOOT2 = `${PRELUDE}
verify() {
  d=$(dev $2) || return 1
  e2fsck -fn "\${d}1" > /tmp/fsck.$1 2>&1
  rc=$?
  echo "FSCK $1 $rc"
  [ $rc -eq 0 ] || sed "s/^/FSCK-LOG $1 /" /tmp/fsck.$1
  mount -t ext4 -o $3 "\${d}1" /mnt || return 1
  sums $1
  umount /mnt || return 1
  echo "VERIFIED-$1-$((40+2))"
}
${DISKS.map((d) => `verify ${d.name} ${d.serial} ${d.name === 'a' ? 'ro' : 'rw'} || echo "FAILED-${d.name}-$((40+2))"`).join('\n')}
c=$(dev ${DISKS[2]!.serial})
echo "PARENT $(dd if=$c bs=4096 skip=${PATTERN_OFFSET / 4096} count=${PATTERN.length / 4096} 2>/dev/null | md5sum)"
dmesg | grep -iE 'I/O error|EXT4-fs error|virtio.*(error|reset)|Call Trace' | sed 's/^/KERNEL-PROBLEM /'
# Last, as it may legitimately log an I/O error for the read-only disk.
a=$(dev ${DISKS[0]!.serial})
echo "RO-FLAG $(blockdev --getro $a)"
dd if=/dev/zero of=$a bs=4096 count=1 seek=100 oflag=direct conv=fsync 2>/tmp/dd.err
echo "RO-WRITE $? $(grep -v records /tmp/dd.err | head -n 1)"
dmesg | tail -n 3 | sed 's/^/RO-DMESG /'
echo "DONE-$((40+2))"
`;

function viridian(args: string[]): string {
  return execFileSync(process.execPath, ['bin/viridian', ...args], { encoding: 'utf8' });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function md5(data: Uint8Array | string): string {
  return createHash('md5').update(data).digest('hex');
}

interface Boot { output: string; status: number | null; stderr: string }

/** Runs one boot with `script` on the script disk and the test disks after it, until the guest powers off. */
function boot(script: string, diskSpecs: string[]): Promise<Boot> {
  const scriptDisk = join(dir, 'script.raw');
  writeScriptDisk(scriptDisk, script);
  const args = ['bin/viridian', 'run', '--kernel', guest.kernel, '--initrd', guest.initrd,
    '--append', `${DEBIAN_GUEST_CMDLINE} ${SCRIPT_DISK_AUTORUN}`,
    '--disk', `${scriptDisk},readonly,format=raw`, ...diskSpecs.flatMap((d) => ['--disk', d])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_TIMEOUT_MS);
  return new Promise((resolve) => child.on('exit', (status) => {
    clearTimeout(timer);
    resolve({ output: output.replace(/\r/g, ''), status, stderr });
  }));
}

/** `SUM disk hash file` lines, as a map from "disk file" to hash. */
function sums(output: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of output.matchAll(/^SUM (\w) ([0-9a-f]{32})\s+(\S+)$/gm)) m.set(`${x[1]} ${x[3]}`, x[2]!);
  return m;
}

function expectClean(b: Boot, what: string): void {
  const tail = `\n--- output tail ---\n${b.output.slice(-4000)}\n--- stderr ---\n${b.stderr}`;
  assert.match(b.output, /^DONE-42$/m, `${what}: the guest script did not finish${tail}`);
  assert.doesNotMatch(b.output, /^FAILED-\w-42$/m, `${what}: a disk step failed${tail}`);
  assert.doesNotMatch(b.output, /^KERNEL-PROBLEM /m, `${what}: the kernel logged disk errors${tail}`);
  assert.equal(b.status, 0, `${what}: poweroff ends the run with status 0${tail}`);
}

/** The first MBR partition of a raw image, as its own buffer. */
function firstPartition(raw: Buffer): Buffer {
  assert.equal(raw.readUInt16LE(510), 0xaa55, 'MBR signature');
  const start = raw.readUInt32LE(446 + 8), count = raw.readUInt32LE(446 + 12);
  assert.equal(raw[446 + 4], 0x83, 'partition type is Linux (sfdisk ",,L")');
  return raw.subarray(start * 512, (start + count) * 512);
}

let boot1Sums: Map<string, string> | undefined;
let baseHash = '';

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('boot 1: the guest partitions, formats and fills a dynamic VHD, a dynamic VHDX and a differencing VHD', { timeout: TEST_TIMEOUT_MS }, async () => {
  viridian(['disk', 'create', DISKS[0]!.file, '--size', `${DISKS[0]!.sizeMiB}M`, '--type', 'dynamic']);
  viridian(['disk', 'create', DISKS[1]!.file, '--size', `${DISKS[1]!.sizeMiB}M`, '--type', 'dynamic']);
  viridian(['disk', 'create', BASE, '--size', `${DISKS[2]!.sizeMiB}M`, '--type', 'dynamic']);
  const base = await openImage(BASE, { readOnly: false });
  await base.write(PATTERN_OFFSET / base.sectorSize, PATTERN);
  await base.flush();
  await base.close();
  baseHash = sha256(BASE);
  viridian(['disk', 'create', DISKS[2]!.file, '--type', 'differencing', '--parent', BASE]);

  const b = await boot(BOOT1, DISKS.map((d) => d.file));
  expectClean(b, 'boot 1');
  for (const d of DISKS) {
    assert.match(b.output, new RegExp(`^DISK ${d.name} /dev/vd[b-d] ${d.sizeMiB * 2048}$`, 'm'), `disk ${d.name} has its size in the guest`);
    assert.match(b.output, new RegExp(`^PREPARED-${d.name}-42$`, 'm'));
  }
  boot1Sums = sums(b.output);
  assert.equal(boot1Sums.size, DISKS.length * FILES.length, `one checksum per file:\n${b.output.slice(-3000)}`);
  for (const d of DISKS) {
    const seq = Array.from({ length: d.lines }, (_, i) => String(i + 1)).join('\n') + '\n';
    assert.equal(boot1Sums.get(`${d.name} small.txt`), md5(seq), `${d.name}: small.txt holds seq 1 ${d.lines}`);
  }
});

test('boot 2: e2fsck is clean, the checksums match, the read-only VHD refuses a write, the differencing VHD reads its parent', { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.ok(boot1Sums !== undefined, 'boot 1 did not complete');
  const aBefore = sha256(DISKS[0]!.file);
  const b = await boot(BOOT2, DISKS.map((d) => (d.name === 'a' ? `${d.file},readonly` : d.file)));
  expectClean(b, 'boot 2');
  for (const d of DISKS) {
    assert.match(b.output, new RegExp(`^FSCK ${d.name} 0$`, 'm'), `e2fsck -fn on ${d.name}:\n${b.output.slice(-3000)}`);
    assert.match(b.output, new RegExp(`^VERIFIED-${d.name}-42$`, 'm'));
  }
  assert.deepEqual(sums(b.output), boot1Sums, 'the files read back in boot 2 have the checksums written in boot 1');

  assert.match(b.output, /^RO-FLAG 1$/m, 'the guest sees the read-only disk as read-only');
  const ro = /^RO-WRITE (\d+) (.*)$/m.exec(b.output);
  assert.ok(ro !== null, 'the write attempt reported its result');
  assert.notEqual(ro[1], '0', 'a raw write to the read-only disk fails');
  assert.match(ro[2]!, /Read-only file system|Operation not permitted|Permission denied|I\/O error/);
  assert.equal(sha256(DISKS[0]!.file), aBefore, 'the read-only image is byte-for-byte unchanged');

  assert.match(b.output, new RegExp(`^PARENT ${md5(PATTERN)}\\s`, 'm'), 'the differencing disk reads unwritten sectors from its parent');
  assert.equal(sha256(BASE), baseHash, 'the parent of the differencing disk was never written');
});

test('host: viridian disk check, qemu-img check and compare, and the host e2fsck and debugfs agree with the guest', { timeout: 10 * 60_000 }, () => {
  assert.ok(boot1Sums !== undefined, 'boot 1 did not complete');
  for (const file of [...DISKS.map((d) => d.file), BASE]) {
    assert.match(viridian(['disk', 'check', file]), /no errors/, `viridian disk check ${file}`);
  }
  // qemu-img check supports VHDX; for VHD ("vpc") it answers "does not support checks".
  const check = spawnSync('qemu-img', ['check', '-f', 'vhdx', DISKS[1]!.file], { encoding: 'utf8' });
  assert.equal(check.status, 0, `qemu-img check b.vhdx: ${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /No errors were found on the image/);

  for (const d of DISKS) {
    const raw = join(dir, `${d.name}.raw`);
    viridian(['disk', 'convert', d.file, raw, '--format', 'raw']);
    if (d.qemuFormat !== undefined) {
      // qemu's own VHD/VHDX reader sees the same bytes as ours (qemu does not follow VHD parents, hence not c).
      const cmp = spawnSync('qemu-img', ['compare', '-f', d.qemuFormat, '-F', 'raw', d.file, raw], { encoding: 'utf8' });
      assert.equal(cmp.status, 0, `qemu-img compare ${d.name}: ${cmp.stdout}${cmp.stderr}`);
    }
    const part = join(dir, `${d.name}.part`);
    writeFileSync(part, firstPartition(readFileSync(raw)));
    rmSync(raw);
    const fsck = spawnSync('e2fsck', ['-fn', part], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `host e2fsck -fn on ${d.name}: ${fsck.stdout}${fsck.stderr}`);
    for (const f of FILES) {
      const data = execFileSync('debugfs', ['-R', `cat /${f}`, part], { maxBuffer: 16 * MiB, stdio: ['ignore', 'pipe', 'ignore'] });
      assert.equal(md5(data), boot1Sums.get(`${d.name} ${f}`), `host debugfs reads ${d.name}:/${f} with the guest's checksum`);
    }
    rmSync(part);
  }
});
