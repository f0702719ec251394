/**
 * VMDK consistency check of every sparse extent: the grain directory and its redundant copy agree,
 * grain tables and grains lie inside the file and outside the metadata, no grain is claimed twice,
 * and compressed grains carry the marker their table entry expects. Repair is not offered.
 */
import { dirname, resolve } from 'node:path';
import { FormatError, UserError, errorMessage } from '../../common/errors.js';
import type { CheckReport } from '../disk-image.js';
import { ImageFile, viewOf } from './image-file.js';
import { loadDescriptor } from './open.js';
import { FLAG_COMPRESSED, FLAG_MARKERS, FLAG_REDUNDANT_GT, FLAG_ZERO_GRAIN, SECTOR } from './sparse-header.js';
import { readSparseHeader, readTable } from './sparse-extent.js';

const MAX_PROBLEMS = 200;

export async function checkVmdk(path: string, opts: { repair: boolean }): Promise<CheckReport> {
  if (opts.repair) throw new UserError(`${path}: VMDK repair is not supported; convert the image to rescue its data`);
  const problems: string[] = [];
  const note = (msg: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(msg);
  };
  const main = await ImageFile.open(path, true);
  try {
    const { descriptor, textDescriptor } = await loadDescriptor(main);
    const dir = dirname(resolve(path));
    const selfContained = !textDescriptor && descriptor.extents.length === 1 && descriptor.extents[0]!.type === 'SPARSE';
    for (const e of descriptor.extents) {
      if (e.type !== 'SPARSE') continue;
      const file = selfContained ? main : await ImageFile.open(resolve(dir, e.fileName), true).catch((err: unknown) => {
        note(`extent "${e.fileName}": cannot open: ${errorMessage(err)}`);
        return undefined;
      });
      if (file === undefined) continue;
      try {
        await checkSparse(file, e.fileName, note);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        note(err.message);
      } finally {
        if (file !== main) await file.close();
      }
    }
  } finally {
    await main.close();
  }
  return { ok: problems.length === 0, problems, repaired: [] };
}

async function checkSparse(file: ImageFile, name: string, note: (m: string) => void): Promise<void> {
  const h = await readSparseHeader(file);
  const compressed = (h.flags & FLAG_COMPRESSED) !== 0;
  const zeroGrains = (h.flags & FLAG_ZERO_GRAIN) !== 0 || h.version >= 2;
  const entries = Math.ceil(h.capacity / (h.grainSize * h.numGTEsPerGT));
  const gd = await readTable(file, h.gdOffset, entries, 'grain directory');
  const rgd = (h.flags & FLAG_REDUNDANT_GT) !== 0 && h.rgdOffset !== 0 ? await readTable(file, h.rgdOffset, entries, 'redundant grain directory') : undefined;
  const grainOwner = new Map<number, number>();
  const fileSectors = Math.ceil(file.size / SECTOR);
  for (let g = 0; g < entries; g++) {
    if (gd[g] === 0) {
      if (rgd && rgd[g] !== 0) note(`${name}: grain directory entry ${g} is empty but the redundant one is not`);
      continue;
    }
    const gt = await readTable(file, gd[g]!, h.numGTEsPerGT, `grain table ${g}`);
    if (rgd) {
      if (rgd[g] === 0) note(`${name}: redundant grain directory entry ${g} is empty`);
      else {
        const rgt = await readTable(file, rgd[g]!, h.numGTEsPerGT, `redundant grain table ${g}`);
        for (let i = 0; i < gt.length; i++) {
          if (gt[i] !== rgt[i]) {
            note(`${name}: grain table ${g} entry ${i} (${gt[i]}) differs from the redundant copy (${rgt[i]})`);
            break;
          }
        }
      }
    }
    for (let i = 0; i < gt.length; i++) {
      const gte = gt[i]!;
      const grain = g * h.numGTEsPerGT + i;
      if (gte === 0 || (gte === 1 && zeroGrains)) continue;
      if (grain * h.grainSize >= h.capacity) { note(`${name}: grain ${grain} lies beyond the capacity but is allocated`); continue; }
      if (!compressed && gte < h.overHead) note(`${name}: grain ${grain} at sector ${gte} lies inside the metadata area (overhead ${h.overHead})`);
      if (gte >= fileSectors) { note(`${name}: grain ${grain} at sector ${gte} lies past the end of the file`); continue; }
      const prior = grainOwner.get(gte);
      if (prior !== undefined) note(`${name}: grains ${prior} and ${grain} both point to sector ${gte}`);
      else grainOwner.set(gte, grain);
      if (compressed && (h.flags & FLAG_MARKERS)) {
        const mk = new Uint8Array(12);
        await file.readExact(gte * SECTOR, mk, `marker of grain ${grain}`);
        const v = viewOf(mk);
        const lba = v.getUint32(0, true) + v.getUint32(4, true) * 0x1_0000_0000;
        if (lba !== grain * h.grainSize) note(`${name}: compressed grain ${grain} at sector ${gte} has marker LBA ${lba}`);
      }
    }
  }
}
