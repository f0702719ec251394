/**
 * virtio-net (device type 1, virtio 1.2 5.1): one NIC with a MAC address, a receive and a
 * transmit queue, an optional control queue, and a host-side NetBackend that carries the frames.
 *
 * Offered: MAC, STATUS (link from the backend), MRG_RXBUF, MTU (when one is configured), and with
 * the control queue CTRL_RX, CTRL_MAC_ADDR and GUEST_ANNOUNCE. No checksum or segmentation
 * offloads: the guest hands over complete frames, which is what a byte-stream peer (another
 * Viridian, QEMU's stream netdev) expects, so nothing has to be computed on the way out.
 *
 * Transmit runs on the kick, synchronously: each packet is checked (12-byte header, no
 * device-writable part, a frame of MIN_FRAME..MAX_FRAME bytes) and given to the backend, which
 * copies it. While the backend is congested, packets stay in the ring; the backend's writable()
 * resumes transmission. Bad frames and frames while the link is down are dropped and counted.
 * Receive is in net-receiver.ts, the filter and control commands in net-control.ts.
 *
 * Frames from the backend arrive on the event loop, outside any vCPU exit: the driver is
 * notified once per batch (a microtask), then `wake` tells the VM loop to run now.
 */
import { expectState, SavedStateError, stateBool, stateBytes, type SavedState } from '../../../common/saved-state.js';
import { MAX_FRAME, MIN_FRAME, type NetBackend, type NetFrameSink } from '../../net/net-backend.js';
import { formatMac, MAC_BYTES, macBytes } from '../../net/mac-address.js';
import { DescriptorChain } from '../descriptor-chain.js';
import { DEVICE_NET } from '../virtio-constants.js';
import type { VirtioDevice, VirtioDeviceHost } from '../virtio-device.js';
import {
  CFG_MAC, CFG_MAX_PAIRS, CFG_MTU, CFG_STATUS, CTRL_ERR, CTRL_QUEUE, GSO_NONE, has, HDR_F_NEEDS_CSUM, MIN_MTU, NEEDS_CTRL_VQ,
  NET_CONFIG_SIZE, NET_F_CTRL_VQ, NET_F_GUEST_ANNOUNCE, NET_F_MRG_RXBUF, NET_F_STATUS, NET_HDR_SIZE, NET_S_ANNOUNCE,
  NET_S_LINK_UP, netFeatures, RX_QUEUE, TX_QUEUE,
} from './net-config.js';
import { MAX_CTRL_COMMAND, RxFilter } from './net-control.js';
import { NetReceiver } from './net-receiver.js';
import { restoreFilter, saveFilter } from './net-state.js';

const ID = 'vm.virtio.net';

export interface VirtioNetOptions {
  /** The NIC's address: "52:54:00:12:34:56" or six bytes; must be unicast. */
  mac: Uint8Array | string;
  backend: NetBackend;
  /** Entries in the receive and transmit queues, a power of two; default 256. */
  queueSize?: number;
  /** Offer VIRTIO_NET_F_MTU with this MTU (68..65535); default: not offered (the guest picks). */
  mtu?: number;
  /** Offer the control queue (filters, MAC change, announce); default true. */
  controlQueue?: boolean;
  /** Frames kept while the guest has no receive buffers; default 256 (and at most 4 MiB). */
  rxBacklogFrames?: number;
  /** Called after host-side events touched the rings (frames arrived, link changed): kick the VM loop. */
  wake?: () => void;
}

export interface NetTxStats { txFrames: number; txBytes: number; txDroppedNoLink: number; txDroppedInvalid: number }

export class VirtioNet implements VirtioDevice, NetFrameSink {
  readonly deviceType = DEVICE_NET;
  readonly pciClassCode = 0x020000;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = NET_CONFIG_SIZE;
  readonly backend: NetBackend;
  readonly tx: NetTxStats = { txFrames: 0, txBytes: 0, txDroppedNoLink: 0, txDroppedInvalid: 0 };
  readonly rx: NetReceiver;
  readonly filter = new RxFilter();
  /** The address the NIC was created with (the driver may change the active one). */
  readonly permanentMac: Uint8Array;
  private readonly config = new Uint8Array(NET_CONFIG_SIZE);
  private readonly configView = new DataView(this.config.buffer);
  private readonly mtu: number;
  private hostRef: VirtioDeviceHost | undefined;
  private negotiated = 0n;
  private readonly txChain = new DescriptorChain(4);
  private readonly ctrlChain = new DescriptorChain(4);
  private readonly txFrame = new Uint8Array(MAX_FRAME);
  private readonly txHeader = new Uint8Array(NET_HDR_SIZE);
  private readonly ctrlCmd = new Uint8Array(MAX_CTRL_COMMAND);
  private readonly ack = new Uint8Array(1);
  private flushQueued = false;
  /** Bumped by reset(): work scheduled before it must not run after it. */
  private epoch = 0;
  private readonly wake: (() => void) | undefined;
  private readonly flushRx = (): void => { this.flushQueued = false; this.notifyRx(); this.wake?.(); };

