/**
 * Disk tools for the test guest: sfdisk (package fdisk), mke2fs and e2fsck (e2fsprogs), as Debian
 * builds them, with the ELF interpreter and exactly the shared libraries they load.
 *
 * The packages come from `apt-get download`. Their library dependencies are followed through the
 * Depends and Pre-Depends fields (dpkg-deb -f), but only into packages named lib* — Debian policy
 * 8.1 names every shared-library package that way — so the download stays at the libraries and
 * does not drag in dpkg, tar and the rest of a base system. Which library files enter the
 * initramfs is then decided by the binaries themselves: their PT_INTERP and DT_NEEDED entries,
 * followed recursively through the libraries' own DT_NEEDED. A soname that no downloaded package
 * provides is an error that names it, never a silent omission.
 *
 * sfdisk rather than busybox fdisk: sfdisk reads a partition table description made for scripts
 * (",,L" is one Linux partition over the whole disk), aligns to 1 MiB like every current
 * installer, and exits non-zero on failure; busybox fdisk is an interactive dialogue whose prompts
 * and defaults (cylinder alignment) would have to be answered blind through stdin.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { UserError } from '../common/errors.js';
import { S_IFDIR, S_IFLNK, S_IFREG, type CpioEntry } from './cpio.js';
import { readDynamicInfo } from './elf-dynamic.js';
import { runHostCommand } from './host-command.js';

export interface GuestTool {
  /** Program name as installed in the package's sbin or bin directory. */
  program: string;
  package: string;
  /** Extra names (symlinks to the program) it answers to, e.g. mkfs.ext4 for mke2fs. */
  aliases: string[];
}

export const GUEST_TOOLS: readonly GuestTool[] = [
  { program: 'sfdisk', package: 'fdisk', aliases: [] },
  { program: 'mke2fs', package: 'e2fsprogs', aliases: ['mkfs.ext4'] },
  { program: 'e2fsck', package: 'e2fsprogs', aliases: ['fsck.ext4'] },
];

/** Configuration the tools read at run time, copied when the packages ship it. */
const TOOL_CONFIG = ['etc/mke2fs.conf'];
/** Where the tools go in the guest (first in the guest's PATH, ahead of busybox's applets). */
const TOOL_DIR = 'sbin';
/** Where packages put programs (before and after Debian's /usr merge). */
const PROGRAM_DIRS = ['sbin', 'usr/sbin', 'bin', 'usr/bin'];
/** The loader's system search path on Debian amd64 (ld.so --help), in its order. */
const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib'];
const MAX_SYMLINK_HOPS = 16;

/**
 * Package names from a Depends or Pre-Depends value: the first of each set of alternatives,
 * without version constraints, architecture qualifiers or restrictions.
 */
export function parseDependsField(value: string): string[] {
  const names: string[] = [];
  for (const clause of value.split(',')) {
    const first = clause.split('|')[0]!.trim();
    if (first === '') continue;
    const m = /^([a-z0-9][a-z0-9+.-]+)/.exec(first);
    if (m === null) throw new UserError(`cannot read the dependency '${first}' in '${value}'`);
    names.push(m[1]!);
  }
  return names;
}

/** Control fields of one .deb, continuation lines joined. */
function controlFields(deb: string, cwd: string): Map<string, string> {
  const out = runHostCommand('dpkg-deb', ['-f', deb, 'Package', 'Depends', 'Pre-Depends'], cwd, `dpkg-deb -f ${deb}`);
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of out.split('\n')) {
    if (/^\s/.test(line) && last !== undefined) { fields.set(last, `${fields.get(last)!} ${line.trim()}`); continue; }
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m !== null) { last = m[1]!; fields.set(last, m[2]!); }
  }
  return fields;
}

/**
 * Downloads the tools' packages and their lib* dependencies into `work` and unpacks them all into
 * one tree, returned as its path. Returns the package names it fetched, too.
 */
export function fetchToolPackages(work: string, log: (line: string) => void): { root: string; packages: string[] } {
  const debDir = join(work, 'tool-debs');
  const root = join(work, 'tool-root');
  mkdirSync(debDir, { recursive: true });
  mkdirSync(root, { recursive: true });
  const seen = new Set<string>(GUEST_TOOLS.map((t) => t.package));
  let wanted = [...seen];
  const known = new Set<string>();
  while (wanted.length > 0) {
    log(`downloading ${wanted.join(' ')} with apt-get download`);
    runHostCommand('apt-get', ['download', ...wanted], debDir, 'apt-get download (guest tools)');
    const next: string[] = [];
    for (const deb of readdirSync(debDir).filter((f) => f.endsWith('.deb') && !known.has(f))) {
      known.add(deb);
      const fields = controlFields(deb, debDir);
      const deps = [fields.get('Pre-Depends'), fields.get('Depends')].filter((v): v is string => v !== undefined);
      for (const name of deps.flatMap(parseDependsField)) {
        if (!name.startsWith('lib') || seen.has(name)) continue;
        seen.add(name);
        next.push(name);
      }
      runHostCommand('dpkg-deb', ['-x', deb, root], debDir, `dpkg-deb -x ${deb}`);
    }
    wanted = next;
  }
  return { root, packages: [...seen].sort() };
}

