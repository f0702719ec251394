/**
 * Helpers for virtio-console tests: the driver side of the control conversation as Linux's
 * virtio_console holds it (page-sized control receive buffers, 8-byte control messages), and
 * port data in both directions.
 */
import { createVirtioConsole } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioConsole, VirtioConsoleOptions } from '../../../src/vm/virtio/console/virtio-console.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest } from './fake-guest.js';
import { FakeVirtioDriver, type InitOptions } from './fake-driver.js';

export const CON_BAR = 0xfe400000;
export const DEVICE_READY = 0, DEVICE_ADD = 1, PORT_READY = 3, CONSOLE_PORT = 4, PORT_OPEN = 6, PORT_NAME = 7;
export const F_MULTIPORT = 1, F_EMERG_WRITE = 2;
export const BAD_ID = 0xffffffff;

export interface ConsoleRig {
  guest: Guest;
  fn: VirtioPciFunction<VirtioConsole>;
  drv: FakeVirtioDriver;
  con: VirtioConsole;
  errors: string[];
  bufs: Map<string, { addr: number; len: number }>;
}

export function consoleRig(opts: VirtioConsoleOptions = {}, init: InitOptions | false = {}, guest = new Guest()): ConsoleRig {
  const errors: string[] = [];
  const fn = createVirtioConsole({ memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'vcon', onError: (m) => errors.push(m), ...opts });
  const drv = new FakeVirtioDriver(guest, fn, CON_BAR);
  drv.probe();
  if (init !== false) drv.init(init);
  return { guest, fn, drv, con: fn.device, errors, bufs: new Map() };
}

export const rxQueue = (port: number): number => (port === 0 ? 0 : 2 + 2 * port);
export const txQueue = (port: number): number => (port === 0 ? 1 : 3 + 2 * port);

/** Posts `n` device-writable buffers of `size` bytes on queue `q` and kicks. */
export function postBuffers(r: ConsoleRig, q: number, n: number, size = 4096): void {
  const vr = r.drv.vrings[q]!;
  for (let i = 0; i < n; i++) {
    const addr = r.guest.alloc(size);
    const head = vr.add([{ addr, len: size, write: true }]);
    r.bufs.set(`${q}:${head}`, { addr, len: size });
  }
  vr.kick();
}

/** Bytes the device put in queue `q`'s used buffers since the last call, one entry per buffer. */
export function takeBuffers(r: ConsoleRig, q: number): Uint8Array[] {
  return r.drv.vrings[q]!.takeUsed().map((u) => {
    const b = r.bufs.get(`${q}:${u.id}`)!;
    r.bufs.delete(`${q}:${u.id}`);
    return r.guest.read(b.addr, u.len);
  });
}

export interface ControlMsg { id: number; event: number; value: number; extra: string }

export function takeControl(r: ConsoleRig): ControlMsg[] {
  return takeBuffers(r, 2).map((m) => {
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    return { id: v.getUint32(0, true), event: v.getUint16(4, true), value: v.getUint16(6, true), extra: Buffer.from(m.subarray(8)).toString('latin1') };
  });
}

/** Puts device-readable bytes on queue `q` and kicks (a control message, or port data). */
export function sendBytes(r: ConsoleRig, q: number, bytes: Uint8Array): void {
  const at = r.guest.alloc(Math.max(1, bytes.length));
  r.guest.write(at, bytes);
  const vr = r.drv.vrings[q]!;
  vr.add([{ addr: at, len: bytes.length, write: false }]);
  vr.forceKick();
  vr.takeUsed();
}

export function sendControl(r: ConsoleRig, id: number, event: number, value: number): void {
  const m = new Uint8Array(8), v = new DataView(m.buffer);
  v.setUint32(0, id, true);
  v.setUint16(4, event, true);
  v.setUint16(6, value, true);
  sendBytes(r, 3, m);
}

/** Linux's bring-up: control buffers, DEVICE_READY, then PORT_READY for every port the device adds. */
export function bringUp(r: ConsoleRig): ControlMsg[] {
  postBuffers(r, 2, 16);
  sendControl(r, BAD_ID, DEVICE_READY, 1);
  const seen = takeControl(r);
  for (const m of seen.filter((x) => x.event === DEVICE_ADD)) {
    postBuffers(r, rxQueue(m.id), 4);
    sendControl(r, m.id, PORT_READY, 1);
  }
  return [...seen, ...takeControl(r)];
}
