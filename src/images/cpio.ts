/**
 * Writes cpio archives in the "newc" format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header per entry,
 * name and data each padded to 4 bytes, ended by the TRAILER!!! entry.
 */
export interface CpioEntry {
  path: string;
  /** File type and permission bits, e.g. 0o100755 (file), 0o040755 (dir), 0o120777 (symlink), 0o020600 (char dev). */
  mode: number;
  data?: Uint8Array;
  /** For device nodes. */
  rdevMajor?: number;
  rdevMinor?: number;
}

export const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export function writeCpio(entries: CpioEntry[], mtime = 0): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array): void => { chunks.push(b); size += b.length; };
  const pad = (): void => { const r = size % 4; if (r !== 0) push(new Uint8Array(4 - r)); };
  let ino = 1;
  const all = [...entries, { path: 'TRAILER!!!', mode: 0 }];
  for (const e of all) {
    if (e.path.length === 0 || e.path.startsWith('/')) throw new Error(`cpio: entry path '${e.path}' must be relative`);
    const name = Buffer.from(e.path + '\0', 'utf8');
    const data = e.data ?? new Uint8Array(0);
    const header = '070701' + hex8(e.path === 'TRAILER!!!' ? 0 : ino++) + hex8(e.mode) + hex8(0) + hex8(0) +
      hex8((e.mode & S_IFDIR) === S_IFDIR && (e.mode & S_IFREG) === 0 ? 2 : 1) + hex8(mtime) + hex8(data.length) +
      hex8(0) + hex8(0) + hex8(e.rdevMajor ?? 0) + hex8(e.rdevMinor ?? 0) + hex8(name.length) + hex8(0);
    push(Buffer.from(header, 'ascii'));
    push(name);
    pad();
    if (data.length > 0) { push(data); pad(); }
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

/** Reads a newc archive back (used by tests and by `viridian guest info`). */
export function readCpio(buf: Uint8Array): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  const field = (k: number): number => parseInt(Buffer.from(buf.subarray(off + 6 + k * 8, off + 14 + k * 8)).toString('ascii'), 16);
  for (;;) {
    if (off + 110 > buf.length) throw new Error('cpio: truncated header');
    if (Buffer.from(buf.subarray(off, off + 6)).toString('ascii') !== '070701') throw new Error(`cpio: bad magic at ${off}`);
    const mode = field(1), fileSize = field(6), nameSize = field(11);
    const name = Buffer.from(buf.subarray(off + 110, off + 110 + nameSize - 1)).toString('utf8');
    off = (off + 110 + nameSize + 3) & ~3;
    if (name === 'TRAILER!!!') break;
    if (off + fileSize > buf.length) throw new Error(`cpio: entry ${name} is truncated`);
    out.push({ path: name, mode, data: buf.slice(off, off + fileSize) });
    off = (off + fileSize + 3) & ~3;
  }
  return out;
}