/** A path inside `root` with every symlink on the way resolved inside `root` too (never the host's). */
function resolveInRoot(root: string, relPath: string): string | undefined {
  const parts = relPath.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') { done.pop(); continue; }
    const here = join(root, ...done, part);
    if (!existsSync(here) && !isSymlink(here)) return undefined;
    if (isSymlink(here)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new UserError(`${join(root, relPath)}: more than ${MAX_SYMLINK_HOPS} symbolic links`);
      const target = readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return done.join('/');
}

function isSymlink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

function findProgram(root: string, program: string): string {
  for (const dir of PROGRAM_DIRS) {
    const found = resolveInRoot(root, `${dir}/${program}`);
    if (found !== undefined && lstatSync(join(root, found)).isFile()) return found;
  }
  throw new UserError(`guest tools: ${program} is in none of ${PROGRAM_DIRS.join(', ')} of the downloaded packages`);
}

/** Library directory (guest path) and resolved file (in root) of a soname, by the loader's search order. */
function findLibrary(root: string, soname: string): { dir: string; file: string } | undefined {
  for (const dir of LIBRARY_DIRS) {
    const file = resolveInRoot(root, `${dir}/${soname}`);
    if (file !== undefined && lstatSync(join(root, file)).isFile()) return { dir, file };
  }
  return undefined;
}

export interface ToolFiles {
  entries: CpioEntry[];
  /** Guest paths of the interpreter and libraries, sorted. */
  libraries: string[];
}

/**
 * The initramfs entries for the tools in an unpacked package tree: programs in /sbin with their
 * aliases, the interpreter at the path the programs request, every needed library under the
 * library directory it was found in (as a plain file named by its soname), the tools' config,
 * and the directories all of these need.
 */
export function toolFiles(root: string, tools: readonly GuestTool[] = GUEST_TOOLS): ToolFiles {
  const files = new Map<string, string>(); // guest path -> file in root
  const links = new Map<string, string>(); // guest path -> link target
  const pending: { guestPath: string; rootFile: string }[] = [];
  for (const t of tools) {
    const guestPath = `${TOOL_DIR}/${t.program}`;
    const rootFile = findProgram(root, t.program);
    files.set(guestPath, rootFile);
    pending.push({ guestPath, rootFile });
    for (const a of t.aliases) links.set(`${TOOL_DIR}/${a}`, t.program);
  }
  const libraries = new Set<string>();
  while (pending.length > 0) {
    const { guestPath, rootFile } = pending.shift()!;
    const info = readDynamicInfo(join(root, rootFile), new Uint8Array(readFileSync(join(root, rootFile))));
    const add = (path: string, file: string): void => {
      if (files.has(path)) return;
      files.set(path, file);
      libraries.add(path);
      pending.push({ guestPath: path, rootFile: file });
    };
    if (info.interpreter !== undefined) {
      const interp = info.interpreter.replace(/^\/+/, '');
      const file = resolveInRoot(root, interp);
      if (file === undefined) throw new UserError(`guest tools: the interpreter ${info.interpreter} of /${guestPath} is in none of the downloaded packages`);
      add(interp, file);
    }
    for (const soname of info.needed) {
      const lib = findLibrary(root, soname);
      if (lib === undefined) throw new UserError(`guest tools: ${soname}, needed by /${guestPath}, is in none of the downloaded packages (searched ${LIBRARY_DIRS.join(', ')})`);
      add(`${lib.dir}/${soname}`, lib.file);
    }
  }
  for (const cfg of TOOL_CONFIG) {
    const file = resolveInRoot(root, cfg);
    if (file !== undefined) files.set(cfg, file);
  }

  const dirs = new Set<string>();
  for (const p of [...files.keys(), ...links.keys()]) {
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) dirs.add(d);
  }
  const entries: CpioEntry[] = [];
  // Parents before children: the kernel's unpacker does not create missing directories.
  for (const d of [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))) entries.push({ path: d, mode: S_IFDIR | 0o755 });
  for (const [path, file] of files) {
    const executable = (lstatSync(join(root, file)).mode & 0o111) !== 0;
    entries.push({ path, mode: S_IFREG | (executable ? 0o755 : 0o644), data: new Uint8Array(readFileSync(join(root, file))) });
  }
  for (const [path, target] of links) entries.push({ path, mode: S_IFLNK | 0o777, data: Buffer.from(target) });
  return { entries, libraries: [...libraries].sort() };
}
