/** `--disk FILE[,readonly][,format=F]`: one virtual disk for `viridian run` and `viridian vm create`. */
import { UserError } from '../../common/errors.js';
import { ALL_FORMATS } from '../../storage/registry.js';
import type { DiskFormat } from '../../storage/disk-image.js';

export interface DiskArg { path: string; readOnly: boolean; format?: DiskFormat }

export function parseDiskArg(text: string): DiskArg {
  // A comma inside the file name is written as ",," (QEMU's -drive convention).
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ',' && text[i + 1] === ',') { cur += ','; i++; continue; }
    if (ch === ',') { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  const [path, ...opts] = parts;
  if (path === undefined || path === '') throw new UserError(`--disk: '${text}' names no file (FILE[,readonly][,format=F])`);
  const arg: DiskArg = { path, readOnly: false };
  for (const o of opts) {
    if (o === 'readonly' || o === 'ro') arg.readOnly = true;
    else if (o.startsWith('format=')) {
      const f = o.slice(7);
      if (!(ALL_FORMATS as readonly string[]).includes(f)) throw new UserError(`--disk ${path}: format '${f}' is not one of ${ALL_FORMATS.join(', ')}`);
      arg.format = f as DiskFormat;
    } else throw new UserError(`--disk ${path}: unknown option '${o}' (readonly, format=F)`);
  }
  return arg;
}
