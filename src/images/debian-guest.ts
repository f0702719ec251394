/**
 * Builds the project's Linux test guest from Debian packages: the stock kernel (linux-image-amd64
 * and the versioned package it depends on) and busybox-static, fetched with `apt-get download`
 * (no root needed), unpacked with dpkg-deb, and an initramfs written by our own cpio code with
 * busybox, an /init, the virtio and Hyper-V driver modules with their dependencies, and the disk
 * tools of guest-tools.ts (sfdisk, mke2fs, e2fsck) with the libraries they load.
 * The result is cached outside git, keyed by kernel version and builder version.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { writeCpio, S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, type CpioEntry } from './cpio.js';
import { indexModules, dependencyClosure } from './kernel-modules.js';
import { runHostCommand } from './host-command.js';
import { fetchToolPackages, toolFiles } from './guest-tools.js';

/** Bump when the initramfs contents change so caches rebuild. */
const BUILDER_VERSION = 4;

/** Drivers later issues need (virtio and Hyper-V synthetic devices), and the ACPI power button. */
export const GUEST_MODULES = [
  'button', 'evdev',
  'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng', 'virtio_balloon',
  'hv_vmbus', 'hv_storvsc', 'hv_netvsc', 'hv_utils', 'hv_balloon', 'hid_hyperv', 'hyperv_keyboard',
  'ext4', 'crc32c_generic',
];

/**
 * The command line `viridian run` gives this guest by default: the console on COM1, and a soft-
 * lockup threshold of 60 s (120 s to report) instead of 10 s, because the interpreted CPU is about
 * a hundred times slower than the hardware the kernel's watchdog expects: long loops such as the
 * boot-time W+X page-table walk (CONFIG_DEBUG_WX) take over 20 s of real time.
 * cryptomgr.notests skips the crypto self-tests that Debian's kernel runs at late_initcall: with
 * initcall_debug they were 312 s of a 600 s boot (they pass: a good CPU check, but one to run on
 * purpose, not on every boot).
 */
export const DEBIAN_GUEST_CMDLINE = 'console=ttyS0 watchdog_thresh=60 cryptomgr.notests';

export interface GuestImage {
  kernel: string;
  initrd: string;
  kernelVersion: string;
  modules: string[];
  /** Guest paths of the shared libraries (and interpreter) the disk tools brought in. */
  toolLibraries: string[];
  dir: string;
}

export function cacheRoot(): string {
  const env = process.env['VIRIDIAN_CACHE'];
  if (env) return env;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'viridian');
}

const run = runHostCommand;

/** The versioned kernel package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64. */
export function resolveKernelPackage(): string {
  const out = run('apt-cache', ['depends', 'linux-image-amd64'], tmpdir(), 'apt-cache depends linux-image-amd64');
  const m = /Depends:\s*(linux-image-[0-9][^\s]*)/.exec(out);
  if (!m) throw new UserError('apt-cache: linux-image-amd64 has no versioned kernel dependency (run apt-get update?)');
  return m[1]!;
}

const INIT = `#!/bin/busybox sh
# Viridian test guest init: busybox applets, pseudo filesystems, driver modules, then a shell on
# the console. "viridian.autorun=CMD" on the kernel command line runs CMD and powers off.
/bin/busybox --install -s /bin
# /sbin first: the real disk tools there win over busybox's applets of the same names.
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Hyper-V drivers only when VMBus came up (hv_vmbus refuses to load elsewhere).
for m in $(cat /etc/viridian/modules); do
  case $m in hv_vmbus*|hv-vmbus*) ;; hv_*|hv-*|hid_hyperv*|hid-hyperv*|hyperv_*|hyperv-*) [ -d /sys/bus/vmbus ] || continue ;; esac
  insmod /lib/modules/$m 2>/dev/null
done
# The ACPI power button (vm stop, run --control powerdown): busybox acpid runs the handler
# /etc/acpi/PWRF/00000080, which syncs and powers off.
acpid -l /tmp/acpid.log 2>/dev/null
echo "viridian-guest: /init reached ($(uname -r))"
cmd=$(sed -n 's/.*viridian.autorun=\\([^ ]*\\).*/\\1/p' /proc/cmdline | sed 's/%20/ /g')
if [ -n "$cmd" ]; then
  sh -c "$cmd"
  echo "viridian-guest: autorun exit $?"
  poweroff -f
fi
exec setsid cttyhack sh
`;

