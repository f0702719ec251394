/** Human-readable output of `viridian vm`: a table for lists, key/value lines for one VM. */
import { formatSize } from '../../common/size.js';

export interface VmView {
  id: string;
  name: string;
  state: string;
  stateReason: string | null;
  stateChangedAt: string;
  createdAt: string;
  cpus: number;
  memoryMiB: number;
  boot: { kernel: string | null; initrd: string | null; cmdline: string };
  disks: Array<{ path: string; readOnly: boolean; format: string | null }>;
  nics: Array<{ mac: string; network: string }>;
  notes: string;
  worker: { pid: number; startedAt: string } | null;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function renderList(vms: VmView[]): string {
  if (vms.length === 0) return 'no VMs';
  return table(
    ['NAME', 'STATE', 'CPUS', 'MEMORY', 'DISKS', 'ID'],
    vms.map((v) => [v.name, v.state, String(v.cpus), formatSize(v.memoryMiB * 1024 * 1024), String(v.disks.length), v.id]),
  );
}

export function renderVm(v: VmView): string {
  const lines: Array<[string, string]> = [
    ['name', v.name],
    ['id', v.id],
    ['state', v.stateReason !== null ? `${v.state} (${v.stateReason})` : v.state],
    ['since', v.stateChangedAt],
    ['cpus', String(v.cpus)],
    ['memory', formatSize(v.memoryMiB * 1024 * 1024)],
    ['kernel', v.boot.kernel ?? '-'],
    ['initrd', v.boot.initrd ?? '-'],
    ['cmdline', v.boot.cmdline === '' ? '-' : v.boot.cmdline],
  ];
  v.disks.forEach((d, i) => lines.push([`disk ${i}`, `${d.path}${d.format !== null ? ` (${d.format})` : ''}${d.readOnly ? ' (read-only)' : ''}`]));
  v.nics.forEach((n, i) => lines.push([`nic ${i}`, `${n.mac} on ${n.network}`]));
  if (v.worker !== null) lines.push(['worker', `pid ${v.worker.pid} since ${v.worker.startedAt}`]);
  if (v.notes !== '') lines.push(['notes', v.notes]);
  lines.push(['created', v.createdAt]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, val]) => `${k.padEnd(w)}  ${val}`).join('\n');
}
