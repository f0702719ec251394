/**
 * The rules a VM configuration must meet beyond its JSON shape (which the API schema checks):
 * file paths that are absolute, normalised, existing regular files outside the service's data
 * directory (no traversal into the inventory, the token or another VM's files), well-formed and
 * unique MAC addresses, and sane names. Returns the canonical configuration that is stored.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import type { DiskFormat } from '../../storage/disk-image.js';
import type { DiskAttachment, NicAttachment, VmConfig } from '../inventory/vm-record.js';
import { invalidField } from './host-errors.js';

export const LIMITS = { cpus: 64, memoryMiB: 1024 * 1024, disks: 16, nics: 8, text: 4096, path: 4096 } as const;
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const MAC_PATTERN = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';
export const NETWORK_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';

/** The configuration as a client sends it: everything but the name may be left to defaults. */
export interface VmConfigInput {
  name: string;
  cpus?: number;
  memoryMiB?: number;
  boot?: { kernel?: string | null; initrd?: string | null; cmdline?: string };
  disks?: Array<{ path: string; readOnly?: boolean; format?: DiskFormat }>;
  nics?: Array<{ mac?: string; network?: string }>;
  notes?: string;
}

export type VmConfigPatch = Partial<VmConfigInput>;

interface FileChecks {
  boot: boolean;
  disks: boolean;
}
const ALL_FILES: FileChecks = { boot: true, disks: true };

export class ConfigRules {
  private readonly dataDirReal: string;

  constructor(dataDir: string) {
    this.dataDirReal = realpathSync(dataDir);
  }

  /** A new VM's configuration, defaults filled in. */
  forCreate(input: VmConfigInput): VmConfig {
    return this.check(ALL_FILES, {
      name: input.name,
      cpus: input.cpus ?? 1,
      memoryMiB: input.memoryMiB ?? 512,
      boot: { kernel: input.boot?.kernel ?? null, initrd: input.boot?.initrd ?? null, cmdline: input.boot?.cmdline ?? '' },
      disks: (input.disks ?? []).map((d) => ({ path: d.path, readOnly: d.readOnly ?? false, format: d.format ?? null })),
      nics: (input.nics ?? []).map((n) => ({ mac: n.mac ?? '', network: n.network ?? 'default' })),
      notes: input.notes ?? '',
    });
  }

  /** The configuration after a change; omitted fields keep their value, given lists replace. */
  forUpdate(current: VmConfig, patch: VmConfigPatch): VmConfig {
    // Files are checked only where the patch touches them: renaming a VM whose disk was moved away
    // must still work (starting it will report the disk).
    return this.check({ boot: patch.boot !== undefined, disks: patch.disks !== undefined }, {
      name: patch.name ?? current.name,
      cpus: patch.cpus ?? current.cpus,
      memoryMiB: patch.memoryMiB ?? current.memoryMiB,
      boot: patch.boot === undefined ? current.boot : {
        kernel: patch.boot.kernel === undefined ? current.boot.kernel : patch.boot.kernel,
        initrd: patch.boot.initrd === undefined ? current.boot.initrd : patch.boot.initrd,
        cmdline: patch.boot.cmdline ?? current.boot.cmdline,
      },
      disks: patch.disks === undefined ? current.disks : patch.disks.map((d) => ({ path: d.path, readOnly: d.readOnly ?? false, format: d.format ?? null })),
      nics: patch.nics === undefined ? current.nics : patch.nics.map((n) => ({ mac: n.mac ?? '', network: n.network ?? 'default' })),
      notes: patch.notes ?? current.notes,
    });
  }

