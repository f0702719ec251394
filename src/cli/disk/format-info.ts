/** Human-readable rendering of `disk info`. */
import { formatSize } from '../../common/size.js';
import type { DiskInfo } from '../../storage/disk-image.js';

export function renderInfo(chain: DiskInfo[]): string {
  const lines: string[] = [];
  chain.forEach((info, depth) => {
    const pad = depth === 0 ? '' : `${'  '.repeat(depth)}parent: `;
    const ind = '  '.repeat(depth);
    lines.push(`${pad}${info.file}`);
    lines.push(`${ind}  format:        ${info.format}${info.subformat !== undefined ? ` (${info.subformat})` : ''}`);
    lines.push(`${ind}  type:          ${info.type}`);
    lines.push(`${ind}  virtual size:  ${formatSize(info.virtualSize)} (${info.virtualSize} bytes)`);
    lines.push(`${ind}  allocated:     ${formatSize(info.allocatedSize)} (${info.allocatedSize} bytes)`);
    if (info.blockSize !== undefined) lines.push(`${ind}  block size:    ${formatSize(info.blockSize)}`);
    lines.push(`${ind}  sector sizes:  ${info.logicalSectorSize} logical, ${info.physicalSectorSize} physical`);
    for (const [k, v] of Object.entries(info.identifiers)) lines.push(`${ind}  ${`${k}:`.padEnd(14)} ${v}`);
  });
  return lines.join('\n');
}