  constructor(o: VirtioNetOptions) {
    const size = o.queueSize ?? 256;
    if (!Number.isInteger(size) || size < 2 || size > 32768 || (size & (size - 1)) !== 0) throw new RangeError(`virtio-net: queue size ${size} must be a power of two in 2..32768`);
    if (o.mtu !== undefined && (!Number.isInteger(o.mtu) || o.mtu < MIN_MTU || o.mtu > 65535)) throw new RangeError(`virtio-net: MTU ${o.mtu} must be in ${MIN_MTU}..65535`);
    const backlog = o.rxBacklogFrames ?? 256;
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65536) throw new RangeError(`virtio-net: receive backlog ${backlog} must be 1..65536 frames`);
    this.permanentMac = macBytes(o.mac, 'virtio-net MAC address');
    this.backend = o.backend;
    this.mtu = o.mtu ?? 0;
    const ctrl = o.controlQueue ?? true;
    this.features = netFeatures({ mtu: o.mtu !== undefined, ctrl });
    this.queueMaxSizes = ctrl ? [size, size, 64] : [size, size];
    this.rx = new NetReceiver(size, backlog, 4 << 20);
    this.wake = o.wake;
    this.filter.reset(this.permanentMac);
    this.backend.attach(this);
  }

  private get host(): VirtioDeviceHost {
    if (this.hostRef === undefined) throw new Error('virtio-net used before it was attached to a transport');
    return this.hostRef;
  }

  /** The active address (the driver may have set another with VIRTIO_NET_CTRL_MAC_ADDR_SET). */
  get mac(): string { return formatMac(this.filter.mac); }
  get linkUp(): boolean { return this.backend.linkUp; }

  attach(host: VirtioDeviceHost): void { this.hostRef = host; this.rx.attach(host); }

  readConfig(offset: number, data: Uint8Array): void {
    const c = this.config, v = this.configView;
    c.set(this.filter.mac, CFG_MAC);
    v.setUint16(CFG_STATUS, (this.backend.linkUp ? NET_S_LINK_UP : 0) | (this.filter.announcePending ? NET_S_ANNOUNCE : 0), true);
    v.setUint16(CFG_MAX_PAIRS, 1, true);
    v.setUint16(CFG_MTU, this.mtu, true);
    data.set(c.subarray(offset, offset + data.length));
  }

  /** The modern interface has nothing writable here (the MAC is changed through the control queue). */
  writeConfig(): void { /* read-only */ }

  checkFeatures(f: bigint): string | undefined {
    if (!has(f, NET_F_CTRL_VQ)) for (const b of NEEDS_CTRL_VQ) if (has(f, b)) return `feature bit ${b} needs VIRTIO_NET_F_CTRL_VQ`;
    return undefined;
  }

  activate(): void {
    this.negotiated = this.host.negotiatedFeatures;
    this.rx.mergeable = has(this.negotiated, NET_F_MRG_RXBUF);
  }

  notify(index: number): void {
    if (index === TX_QUEUE) this.transmit();
    else if (index === RX_QUEUE) { this.rx.drain(); this.notifyRx(); }
    else if (index === CTRL_QUEUE && has(this.negotiated, NET_F_CTRL_VQ)) this.control();
  }

  private transmit(): void {
    const h = this.host, vq = h.queue(TX_QUEUE), c = this.txChain, b = this.backend;
    let any = false;
    while (!b.congested && vq.pop(c)) {
      if (c.writableBytes > 0) { h.fail(`queue ${TX_QUEUE}: transmit packet at head ${c.head} has a device-writable part`); break; }
      if (c.readableBytes < NET_HDR_SIZE) { h.fail(`queue ${TX_QUEUE}: transmit packet at head ${c.head} has ${c.readableBytes} bytes, less than the ${NET_HDR_SIZE}-byte header`); break; }
      this.sendOne(c);
      vq.push(c.head, 0);
      any = true;
    }
    b.flush();
    if (any) vq.notifyDriver();
  }

  private sendOne(c: DescriptorChain): void {
    const h = this.host, len = c.readableBytes - NET_HDR_SIZE;
    c.readFrom(h.memory, 0, this.txHeader);
    // No offloads were offered: a packet asking for one cannot be sent as it is.
    if (len < MIN_FRAME || len > MAX_FRAME || (this.txHeader[0]! & HDR_F_NEEDS_CSUM) !== 0 || this.txHeader[1] !== GSO_NONE) { this.tx.txDroppedInvalid++; return; }
    if (!this.backend.linkUp) { this.tx.txDroppedNoLink++; return; }
    const frame = this.txFrame.subarray(0, len);
    c.readFrom(h.memory, NET_HDR_SIZE, frame);
    this.backend.send(frame);
    this.tx.txFrames++;
    this.tx.txBytes += len;
  }

  private control(): void {
    const h = this.host, vq = h.queue(CTRL_QUEUE), c = this.ctrlChain;
    let any = false;
    while (vq.pop(c)) {
      if (c.readableBytes < 2 || c.writableBytes < 1) { h.fail(`queue ${CTRL_QUEUE}: control command at head ${c.head} needs 2 readable bytes and 1 writable ack byte (has ${c.readableBytes} and ${c.writableBytes})`); return; }
      let status = CTRL_ERR;
      if (c.readableBytes <= MAX_CTRL_COMMAND) {
        c.readFrom(h.memory, 0, this.ctrlCmd.subarray(0, c.readableBytes));
        status = this.filter.execute(this.ctrlCmd, c.readableBytes, this.negotiated);
      }
      this.ack[0] = status;
      c.writeTo(h.memory, 0, this.ack);
      vq.push(c.head, 1);
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  // ---- the backend's side (NetFrameSink) ----

  receiveFrame(frame: Uint8Array): void {
    const h = this.hostRef;
    if (h === undefined || !h.live) { this.rx.stats.rxDroppedNotReady++; return; }
    if (frame.length < MIN_FRAME) return;
    if (!this.filter.accepts(frame)) { this.rx.stats.rxFiltered++; return; }
    this.rx.arrive(frame);
    if (this.rx.pendingNotify && !this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushRx); }
  }

  linkChanged(): void {
    const h = this.hostRef;
    if (h === undefined || !has(this.negotiated, NET_F_STATUS)) return;
    h.configChanged();
    this.wake?.();
  }

  writable(): void {
    const h = this.hostRef;
    if (h === undefined || !h.live) return;
    this.transmit();
    this.wake?.();
  }

  private notifyRx(): void {
    if (!this.rx.pendingNotify) return;
    this.rx.pendingNotify = false;
    this.host.queue(RX_QUEUE).notifyDriver();
  }

  // ---- host API ----

  /**
   * Asks the guest to announce itself (gratuitous ARP / unsolicited neighbour advertisements),
   * e.g. after a live migration moved it behind another port. False when the driver did not
   * negotiate VIRTIO_NET_F_GUEST_ANNOUNCE or is not running.
   */
  announce(): boolean {
    const h = this.hostRef;
    if (h === undefined || !h.live || !has(this.negotiated, NET_F_GUEST_ANNOUNCE)) return false;
    this.filter.announcePending = true;
    h.configChanged();
    this.wake?.();
    return true;
  }

  reset(): void {
    this.epoch++;
    this.negotiated = 0n;
    this.rx.reset();
    this.rx.mergeable = false;
    this.filter.reset(this.permanentMac);
    this.flushQueued = false;
  }

  save(): SavedState {
    return {
      id: ID, version: 1,
      data: { permanentMac: this.permanentMac.slice(), filter: saveFilter(this.filter), rxHeld: this.rx.heldHeads(), linkUp: this.backend.linkUp },
    };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const perm = stateBytes(ID, d, 'permanentMac', MAC_BYTES);
    if (formatMac(perm) !== formatMac(this.permanentMac)) throw new SavedStateError(ID, `saved NIC has MAC ${formatMac(perm)}, this one ${formatMac(this.permanentMac)}`);
    const held = d['rxHeld'], max = this.queueMaxSizes[RX_QUEUE]!;
    if (!(held instanceof Uint32Array) || held.length > max) throw new SavedStateError(ID, `field 'rxHeld' must be at most ${max} 32-bit heads`);
    if (held.some((head, i) => head >= max || held.indexOf(head) !== i)) throw new SavedStateError(ID, `field 'rxHeld' names a head past ${max - 1} or one head twice`);
    const linkSeen = stateBool(ID, d, 'linkUp');
    const applyFilter = restoreFilter(ID, d);
    this.reset();
    applyFilter(this.filter);
    this.activate();
    if (held.length > 0) this.rx.retake(held);
    if (linkSeen === this.backend.linkUp) return;
    // This backend's link differs from the one the guest last saw: tell it once the whole
    // machine is restored (no interrupt from inside a restore).
    const epoch = this.epoch;
    setImmediate(() => { if (epoch === this.epoch && this.host.live) this.linkChanged(); });
  }
}
