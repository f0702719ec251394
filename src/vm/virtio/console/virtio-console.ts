/**
 * virtio-console (device type 3, virtio 1.2 5.3) with VIRTIO_CONSOLE_F_MULTIPORT: port 0 is a
 * console (hvc0 in Linux), further ports are named byte channels (/dev/virtio-ports/NAME), by
 * default one for the guest agent, "org.viridian.agent.0". EMERG_WRITE is offered too: a byte
 * written to emerg_wr goes to port 0's listener.
 *
 * The control conversation Linux's virtio_console holds: the driver sends DEVICE_READY; the
 * device answers DEVICE_ADD for every port; the driver sends PORT_READY per port; the device
 * answers CONSOLE_PORT (port 0), PORT_NAME (named ports) and PORT_OPEN (if the host end is
 * open); the driver reports its end with PORT_OPEN. Messages for the guest wait (bounded) until
 * it posts control receive buffers. A driver without MULTIPORT gets port 0 alone, open at once.
 *
 * Host data waits in each port's ring (console-port.ts) until the guest has the port open;
 * guest data goes to the port's listener as it is kicked (discarded while the host end is closed).
 */
import type { SavedState } from '../../../common/saved-state.js';
import { DescriptorChain } from '../descriptor-chain.js';
import { DEVICE_CONSOLE, featureBit } from '../virtio-constants.js';
import type { VirtioDevice, VirtioDeviceHost } from '../virtio-device.js';
import { ConsolePort, type ConsolePortOwner } from './console-port.js';
import {
  AGENT_PORT_NAME, CFG_EMERG_WR, CFG_MAX_NR_PORTS, CONSOLE_CONFIG_SIZE, CONSOLE_F_EMERG_WRITE, CONSOLE_F_MULTIPORT,
  CONTROL_HEADER, CONTROL_RX_QUEUE, CONTROL_TX_QUEUE, controlMessage, EV_CONSOLE_PORT, EV_DEVICE_ADD, EV_DEVICE_READY,
  EV_PORT_NAME, EV_PORT_OPEN, EV_PORT_READY, MAX_PORTS, portRxQueue, portTxQueue, queuePort,
} from './console-protocol.js';
import { restoreConsole, saveConsole } from './console-state.js';

export interface ConsolePortSpec {
  /** Port name the guest sees (printable ASCII, no '/'); consoles need none. */
  name?: string;
  /** Make this port a console (only port 0 can be). */
  console?: boolean;
}

export interface VirtioConsoleOptions {
  /** Default: a console and the agent port [{ console: true }, { name: AGENT_PORT_NAME }]. */
  ports?: ConsolePortSpec[];
  /** Entries per queue; default 64. */
  queueSize?: number;
  /** Bytes each port buffers toward the guest; default 64 KiB. */
  portBufferBytes?: number;
  /** Called after host-side events touched the rings: kick the VM loop. */
  wake?: () => void;
}

/** Control messages kept for a driver that posts no control buffers, before new ones are dropped. */
const MAX_CONTROL_BACKLOG = 1024;
/** Guest bytes taken from one transmit chain; the rest is skipped (Linux sends at most a page or so). */
const MAX_TX_CHAIN = 1 << 20;

function checkSpecs(specs: ConsolePortSpec[]): void {
  if (specs.length < 1 || specs.length > MAX_PORTS) throw new RangeError(`virtio-console: ${specs.length} ports; 1..${MAX_PORTS} are supported`);
  const names = new Set<string>();
  specs.forEach((s, i) => {
    if (s.console === true && i !== 0) throw new RangeError(`virtio-console: port ${i} cannot be a console; only port 0 can`);
    if (s.name === undefined) { if (s.console !== true) throw new RangeError(`virtio-console: port ${i} needs a name or console: true`); return; }
    if (!/^[\x21-\x7e]{1,127}$/.test(s.name) || s.name.includes('/')) throw new RangeError(`virtio-console: port name '${s.name}' must be 1..127 printable ASCII characters without spaces or '/'`);
    if (names.has(s.name)) throw new RangeError(`virtio-console: port name '${s.name}' is used twice`);
    names.add(s.name);
  });
}

export class VirtioConsole implements VirtioDevice, ConsolePortOwner {
  readonly deviceType = DEVICE_CONSOLE;
  readonly pciClassCode = 0x078000;
  readonly features = featureBit(CONSOLE_F_MULTIPORT) | featureBit(CONSOLE_F_EMERG_WRITE);
  readonly queueMaxSizes: readonly number[];
  readonly configSize = CONSOLE_CONFIG_SIZE;
  readonly ports: readonly ConsolePort[];
  /** Control messages for the guest, oldest first. */
  readonly controlOut: Uint8Array[] = [];
  /** Control messages dropped because the guest posted no buffers for them. */
  controlDropped = 0;
  multiport = false;
  private hostRef: VirtioDeviceHost | undefined;
  private readonly chain = new DescriptorChain(4);
  private readonly scratch = new Uint8Array(64 * 1024);
  private readonly header = new Uint8Array(CONTROL_HEADER);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly config = new Uint8Array(CONSOLE_CONFIG_SIZE);
  private readonly emerg = new Uint8Array(1);
  private readonly wake: (() => void) | undefined;
  /** Bumped by reset(): work scheduled before it must not run after it. */
  private epoch = 0;

