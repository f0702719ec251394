/**
 * The contract between a virtio device model (blk, rng, and later net, console, balloon) and the
 * transport that hosts it. The transport owns everything generic — feature negotiation, device
 * status, queue configuration, interrupts, notifications, reset — and the device only sees its
 * queues, its configuration space and its own feature bits.
 *
 * Lifecycle: attach() once; activate() when the driver sets DRIVER_OK (queues programmed and
 * features final); notify() for each queue kick while live; reset() when the driver writes 0 to
 * device_status or the device is restored into a new state. After host.fail() the device must
 * stop touching its queues until reset() — the transport stops delivering notify() calls and
 * Virtqueue.pop() returns false, so a device that only reacts to those needs nothing extra.
 *
 * restore() runs after the transport has restored its own state and the queues: a device saved
 * with DRIVER_OK set must bring itself back to the activated state there, and re-take any chains
 * it held with Virtqueue.retake().
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { Saveable } from '../../common/saved-state.js';
import type { Virtqueue } from './virtqueue.js';

export interface VirtioDeviceHost {
  readonly memory: GuestMemory;
  readonly queueCount: number;
  queue(index: number): Virtqueue;
  /** Features both sides agreed on; 0n before FEATURES_OK. */
  readonly negotiatedFeatures: bigint;
  /** True while the device may consume buffers: DRIVER_OK, no error, bus mastering on. */
  readonly live: boolean;
  /** Device-specific configuration changed: bumps config_generation, sends the config interrupt. */
  configChanged(): void;
  /** Unrecoverable guest error: DEVICE_NEEDS_RESET, config interrupt, processing stops. */
  fail(reason: string): void;
}

export interface VirtioDevice extends Saveable {
  /** Virtio device ID (spec 5): 1 net, 2 block, 3 console, 4 entropy, 5 balloon... */
  readonly deviceType: number;
  /** PCI class code (class << 16 | subclass << 8 | interface). */
  readonly pciClassCode: number;
  /** Device-specific feature bits offered; the transport adds the ring and version bits. */
  readonly features: bigint;
  /** Maximum size of each queue (powers of two); the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device-specific configuration space (0 = none, no capability is exposed). */
  readonly configSize: number;

  attach(host: VirtioDeviceHost): void;
  /** Guest reads of the device configuration space; offset + data.length <= configSize. */
  readConfig(offset: number, data: Uint8Array): void;
  writeConfig(offset: number, data: Uint8Array): void;
  /** At FEATURES_OK: a sentence saying why the accepted features cannot work, or undefined. */
  checkFeatures?(features: bigint): string | undefined;
  /** DRIVER_OK was set: queues and features are final. */
  activate(): void;
  /** The driver kicked queue `index`. */
  notify(index: number): void;
  /** Back to the power-on state; work still in flight must never touch guest memory afterwards. */
  reset(): void;
  /** Resolves once asynchronous work in flight has finished (before a save that hands the backend over). */
  drain?(): Promise<void>;
}
