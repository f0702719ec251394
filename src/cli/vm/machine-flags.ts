/**
 * The machine flags shared with `viridian run`: --kernel, --initrd, --append, --memory, --cpus,
 * --disk FILE[,readonly][,format=F] (repeatable; run's own parser) and --nic NETWORK[,mac=MAC]. Paths are made absolute
 * against the current directory here, because the service resolves nothing relative.
 */
import { resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { parseSize } from '../../common/size.js';
import { parseDiskArg, type DiskArg } from '../run/disk-arg.js';
import type { FlagKind, Parsed } from './args.js';
import { intFlag, many, one } from './args.js';

export const MACHINE_FLAGS: Record<string, FlagKind> = {
  kernel: 'one', initrd: 'one', append: 'one', memory: 'one', cpus: 'one', disk: 'many', nic: 'many',
};

const MiB = 1024 * 1024;

export interface MachineInput {
  cpus?: number;
  memoryMiB?: number;
  boot?: { kernel?: string | null; initrd?: string | null; cmdline?: string };
  disks?: DiskArg[];
  nics?: Array<{ network: string; mac?: string }>;
}


export function parseNic(cmd: string, spec: string): { network: string; mac?: string } {
  const [network, ...opts] = spec.split(',');
  const nic: { network: string; mac?: string } = { network: network === '' || network === undefined ? 'default' : network };
  for (const o of opts) {
    if (o.startsWith('mac=')) nic.mac = o.slice(4);
    else throw new UserError(`${cmd}: --nic option '${o}' is not mac=MAC`);
  }
  return nic;
}

/** `none` clears an optional file (for `vm set --initrd none`). */
function fileOrNone(v: string | undefined): string | null | undefined {
  if (v === undefined) return undefined;
  return v === 'none' ? null : resolve(v);
}

export function machineInput(cmd: string, p: Parsed): MachineInput {
  const m: MachineInput = {};
  const cpus = intFlag(cmd, p, 'cpus', 1, 1024);
  if (cpus !== undefined) m.cpus = cpus;
  const mem = one(p, 'memory');
  if (mem !== undefined) {
    const bytes = parseSize(/^\d+$/.test(mem) ? `${mem}M` : mem, '--memory');
    if (bytes % MiB !== 0) throw new UserError(`${cmd}: --memory ${mem} is not a whole number of MiB`);
    m.memoryMiB = bytes / MiB;
  }
  const kernel = fileOrNone(one(p, 'kernel'));
  const initrd = fileOrNone(one(p, 'initrd'));
  const cmdline = one(p, 'append');
  if (kernel !== undefined || initrd !== undefined || cmdline !== undefined) {
    m.boot = {};
    if (kernel !== undefined) m.boot.kernel = kernel;
    if (initrd !== undefined) m.boot.initrd = initrd;
    if (cmdline !== undefined) m.boot.cmdline = cmdline;
  }
  const disks = many(p, 'disk');
  if (disks !== undefined) m.disks = disks.map((d) => { const a = parseDiskArg(d); return { ...a, path: resolve(a.path) }; });
  const nics = many(p, 'nic');
  if (nics !== undefined) m.nics = nics.map((n) => parseNic(cmd, n));
  return m;
}