  constructor(o: VirtioConsoleOptions = {}) {
    const specs = o.ports ?? [{ console: true }, { name: AGENT_PORT_NAME }];
    checkSpecs(specs);
    const size = o.queueSize ?? 64, buf = o.portBufferBytes ?? 64 * 1024;
    if (!Number.isInteger(size) || size < 2 || size > 32768 || (size & (size - 1)) !== 0) throw new RangeError(`virtio-console: queue size ${size} must be a power of two in 2..32768`);
    if (!Number.isInteger(buf) || buf < 1 || buf > 1 << 24) throw new RangeError(`virtio-console: port buffer ${buf} must be 1..16 MiB`);
    this.ports = specs.map((s, i) => new ConsolePort(i, s.name, s.console === true, buf, this));
    this.queueMaxSizes = new Array<number>(2 * specs.length + 2).fill(size);
    this.wake = o.wake;
  }

  private get host(): VirtioDeviceHost {
    if (this.hostRef === undefined) throw new Error('virtio-console used before it was attached to a transport');
    return this.hostRef;
  }

  port(id: number): ConsolePort {
    const p = this.ports[id];
    if (p === undefined) throw new RangeError(`virtio-console has no port ${id}`);
    return p;
  }

  portByName(name: string): ConsolePort | undefined { return this.ports.find((p) => p.name === name); }

  attach(host: VirtioDeviceHost): void { this.hostRef = host; }

  readConfig(offset: number, data: Uint8Array): void {
    new DataView(this.config.buffer).setUint32(CFG_MAX_NR_PORTS, this.ports.length, true);
    data.set(this.config.subarray(offset, offset + data.length));
  }

  writeConfig(offset: number, data: Uint8Array): void {
    // emerg_wr: the byte in its low 8 bits goes out on port 0, even before the driver is ready.
    if (offset > CFG_EMERG_WR || offset + data.length <= CFG_EMERG_WR) return;
    this.emerg[0] = data[CFG_EMERG_WR - offset]!;
    this.fromGuest(this.ports[0]!, this.emerg);
  }

  activate(): void {
    this.multiport = (this.host.negotiatedFeatures & featureBit(CONSOLE_F_MULTIPORT)) !== 0n;
    if (!this.multiport) { this.ports[0]!.ready = true; this.ports[0]!.setGuestOpen(true); }
  }

  notify(index: number): void {
    if (index === CONTROL_RX_QUEUE || index === CONTROL_TX_QUEUE) {
      if (!this.multiport) return;
      if (index === CONTROL_TX_QUEUE) this.controlFromGuest();
      this.controlToGuest();
      return;
    }
    const q = queuePort(index);
    if (q === undefined || (q.port > 0 && !this.multiport)) return;
    const p = this.ports[q.port]!;
    if (q.rx) this.dataToGuest(p); else this.dataFromGuest(p);
  }

  // ---- data ----

