import { UserError } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1, B: 1,
  K: 1024, KB: 1024, KIB: 1024,
  M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2,
  G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3,
  T: 1024 ** 4, TB: 1024 ** 4, TIB: 1024 ** 4,
};

/**
 * Parses a size such as "512M", "4GiB", "65536" (binary units, as qemu-img and Hyper-V use them).
 * `what` names the flag or field for the error message.
 */
export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) throw new UserError(`${what}: '${text}' is not a size (examples: 512M, 4G, 1048576)`);
  const unit = UNITS[m[2]!.toUpperCase()];
  if (unit === undefined) throw new UserError(`${what}: unknown unit '${m[2]}' in '${text}' (use K, M, G or T)`);
  const value = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(value) || value <= 0) throw new UserError(`${what}: '${text}' is out of range`);
  return value;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