  private check(verify: FileChecks, c: VmConfig): VmConfig {
    if (!new RegExp(NAME_PATTERN).test(c.name)) throw invalidField('name', 'must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');
    if (!Number.isInteger(c.cpus) || c.cpus < 1 || c.cpus > LIMITS.cpus) throw invalidField('cpus', `must be an integer from 1 to ${LIMITS.cpus}`);
    if (!Number.isInteger(c.memoryMiB) || c.memoryMiB < 1 || c.memoryMiB > LIMITS.memoryMiB) throw invalidField('memoryMiB', `must be an integer from 1 to ${LIMITS.memoryMiB}`);
    plainText('boot.cmdline', c.boot.cmdline);
    plainText('notes', c.notes, true);
    const file = (field: string, p: string, check: boolean): string => (check ? this.file(field, p) : p);
    const kernel = c.boot.kernel === null ? null : file('boot.kernel', c.boot.kernel, verify.boot);
    const initrd = c.boot.initrd === null ? null : file('boot.initrd', c.boot.initrd, verify.boot);
    if (initrd !== null && kernel === null) throw invalidField('boot.initrd', 'an initrd needs a kernel');
    if (c.disks.length > LIMITS.disks) throw invalidField('disks', `at most ${LIMITS.disks} disks`);
    const disks: DiskAttachment[] = [];
    c.disks.forEach((d, i) => {
      const path = file(`disks[${i}].path`, d.path, verify.disks);
      if (disks.some((x) => x.path === path)) throw invalidField(`disks[${i}].path`, `${path} is attached twice`);
      if (path === kernel || path === initrd) throw invalidField(`disks[${i}].path`, `${path} is also the kernel or initrd`);
      disks.push({ path, readOnly: d.readOnly, format: d.format });
    });
    if (c.nics.length > LIMITS.nics) throw invalidField('nics', `at most ${LIMITS.nics} NICs`);
    const nics: NicAttachment[] = [];
    c.nics.forEach((n, i) => {
      const mac = n.mac === '' ? randomMac() : checkMac(`nics[${i}].mac`, n.mac);
      if (nics.some((x) => x.mac === mac)) throw invalidField(`nics[${i}].mac`, `${mac} is used twice`);
      if (!new RegExp(NETWORK_PATTERN).test(n.network)) throw invalidField(`nics[${i}].network`, 'must be 1-32 lower-case letters, digits or dashes');
      nics.push({ mac, network: n.network });
    });
    return { ...c, boot: { kernel, initrd, cmdline: c.boot.cmdline }, disks, nics };
  }

  /** An existing regular file outside the data directory; returns its canonical path. */
  private file(field: string, p: string): string {
    if (p.length === 0 || p.length > LIMITS.path) throw invalidField(field, `must be a path of 1 to ${LIMITS.path} characters`);
    if (/[\u0000-\u001f\u007f]/.test(p)) throw invalidField(field, 'contains control characters');
    if (p.includes('*')) throw invalidField(field, "must not contain '*'");
    if (!isAbsolute(p)) throw invalidField(field, `must be an absolute path, got '${p}'`);
    if (normalize(p) !== p || (p.length > 1 && p.endsWith(sep))) throw invalidField(field, `must be a normalised path without '.', '..' or repeated '/' segments, got '${p}'`);
    let real: string;
    try {
      real = realpathSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw invalidField(field, code === 'ENOENT' ? `${p} does not exist` : `${p} cannot be resolved (${code ?? 'error'})`);
    }
    if (real === this.dataDirReal || real.startsWith(this.dataDirReal + sep)) throw invalidField(field, `${p} is inside the service's data directory, which holds its own files`);
    if (real.includes('*')) throw invalidField(field, `${p} resolves to a path containing '*'`);
    if (!statSync(real).isFile()) throw invalidField(field, `${p} is not a regular file`);
    return real;
  }
}

function plainText(field: string, s: string, allowNewlines = false): void {
  if (s.length > LIMITS.text) throw invalidField(field, `must be at most ${LIMITS.text} characters`);
  const bad = allowNewlines ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/;
  if (bad.test(s)) throw invalidField(field, 'contains control characters');
}

function checkMac(field: string, mac: string): string {
  if (!new RegExp(MAC_PATTERN).test(mac)) throw invalidField(field, `'${mac}' is not a MAC address like 52:54:00:12:34:56`);
  const m = mac.toLowerCase();
  const first = parseInt(m.slice(0, 2), 16);
  if ((first & 1) !== 0) throw invalidField(field, `${m} is a multicast address`);
  if (m === '00:00:00:00:00:00') throw invalidField(field, 'the all-zero address is not valid');
  return m;
}

/** A random locally administered unicast address (no vendor's OUI is claimed). */
function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
