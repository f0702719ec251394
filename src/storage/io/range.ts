/** Bounds checks shared by every driver: a guest or caller value outside the disk is an error, not a wrap. */
import { UserError } from '../../common/errors.js';

export function checkRange(dev: { file: string; sizeBytes: number; sectorSize: number }, sector: number, byteLength: number): void {
  if (!Number.isSafeInteger(sector) || sector < 0) {
    throw new UserError(`${dev.file}: sector ${sector} is not a valid sector number`);
  }
  if (byteLength % dev.sectorSize !== 0) {
    throw new UserError(`${dev.file}: transfer of ${byteLength} bytes is not a whole number of ${dev.sectorSize}-byte sectors`);
  }
  if (sector * dev.sectorSize + byteLength > dev.sizeBytes) {
    throw new UserError(`${dev.file}: sectors ${sector}..${sector + byteLength / dev.sectorSize - 1} lie past the end of the ${dev.sizeBytes}-byte disk`);
  }
}
