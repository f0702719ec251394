/**
 * virtio-rng, the entropy device (device type 4, virtio 1.2 5.4): one queue of device-writable
 * buffers, each filled from the host's CSPRNG. Requests complete synchronously on the kick.
 * A chain with a device-readable buffer is a driver error (the queue carries no requests), and
 * at most MAX_FILL bytes are produced per chain so a huge buffer cannot stall the VM loop; the
 * used length tells the driver how much it got.
 */
import { randomFillSync } from 'node:crypto';
import { DEVICE_ENTROPY } from '../virtio-constants.js';
import type { VirtioDevice, VirtioDeviceHost } from '../virtio-device.js';
import { DescriptorChain } from '../descriptor-chain.js';
import { markDirtyRange } from '../guest-ram.js';
import type { GuestMemory } from '../../../hv/memory/guest-memory.js';
import { expectState, type SavedState } from '../../../common/saved-state.js';

const ID = 'vm.virtio.rng';
export const MAX_FILL = 64 * 1024;

/** Fills buf[offset, offset+size) with random bytes. */
export type RandomFill = (buf: Uint8Array, offset: number, size: number) => void;

export interface VirtioRngOptions {
  /** Entries in the request queue; default 64. */
  queueSize?: number;
  /** Source of random bytes (tests); default node:crypto randomFillSync. */
  fill?: RandomFill;
}

export class VirtioRng implements VirtioDevice {
  readonly deviceType = DEVICE_ENTROPY;
  readonly pciClassCode = 0x00ff00;
  readonly features = 0n;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = 0;
  private host: VirtioDeviceHost | undefined;
  private readonly chain = new DescriptorChain(4);
  private readonly fill: RandomFill;
  /** Bytes handed to the guest since creation (diagnostics). */
  delivered = 0;

  constructor(o: VirtioRngOptions = {}) {
    const size = o.queueSize ?? 64;
    if (!Number.isInteger(size) || size < 1 || size > 32768 || (size & (size - 1)) !== 0) throw new RangeError(`virtio-rng: queue size ${size} must be a power of two in 1..32768`);
    this.queueMaxSizes = [size];
    this.fill = o.fill ?? ((b, offset, size) => { randomFillSync(b, offset, size); });
  }

  attach(host: VirtioDeviceHost): void { this.host = host; }
  readConfig(_offset: number, data: Uint8Array): void { data.fill(0); }
  writeConfig(): void { /* no configuration space */ }
  activate(): void { /* stateless */ }
  reset(): void { /* stateless */ }

  notify(index: number): void {
    const h = this.host;
    if (h === undefined || index !== 0) return;
    const vq = h.queue(0), c = this.chain, mem = h.memory;
    let any = false;
    while (vq.pop(c)) {
      if (c.readable > 0) { h.fail(`queue 0: entropy request at head ${c.head} has a device-readable buffer`); return; }
      let left = Math.min(c.writableBytes, MAX_FILL);
      const n = left;
      for (let s = c.readable; s < c.count && left > 0; s++) {
        const k = Math.min(c.len[s]!, left);
        this.fillGuest(mem, c.addr[s]!, k);
        left -= k;
      }
      vq.push(c.head, n);
      this.delivered += n;
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  /** Random bytes straight into guest RAM (the virtqueue checked the buffer is RAM). */
  private fillGuest(mem: GuestMemory, addr: number, len: number): void {
    while (len > 0) {
      const i = mem.regionIndex(addr);
      if (i < 0) return;
      const r = mem.regions[i]!, off = addr - r.base, n = Math.min(len, r.size - off);
      this.fill(r.u8, off, n);
      markDirtyRange(mem, i, off, n);
      addr += n;
      len -= n;
    }
  }

  save(): SavedState { return { id: ID, version: 1, data: {} }; }
  restore(state: SavedState): void { expectState(state, ID, 1); }
}
