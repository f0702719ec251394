/**
 * A whole machine's saved state in one file: what `vm save` leaves on disk and what a start from
 * saved state reads back. The machine must be quiet while it is saved (its loop stopped, its
 * virtio requests drained); restore expects a freshly built machine of the same shape (CPU count,
 * RAM layout, devices) and no kernel loaded — RAM carries the guest as it was.
 *
 * File layout (little-endian):
 *   16 bytes  magic "VIRIDIAN-VMSAVE\0"
 *   u32       format version
 *   u32       length N of the device block
 *   N bytes   encodeState([machine record, processors..., board devices...])
 *   per RAM region, in layout order:
 *     f64 base, f64 size, page bitmap (1 bit per 4 KiB page: set = stored), the stored pages
 * Pages of zeros are not stored, so a guest that has touched little of its RAM saves small.
 * The file is written under a temporary name and renamed into place: a save that fails half-way
 * leaves no file that looks complete. Restore treats the file as hostile: every length is checked
 * against the machine and the file size before anything is read into RAM.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { PAGE_SIZE, type RamRegion } from '../../hv/memory/guest-memory.js';
import {
  decodeState, encodeState, expectState, stateNumber, SavedStateError, type SavedState, type StateValue,
} from '../../common/saved-state.js';
import { FormatError } from '../../common/errors.js';
import type { Machine } from './machine.js';

const MAGIC = Buffer.from('VIRIDIAN-VMSAVE\0', 'latin1');
const FORMAT_VERSION = 1;
const MACHINE_ID = 'pc.machine';
/** Device blocks are small (registers and queue indices); anything larger is not ours. */
const MAX_DEVICE_BLOCK = 64 * 1024 * 1024;
/** Pages written per write call when runs of stored pages are long. */
const MAX_RUN_PAGES = 256;

/** Waits for every device with requests in flight (virtio-blk) to finish them. */
export async function quiesceMachine(m: Machine): Promise<void> {
  for (const { fn } of m.board.pci.list()) {
    const d = (fn as { drain?: () => Promise<void> }).drain;
    if (typeof d === 'function') await d.call(fn);
  }
}

function machineRecord(m: Machine): SavedState {
  return { id: MACHINE_ID, version: 1, data: { cpus: m.processors.length, current: m.current, clockNs: m.clock.nowNs() } };
}

function deviceStates(m: Machine): SavedState[] {
  return [
    machineRecord(m),
    ...m.processors.map((p) => p.save()),
    ...m.board.saveables().map(({ name, device }) => ({ id: `device:${name}`, version: 1, data: { state: device.save() as unknown as StateValue } })),
  ];
}

function pageIsZero(words: Int32Array, first: number): boolean {
  const end = first + PAGE_SIZE / 4;
  for (let i = first; i < end; i++) if (words[i] !== 0) return false;
  return true;
}

async function writeRegion(fh: FileHandle, r: RamRegion): Promise<void> {
  const words = new Int32Array(r.buffer);
  const bitmap = new Uint8Array(Math.ceil(r.pages / 8));
  for (let p = 0; p < r.pages; p++) if (!pageIsZero(words, p * (PAGE_SIZE / 4))) bitmap[p >> 3]! |= 1 << (p & 7);
  const head = Buffer.alloc(16);
  head.writeDoubleLE(r.base, 0);
  head.writeDoubleLE(r.size, 8);
  await writeAll(fh, head);
  await writeAll(fh, bitmap);
  const stored = (p: number): boolean => (bitmap[p >> 3]! & (1 << (p & 7))) !== 0;
  for (let p = 0; p < r.pages;) {
    if (!stored(p)) { p++; continue; }
    let q = p + 1;
    while (q < r.pages && q - p < MAX_RUN_PAGES && stored(q)) q++;
    // Copy out of the shared buffer: fs writes want a plain ArrayBuffer view.
    await writeAll(fh, Buffer.from(r.u8.subarray(p * PAGE_SIZE, q * PAGE_SIZE)));
    p = q;
  }
}

async function writeAll(fh: FileHandle, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
}

/**
 * Writes the machine's complete state to `file` (replacing it atomically). The machine must stay
 * stopped until the promise settles. FileHandle.sync, not fsyncSync: Node's permission model,
 * which VM workers run under, refuses the synchronous fsync calls.
 */
