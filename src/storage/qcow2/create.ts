/**
 * Creates an empty qcow2 v3 image (optionally over a backing file). Layout: header cluster,
 * refcount table, one refcount block, then the L1 table; the refcount table is sized up front to
 * cover the image fully allocated, because this writer does not grow it. Built under a temporary
 * name and renamed into place, so a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import type { CreateOptions } from '../disk-image.js';
import { viewOf } from '../vmdk/image-file.js';
import { QCOW2_MAGIC, hasQcow2Magic } from './header.js';

const HEADER_LENGTH = 112;
const REFCOUNT_ORDER = 4;
const EXT_BACKING_FORMAT = 0xe2792aca;
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;

export async function createQcow2(file: string, opts: CreateOptions): Promise<void> {
  if (opts.type === 'fixed') throw new UserError(`${file}: qcow2 has no fixed type; create a dynamic image (or use qemu-img -o preallocation=full)`);
  if (opts.logicalSectorSize !== undefined && opts.logicalSectorSize !== 512) throw new UserError(`${file}: this qcow2 writer supports 512-byte sectors only`);
  const cs = opts.blockSize ?? 65536;
  if (cs < 4096 || cs > 2 * 1024 * 1024 || (cs & (cs - 1)) !== 0) throw new UserError(`${file}: cluster size ${cs} must be a power of two from 4 KiB to 2 MiB`);
  if (await exists(file)) throw new UserError(`${file}: already exists; refusing to overwrite`);
  let backing: { name: string; format: string; size: number } | undefined;
  if (opts.type === 'differencing' || opts.parent !== undefined) {
    if (opts.parent === undefined) throw new UserError(`${file}: a differencing image needs a parent`);
    backing = await describeParent(file, opts.parent);
  }
  const size = opts.size === 0 && backing ? backing.size : opts.size;
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) throw new UserError(`${file}: size ${size} must be a positive multiple of 512 bytes`);

  const l2Cover = cs * (cs / 8);
  const l1Entries = Math.ceil(size / l2Cover);
  if (l1Entries * 8 > MAX_L1_BYTES) throw new UserError(`${file}: ${size} bytes needs an L1 table over 32 MiB; use a larger cluster size`);
  const l1Clusters = Math.max(1, Math.ceil((l1Entries * 8) / cs));
  const perBlock = (cs * 8) / 2 ** REFCOUNT_ORDER;
  // Every cluster the image can ever hold: data, L2 tables, refcount blocks, headroom for metadata.
  const worst = Math.ceil(size / cs) + l1Entries + 3 + l1Clusters;
  const blocks = Math.ceil((worst * 1.05 + 64) / perBlock) + 1;
  const rtClusters = Math.ceil((blocks * 8) / cs);
  if (rtClusters * cs > MAX_REFTABLE_BYTES) throw new UserError(`${file}: ${size} bytes needs a refcount table over 8 MiB; use a larger cluster size`);
  const rtOffset = cs;
  const rbOffset = rtOffset + rtClusters * cs;
  const l1Offset = rbOffset + cs;
  const used = l1Offset / cs + l1Clusters;
  if (used > perBlock) throw new UserError(`${file}: metadata does not fit the first refcount block; use a larger cluster size`);

  const head = new Uint8Array(cs);
  const v = viewOf(head);
  const put64 = (off: number, n: number): void => {
    v.setUint32(off, Math.floor(n / 0x1_0000_0000), false);
    v.setUint32(off + 4, n % 0x1_0000_0000, false);
  };
  v.setUint32(0, QCOW2_MAGIC, false);
  v.setUint32(4, 3, false);
  v.setUint32(20, Math.log2(cs), false);
  put64(24, size);
  v.setUint32(36, l1Entries, false);
  put64(40, l1Offset);
  put64(48, rtOffset);
  v.setUint32(56, rtClusters, false);
  v.setUint32(96, REFCOUNT_ORDER, false);
  v.setUint32(100, HEADER_LENGTH, false);
  let at = HEADER_LENGTH;
  if (backing) {
    const fmt = Buffer.from(backing.format, 'utf8');
    v.setUint32(at, EXT_BACKING_FORMAT, false);
    v.setUint32(at + 4, fmt.length, false);
    head.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
  }
  at += 8; // end-of-extensions marker (type 0, length 0)
  if (backing) {
    const name = Buffer.from(backing.name, 'utf8');
    if (name.length > 1023 || at + name.length > cs) throw new UserError(`${file}: backing file name is too long`);
    head.set(name, at);
    put64(8, at);
    v.setUint32(16, name.length, false);
  }
  const rt = new Uint8Array(rtClusters * cs);
  put64At(rt, 0, rbOffset);
  const rb = new Uint8Array(cs);
  for (let c = 0; c < used; c++) viewOf(rb).setUint16(c * 2, 1, false);

  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx');
  try {
    await fh.write(head, 0, head.length, 0);
    await fh.write(rt, 0, rt.length, rtOffset);
    await fh.write(rb, 0, rb.length, rbOffset);
    await fh.truncate(l1Offset + l1Clusters * cs); // L1 starts all-zero: nothing allocated
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function put64At(b: Uint8Array, off: number, n: number): void {
  const v = viewOf(b);
  v.setUint32(off, Math.floor(n / 0x1_0000_0000), false);
  v.setUint32(off + 4, n % 0x1_0000_0000, false);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The backing file's name as stored (relative to the child when possible), format and size. */
async function describeParent(child: string, parent: string): Promise<{ name: string; format: string; size: number }> {
  const abs = resolve(parent);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new UserError(`${child}: parent ${parent} does not exist`);
  }
  const fh = await open(abs, 'r');
  let head: Uint8Array;
  try {
    head = new Uint8Array(Math.min(st.size, 4096));
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const rel = relative(dirname(resolve(child)), abs);
  const name = rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
  const text = Buffer.from(head.subarray(0, 64)).toString('latin1');
  let format = 'raw';
  let size = st.size;
  if (hasQcow2Magic(head)) {
    format = 'qcow2';
    const v = viewOf(head);
    size = v.getUint32(24, false) * 0x1_0000_0000 + v.getUint32(28, false);
  } else if (text.startsWith('KDMV') || text.includes('# Disk DescriptorFile')) {
    format = 'vmdk';
    size = 0;
  } else if (text.startsWith('vhdxfile')) {
    format = 'vhdx';
    size = 0;
  } else if (text.startsWith('conectix')) {
    format = 'vpc';
    size = 0;
  }
  return { name, format, size };
}
