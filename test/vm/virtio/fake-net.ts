/**
 * Helpers for virtio-net tests: a guest with a virtio-net function driven the way Linux's
 * virtio_net drives it (receive buffers posted one descriptor each with MRG_RXBUF, a header and
 * the frame in transmit chains, control commands as header / data / ack), frame reassembly from
 * the used ring following num_buffers, and Ethernet frame builders.
 */
import type { NetBackend } from '../../../src/vm/net/net-backend.js';
import { createVirtioNet } from '../../../src/vm/virtio/create-virtio.js';
import type { VirtioNet, VirtioNetOptions } from '../../../src/vm/virtio/net/virtio-net.js';
import type { VirtioPciFunction } from '../../../src/vm/virtio/virtio-pci-function.js';
import { Guest, until } from './fake-guest.js';
import { FakeVirtioDriver, type InitOptions } from './fake-driver.js';
import type { Buf } from './fake-vring.js';
import { pattern } from './fake-blk.js';

export const NET_BAR = 0xfe100000;
export const MAC_A = '52:54:00:aa:00:01';
export const MAC_B = '52:54:00:bb:00:02';
export const HDR = 12;
export const F_MTU = 3, F_MAC = 5, F_MRG_RXBUF = 15, F_STATUS = 16, F_CTRL_VQ = 17, F_CTRL_RX = 18, F_GUEST_ANNOUNCE = 21, F_CTRL_MAC_ADDR = 23;
export const F_CSUM = 0, F_HOST_TSO4 = 11;

export interface NetRig {
  guest: Guest;
  fn: VirtioPciFunction<VirtioNet>;
  drv: FakeVirtioDriver;
  net: VirtioNet;
  errors: string[];
  /** Receive buffers by head: address and size. */
  rxBufs: Map<number, { addr: number; len: number }>;
  /** Used receive entries taken but not yet assembled into a whole frame. */
  rxPartial: { id: number; len: number }[];
}

export function netRig(backend: NetBackend, opts: Partial<VirtioNetOptions> = {}, init: InitOptions | false = {}, guest = new Guest(), bar = NET_BAR, msiBase?: number): NetRig {
  const errors: string[] = [];
  const fn = createVirtioNet({ mac: MAC_A, backend, memory: guest.memory, mmio: guest.mmio, msi: guest.msi, name: 'vnet', onError: (m) => errors.push(m), ...opts });
  const drv = new FakeVirtioDriver(guest, fn, bar, msiBase);
  drv.probe();
  if (init !== false) drv.init(init);
  return { guest, fn, drv, net: fn.device, errors, rxBufs: new Map(), rxPartial: [] };
}

/** Posts `count` receive buffers of `size` bytes (one descriptor each, or `parts` descriptors) and kicks. */
export function postRx(r: NetRig, count: number, size = 1526, parts = 1): void {
  const vr = r.drv.vrings[0]!;
  for (let i = 0; i < count; i++) {
    const addr = r.guest.alloc(size);
    const bufs: Buf[] = [];
    const step = Math.ceil(size / parts);
    for (let o = 0; o < size; o += step) bufs.push({ addr: addr + o, len: Math.min(step, size - o), write: true });
    const head = vr.add(bufs);
    r.rxBufs.set(head, { addr, len: size });
  }
  vr.kick();
}

export interface RxFrame { frame: Uint8Array; numBuffers: number; header: Uint8Array }

/** Whole frames that have arrived in the receive used ring (following num_buffers). */
export function takeRx(r: NetRig): RxFrame[] {
  r.rxPartial.push(...r.drv.vrings[0]!.takeUsed());
  const out: RxFrame[] = [];
  for (;;) {
    const first = r.rxPartial[0];
    if (first === undefined) break;
    const b0 = r.rxBufs.get(first.id)!;
    const header = r.guest.read(b0.addr, HDR);
    const n = header[10]! | (header[11]! << 8);
    if (r.rxPartial.length < n) break;
    const parts = r.rxPartial.splice(0, Math.max(n, 1));
    const chunks = parts.map((p, k) => { const b = r.rxBufs.get(p.id)!; return k === 0 ? r.guest.read(b.addr + HDR, p.len - HDR) : r.guest.read(b.addr, p.len); });
    const frame = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let at = 0;
    for (const c of chunks) { frame.set(c, at); at += c.length; }
    for (const p of parts) r.rxBufs.delete(p.id);
    out.push({ frame, numBuffers: n, header });
  }
  return out;
}

/** Waits until `count` whole frames have arrived; returns them. */
export async function receive(r: NetRig, count: number, what = `${count} frames`): Promise<RxFrame[]> {
  const got: RxFrame[] = [];
  await until(() => { got.push(...takeRx(r)); return got.length >= count; }, what);
  return got;
}

export interface TxOptions { header?: Uint8Array; split?: number; indirect?: boolean; kick?: boolean }

/** Puts one packet (header + frame) in the transmit queue and kicks; returns its head. */
export function transmit(r: NetRig, frame: Uint8Array, o: TxOptions = {}): number {
  const g = r.guest, hdr = o.header ?? new Uint8Array(HDR);
  const at = g.alloc(hdr.length + frame.length);
  g.write(at, hdr);
  g.write(at + hdr.length, frame);
  const total = hdr.length + frame.length, step = o.split ?? total;
  const bufs: Buf[] = [];
  for (let p = 0; p < total; p += step) bufs.push({ addr: at + p, len: Math.min(step, total - p), write: false });
  const vr = r.drv.vrings[1]!;
  const head = vr.add(bufs, o.indirect === true);
  if (o.kick !== false) vr.kick();
  return head;
}

/** Sends a control command (class, command, data) and returns the ack byte. */
export function control(r: NetRig, cls: number, cmd: number, data: Uint8Array = new Uint8Array(0)): number {
  const g = r.guest, vr = r.drv.vrings[2]!;
  const at = g.alloc(2 + data.length + 1);
  g.write(at, Uint8Array.of(cls, cmd));
  g.write(at + 2, data);
  g.write(at + 2 + data.length, Uint8Array.of(0xee));
  const bufs: Buf[] = [{ addr: at, len: 2, write: false }];
  if (data.length > 0) bufs.push({ addr: at + 2, len: data.length, write: false });
  bufs.push({ addr: at + 2 + data.length, len: 1, write: true });
  vr.add(bufs);
  vr.forceKick();
  const used = vr.takeUsed();
  if (used.length !== 1) throw new Error(`control command: ${used.length} used entries`);
  return g.read(at + 2 + data.length, 1)[0]!;
}

export function macOf(text: string): Uint8Array { return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16))); }

/** An Ethernet frame: destination, source, EtherType 0x88b5 (local experimental), then `payload` bytes. */
export function ethFrame(dst: string, src: string, payload: number, seed = 1): Uint8Array {
  const f = new Uint8Array(14 + payload);
  f.set(macOf(dst), 0);
  f.set(macOf(src), 6);
  f[12] = 0x88; f[13] = 0xb5;
  f.set(pattern(payload, seed), 14);
  return f;
}

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