  private dataToGuest(p: ConsolePort): void {
    const h = this.host;
    if (!h.live || !p.ready || !p.guestOpen || p.pendingBytes === 0) return;
    const vq = h.queue(portRxQueue(p.id)), c = this.chain;
    let any = false;
    while (p.pendingBytes > 0 && vq.pop(c)) {
      if (c.readable > 0) { h.fail(`queue ${vq.index}: receive buffer at head ${c.head} of port ${p.id} has a device-readable part`); return; }
      vq.push(c.head, p.drainInto(c, h.memory));
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  private dataFromGuest(p: ConsolePort): void {
    const h = this.host, vq = h.queue(portTxQueue(p.id)), c = this.chain;
    let any = false;
    while (vq.pop(c)) {
      if (c.writableBytes > 0) { h.fail(`queue ${vq.index}: transmit buffer at head ${c.head} of port ${p.id} has a device-writable part`); return; }
      const total = Math.min(c.readableBytes, MAX_TX_CHAIN);
      for (let off = 0; off < total;) {
        const n = Math.min(this.scratch.length, total - off);
        const part = this.scratch.subarray(0, n);
        c.readFrom(h.memory, off, part);
        this.fromGuest(p, part);
        off += n;
      }
      p.stats.discarded += c.readableBytes - total;
      vq.push(c.head, 0);
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  private fromGuest(p: ConsolePort, bytes: Uint8Array): void {
    const l = p.listener;
    if (!p.hostOpen || l?.data === undefined) { p.stats.discarded += bytes.length; return; }
    p.stats.fromGuest += bytes.length;
    l.data(bytes);
  }

  // ---- control ----

  private controlFromGuest(): void {
    const h = this.host, vq = h.queue(CONTROL_TX_QUEUE), c = this.chain;
    let any = false;
    while (vq.pop(c)) {
      if (c.readableBytes < CONTROL_HEADER) { h.fail(`queue ${CONTROL_TX_QUEUE}: control message at head ${c.head} has ${c.readableBytes} bytes, less than its ${CONTROL_HEADER}-byte header`); return; }
      c.readFrom(h.memory, 0, this.header);
      vq.push(c.head, 0);
      any = true;
      const v = this.headerView;
      this.onControl(v.getUint32(0, true), v.getUint16(4, true), v.getUint16(6, true));
    }
    if (any) vq.notifyDriver();
  }

  private onControl(id: number, event: number, value: number): void {
    if (event === EV_DEVICE_READY) {
      if (value === 1) for (const p of this.ports) this.sendControl(controlMessage(p.id, EV_DEVICE_ADD, 1));
      return;
    }
    const p = this.ports[id];
    if (p === undefined) return; // Linux ignores messages for ports it does not know; so does the device
    if (event === EV_PORT_READY) {
      p.ready = value === 1;
      if (!p.ready) return;
      if (p.isConsole) this.sendControl(controlMessage(p.id, EV_CONSOLE_PORT, 1));
      if (p.name !== undefined) this.sendControl(controlMessage(p.id, EV_PORT_NAME, 0, Buffer.from(p.name, 'latin1')));
      if (p.hostOpen) this.sendControl(controlMessage(p.id, EV_PORT_OPEN, 1));
    } else if (event === EV_PORT_OPEN) {
      p.setGuestOpen(value !== 0);
      this.dataToGuest(p);
    }
  }

  private sendControl(m: Uint8Array): void {
    if (this.controlOut.length >= MAX_CONTROL_BACKLOG) { this.controlDropped++; return; }
    this.controlOut.push(m);
  }

  private controlToGuest(): void {
    const h = this.host;
    if (!h.live || this.controlOut.length === 0) return;
    const vq = h.queue(CONTROL_RX_QUEUE), c = this.chain;
    let any = false;
    while (this.controlOut.length > 0 && vq.pop(c)) {
      if (c.readable > 0 || c.writableBytes < CONTROL_HEADER) { h.fail(`queue ${CONTROL_RX_QUEUE}: control buffer at head ${c.head} must be device-writable and at least ${CONTROL_HEADER} bytes`); return; }
      const m = this.controlOut.shift()!;
      const n = Math.min(m.length, c.writableBytes);
      c.writeTo(h.memory, 0, n === m.length ? m : m.subarray(0, n));
      vq.push(c.head, n);
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  // ---- the ports' side (ConsolePortOwner) ----

  portHasData(p: ConsolePort): void {
    if (this.hostRef === undefined) return;
    this.dataToGuest(p);
    this.wake?.();
  }

  portHostOpenChanged(p: ConsolePort): void {
    const h = this.hostRef;
    if (h === undefined || !this.multiport || !p.ready) return;
    this.sendControl(controlMessage(p.id, EV_PORT_OPEN, p.hostOpen ? 1 : 0));
    if (h.live) this.controlToGuest();
    this.wake?.();
  }

  reset(): void {
    this.epoch++;
    this.multiport = false;
    this.controlOut.length = 0;
    for (const p of this.ports) { p.ready = false; p.setGuestOpen(false); p.discardPending(); }
  }

  save(): SavedState { return saveConsole(this); }

  restore(state: SavedState): void {
    const apply = restoreConsole(this, state);
    this.reset();
    this.multiport = (this.host.negotiatedFeatures & featureBit(CONSOLE_F_MULTIPORT)) !== 0n;
    apply();
    // Deliver what waits once the whole machine is restored: no interrupt from inside a restore.
    const epoch = this.epoch;
    setImmediate(() => {
      if (epoch !== this.epoch || !this.host.live) return;
      this.controlToGuest();
      for (const p of this.ports) this.dataToGuest(p);
      this.wake?.();
    });
  }

  /** During a restore: the guest was told `seen` about the host end; queue a correction if this host differs. */
  reconcileHostOpen(p: ConsolePort, seen: boolean): void {
    if (seen !== p.hostOpen) this.sendControl(controlMessage(p.id, EV_PORT_OPEN, p.hostOpen ? 1 : 0));
  }
}
