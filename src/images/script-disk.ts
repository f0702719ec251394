/**
 * A shell script handed to the test guest on a small raw disk: the guest's /init runs
 * `viridian.autorun=sh /dev/vda`, so the script disk must be the first virtio disk. The kernel
 * command line (2 KiB on x86) is too short for a real script, and a disk needs no serial-port
 * dialogue. The script is followed by `exit` so the shell never reads the zero padding after it.
 */
import { writeFileSync } from 'node:fs';

/** Kernel command-line words that run the script disk (spaces are %20 for the guest's /init). */
export const SCRIPT_DISK_AUTORUN = 'viridian.autorun=sh%20/dev/vda';

const SCRIPT_DISK_BYTES = 1024 * 1024;

/** Writes `script` as a 1 MiB raw disk image at `file`. */
export function writeScriptDisk(file: string, script: string): void {
  const text = Buffer.from(`${script.trimEnd()}\nexit $?\n`, 'utf8');
  if (text.length > SCRIPT_DISK_BYTES) throw new RangeError(`guest script of ${text.length} bytes does not fit a ${SCRIPT_DISK_BYTES}-byte script disk`);
  if (text.includes(0)) throw new RangeError('guest script contains a NUL byte');
  const image = Buffer.alloc(SCRIPT_DISK_BYTES);
  text.copy(image);
  writeFileSync(file, image);
}