export async function writeMachineState(m: Machine, file: string): Promise<void> {
  const devices = encodeState(deviceStates(m));
  const tmp = `${file}.partial-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    const head = Buffer.alloc(24);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(FORMAT_VERSION, 16);
    head.writeUInt32LE(devices.length, 20);
    await writeAll(fh, head);
    await writeAll(fh, devices);
    for (const r of m.mem.regions) await writeRegion(fh, r);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, file);
}

class StateFileReader {
  pos = 0;
  readonly size: number;
  constructor(readonly fd: number, readonly file: string) { this.size = fstatSync(fd).size; }

  read(n: number, what: string): Buffer {
    if (n > this.size - this.pos) throw new FormatError(this.file, `is truncated: ${what} needs ${n} bytes at offset ${this.pos}, the file ends at ${this.size}`);
    const b = Buffer.alloc(n);
    this.readInto(b, what);
    return b;
  }

  readInto(dst: Uint8Array, what: string): void {
    if (dst.length > this.size - this.pos) throw new FormatError(this.file, `is truncated in ${what}`);
    let off = 0;
    while (off < dst.length) {
      const got = readSync(this.fd, dst, off, dst.length - off, this.pos + off);
      if (got === 0) throw new FormatError(this.file, `is truncated in ${what}`);
      off += got;
    }
    this.pos += dst.length;
  }
}

function readRegion(rd: StateFileReader, r: RamRegion, index: number): void {
  const head = rd.read(16, `RAM region ${index} header`);
  const base = head.readDoubleLE(0), size = head.readDoubleLE(8);
  if (base !== r.base || size !== r.size) {
    throw new FormatError(rd.file, `RAM region ${index} is ${size} bytes at 0x${base.toString(16)}; this VM has ${r.size} bytes at 0x${r.base.toString(16)} (memory size changed?)`);
  }
  const bitmap = rd.read(Math.ceil(r.pages / 8), `RAM region ${index} page map`);
  let stored = 0;
  for (let p = 0; p < r.pages; p++) if ((bitmap[p >> 3]! & (1 << (p & 7))) !== 0) stored++;
  if (stored * PAGE_SIZE > rd.size - rd.pos) throw new FormatError(rd.file, `RAM region ${index} lists ${stored} pages but the file holds fewer`);
  const page = Buffer.alloc(PAGE_SIZE);
  r.u8.fill(0);
  for (let p = 0; p < r.pages; p++) {
    if ((bitmap[p >> 3]! & (1 << (p & 7))) === 0) continue;
    rd.readInto(page, `RAM page ${p} of region ${index}`);
    r.u8.set(page, p * PAGE_SIZE);
  }
  r.code.fill(0);
}

/**
 * Restores a state file into `m`, a machine built with the same configuration and not booted.
 * Throws FormatError/SavedStateError naming the problem; `m` must then be discarded.
 */
export function readMachineState(m: Machine, file: string): void {
  const fd = openSync(file, 'r');
  try {
    const rd = new StateFileReader(fd, file);
    const head = rd.read(24, 'header');
    if (!head.subarray(0, 16).equals(MAGIC)) throw new FormatError(file, 'is not a Viridian saved-state file (bad magic)');
    const version = head.readUInt32LE(16);
    if (version !== FORMAT_VERSION) throw new FormatError(file, `has saved-state format ${version}; this build reads ${FORMAT_VERSION}`);
    const n = head.readUInt32LE(20);
    if (n > MAX_DEVICE_BLOCK) throw new FormatError(file, `device block of ${n} bytes is implausibly large`);
    const states = decodeState(rd.read(n, 'device block'));
    const [rec, ...rest] = states;
    if (rec === undefined) throw new SavedStateError(MACHINE_ID, 'record missing');
    const d = expectState(rec, MACHINE_ID, 1);
    const cpus = stateNumber(MACHINE_ID, d, 'cpus');
    if (cpus !== m.processors.length) throw new SavedStateError(MACHINE_ID, `saved with ${cpus} processors; this VM has ${m.processors.length}`);
    const devices = m.board.saveables();
    if (rest.length !== cpus + devices.length) throw new SavedStateError(MACHINE_ID, `has ${rest.length - cpus} device records; this VM has ${devices.length} devices (devices changed?)`);
    const current = stateNumber(MACHINE_ID, d, 'current');
    if (!Number.isInteger(current) || current < 0 || current >= cpus) throw new SavedStateError(MACHINE_ID, "field 'current' is not a processor");
    const clockNs = stateNumber(MACHINE_ID, d, 'clockNs');
    if (clockNs < 0) throw new SavedStateError(MACHINE_ID, "field 'clockNs' is negative");

    // Time first: devices re-arm their timers against the restored clock.
    m.clock.setNow(clockNs);
    m.mem.regions.forEach((r, i) => readRegion(rd, r, i));
    if (rd.pos !== rd.size) throw new FormatError(file, `has ${rd.size - rd.pos} bytes after the last RAM region`);
    m.processors.forEach((p, i) => p.restore(rest[i]!));
    devices.forEach(({ name, device }, i) => {
      const s = rest[cpus + i]!;
      if (s.id !== `device:${name}`) throw new SavedStateError(MACHINE_ID, `device record ${i} is '${s.id}', expected 'device:${name}'`);
      device.restore(s.data['state'] as unknown as SavedState);
    });
    m.current = current;
  } finally {
    closeSync(fd);
  }
}