function buildInitramfs(work: string, kver: string, toolRoot: string): { cpio: Uint8Array; modules: string[]; toolLibraries: string[] } {
  const kroot = join(work, 'kernel');
  const broot = join(work, 'busybox');
  const modRoot = join(kroot, 'lib', 'modules', kver);
  const busybox = join(broot, 'bin', 'busybox');
  if (!existsSync(busybox)) throw new UserError('busybox-static package did not contain /bin/busybox');
  const closure = dependencyClosure(indexModules(modRoot), GUEST_MODULES);
  const entries: CpioEntry[] = [];
  const dir = (p: string): void => { entries.push({ path: p, mode: S_IFDIR | 0o755 }); };
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'tmp', 'etc', 'etc/viridian', 'etc/acpi', 'etc/acpi/PWRF', 'lib', 'lib/modules', 'mnt', 'root']) dir(d);
  entries.push({ path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
  entries.push({ path: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 });
  entries.push({ path: 'bin/busybox', mode: S_IFREG | 0o755, data: new Uint8Array(readFileSync(busybox)) });
  entries.push({ path: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') });
  entries.push({ path: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT) });
  entries.push({ path: 'etc/acpi/PWRF/00000080', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\nsync\npoweroff -f\n') });
  entries.push({ path: 'etc/mtab', mode: S_IFLNK | 0o777, data: Buffer.from('/proc/mounts') });
  const tools = toolFiles(toolRoot);
  const present = new Set(entries.map((e) => e.path));
  entries.push(...tools.entries.filter((e) => !present.has(e.path)));
  const names: string[] = [];
  for (const m of closure) {
    const file = m.path.split('/').pop()!;
    entries.push({ path: `lib/modules/${file}`, mode: S_IFREG | 0o644, data: new Uint8Array(readFileSync(join(modRoot, m.path))) });
    names.push(file);
  }
  entries.push({ path: 'etc/viridian/modules', mode: S_IFREG | 0o644, data: Buffer.from(names.join('\n') + '\n') });
  return { cpio: writeCpio(entries), modules: closure.map((m) => m.name), toolLibraries: tools.libraries };
}

/** Returns the cached guest, building it first when missing. `log` reports progress lines. */
export function ensureDebianGuest(opts: { cacheDir?: string; rebuild?: boolean; log?: (line: string) => void } = {}): GuestImage {
  const log = opts.log ?? ((): void => { /* quiet */ });
  const kpkg = resolveKernelPackage();
  const kver = kpkg.replace(/^linux-image-/, '');
  const root = join(opts.cacheDir ?? cacheRoot(), 'guests');
  const dir = join(root, `debian-${kver}-v${BUILDER_VERSION}`);
  const manifest = join(dir, 'manifest.json');
  if (!opts.rebuild && existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as GuestImage;
    if (existsSync(m.kernel) && existsSync(m.initrd)) return m;
  }
  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(join(root, '.build-'));
  try {
    log(`downloading ${kpkg} and busybox-static with apt-get download`);
    run('apt-get', ['download', kpkg, 'busybox-static'], work, 'apt-get download');
    const debs = readdirSync(work).filter((f) => f.endsWith('.deb'));
    const kdeb = debs.find((f) => f.startsWith(kpkg + '_'));
    const bdeb = debs.find((f) => f.startsWith('busybox-static_'));
    if (!kdeb || !bdeb) throw new UserError(`apt-get download did not produce ${kpkg} and busybox-static (got ${debs.join(', ')})`);
    log('unpacking');
    run('dpkg-deb', ['-x', kdeb, 'kernel'], work, 'dpkg-deb -x (kernel)');
    run('dpkg-deb', ['-x', bdeb, 'busybox'], work, 'dpkg-deb -x (busybox)');
    const tools = fetchToolPackages(work, log);
    log(`guest tools from ${tools.packages.join(', ')}; writing the initramfs`);
    const { cpio, modules, toolLibraries } = buildInitramfs(work, kver, tools.root);
    const out = join(work, 'out');
    mkdirSync(out);
    copyFileSync(join(work, 'kernel', 'boot', `vmlinuz-${kver}`), join(out, 'vmlinuz'));
    // Uncompressed: the guest would otherwise spend tens of seconds inflating it on an
    // interpreted CPU; a few extra megabytes of host disk are cheaper.
    writeFileSync(join(out, 'initrd.img'), cpio);
    const image: GuestImage = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), kernelVersion: kver, modules, toolLibraries, dir };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(image, null, 2) + '\n');
    // Publish atomically: a crash mid-build never leaves a half-written guest in the cache.
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    log(`guest ready in ${dir}`);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export { execFileSync };
