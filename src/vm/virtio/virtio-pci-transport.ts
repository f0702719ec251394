/**
 * The virtio-over-PCI transport, modern interface only (virtio 1.2, 4.1): the registers in the
 * device's memory BAR (common configuration, ISR, device configuration, notifications, MSI-X
 * table and PBA), feature negotiation, the device status state machine, queue configuration and
 * interrupt delivery (MSI-X per queue and for configuration changes, INTx through the ISR when
 * MSI-X is off). It hosts any VirtioDevice.
 *
 * Errors the guest causes never throw: they set DEVICE_NEEDS_RESET (sticky until the driver
 * writes 0 to device_status), send a configuration interrupt once DRIVER_OK is set, and stop all
 * processing of this device. `failure` keeps the first reason for diagnostics.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { MmioDevice } from '../bus/mmio-bus.js';
import type { MsixCapability } from '../pci/pci-msix.js';
import type { PciFunction } from '../pci/pci-function.js';
import {
  F_RING_EVENT_IDX, F_RING_INDIRECT_DESC, F_VERSION_1, featureBit, ISR_CONFIG, ISR_QUEUE, NO_VECTOR,
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FAILED, STATUS_FEATURES_OK, STATUS_NEEDS_RESET,
} from './virtio-constants.js';
import { readCommonConfig, writeCommonConfig, type CommonConfigTarget } from './common-config.js';
import { COMMON_CFG_SIZE, NOTIFY_MULTIPLIER, type VirtioBarLayout } from './virtio-pci-layout.js';
import type { VirtioDevice, VirtioDeviceHost } from './virtio-device.js';
import { Virtqueue, type VirtqueueOwner } from './virtqueue.js';
import { saveTransport, restoreTransport } from './transport-state.js';
import type { SavedState } from '../../common/saved-state.js';

/** Ring features this transport implements on top of whatever the device offers. */
export const TRANSPORT_FEATURES = featureBit(F_VERSION_1) | featureBit(F_RING_INDIRECT_DESC) | featureBit(F_RING_EVENT_IDX);
const STICKY = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK;

export interface VirtioPciTransportOptions {
  fn: PciFunction;
  device: VirtioDevice;
  memory: GuestMemory;
  msix: MsixCapability;
  layout: VirtioBarLayout;
  /** Told about every guest error that put the device into DEVICE_NEEDS_RESET. */
  onError?: (reason: string) => void;
}

export class VirtioPciTransport implements MmioDevice, CommonConfigTarget, VirtioDeviceHost, VirtqueueOwner {
  readonly memory: GuestMemory;
  readonly device: VirtioDevice;
  readonly queues: readonly Virtqueue[];
  readonly offered: bigint;
  private readonly offeredWords = new Uint32Array(2);
  readonly driverWords = new Uint32Array(2);

  deviceFeatureSelect = 0;
  driverFeatureSelect = 0;
  queueSelect = 0;
  configVector = NO_VECTOR;
  status = 0;
  generation = 0;
  /** Device configuration changed since the driver last read it (spec 4.1.4.3.1). */
  configDirty = false;
  isr = 0;
  negotiatedFeatures = 0n;
  /** The first guest error since the last reset, or why FEATURES_OK was refused. */
  failure: string | undefined;
  private intxLevel = false;
  private readonly fn: PciFunction;
  private readonly msix: MsixCapability;
  private readonly layout: VirtioBarLayout;
  private readonly onError: ((reason: string) => void) | undefined;

  constructor(o: VirtioPciTransportOptions) {
    this.fn = o.fn;
    this.memory = o.memory;
    this.device = o.device;
    this.msix = o.msix;
    this.layout = o.layout;
    this.onError = o.onError;
    this.offered = o.device.features | TRANSPORT_FEATURES;
    this.offeredWords[0] = Number(this.offered & 0xffffffffn);
    this.offeredWords[1] = Number((this.offered >> 32n) & 0xffffffffn);
    this.queues = o.device.queueMaxSizes.map((max, i) => new Virtqueue(i, max, this));
    // Turning MSI-X on or off moves the ISR's interrupt between INTx and nowhere.
    o.fn.onConfigWrite((off, size) => { if (off <= o.msix.offset + 3 && off + size > o.msix.offset + 2) this.updateIntx(); });
    o.device.attach(this);
  }

  get queueCount(): number { return this.queues.length; }
  queue(index: number): Virtqueue { return this.queues[index]!; }

  get live(): boolean {
    return (this.status & (STATUS_DRIVER_OK | STATUS_NEEDS_RESET | STATUS_FAILED)) === STATUS_DRIVER_OK && this.fn.busMasterEnabled();
  }

  // ---- common configuration (see common-config.ts) ----

  offeredWord(i: number): number { return i < 2 ? this.offeredWords[i]! : 0; }
  driverWord(i: number): number { return i < 2 ? this.driverWords[i]! : 0; }

  writeDriverFeatures(word: number, value: number): void {
    if ((this.status & STATUS_FEATURES_OK) !== 0 || word > 1) return;
    this.driverWords[word] = value;
  }

  get driverFeatures(): bigint { return BigInt(this.driverWords[0]!) | (BigInt(this.driverWords[1]!) << 32n); }

  private vectorOrNone(v: number): number { return v < this.msix.vectors ? v : NO_VECTOR; }
  setConfigVector(v: number): void { this.configVector = this.vectorOrNone(v); }
  setQueueVector(q: Virtqueue, v: number): void { q.msixVector = this.vectorOrNone(v); }

  selectedQueue(): Virtqueue | undefined { return this.queues[this.queueSelect]; }
  configurableQueue(): Virtqueue | undefined {
    const q = this.queues[this.queueSelect];
    return q !== undefined && !q.enabled ? q : undefined;
  }

  enableQueue(q: Virtqueue): void {
    if (q.enabled) return;
    this.applyRingFeatures(q);
    const why = q.enable();
    if (why !== undefined) this.fail(why);
  }

  applyRingFeatures(q: Virtqueue): void {
    q.eventIdx = (this.negotiatedFeatures & featureBit(F_RING_EVENT_IDX)) !== 0n;
    q.indirect = (this.negotiatedFeatures & featureBit(F_RING_INDIRECT_DESC)) !== 0n;
  }

  writeStatus(v: number): void {
    if (v === 0) { this.reset(); return; }
    const old = this.status;
    let next = (v & ~STATUS_NEEDS_RESET) | (old & (STICKY | STATUS_NEEDS_RESET));
    if ((next & STATUS_FEATURES_OK) !== 0 && (old & STATUS_FEATURES_OK) === 0) {
      const why = this.checkFeatures(this.driverFeatures);
      if (why !== undefined) {
        next &= ~STATUS_FEATURES_OK;
        this.failure = `features refused: ${why}`;
      } else {
        this.negotiatedFeatures = this.driverFeatures;
        for (const q of this.queues) this.applyRingFeatures(q);
      }
    }
    this.status = next;
    if ((next & STATUS_DRIVER_OK) !== 0 && (old & STATUS_DRIVER_OK) === 0) {
      if ((next & STATUS_FEATURES_OK) === 0) { this.fail('the driver set DRIVER_OK without FEATURES_OK'); return; }
      this.device.activate();
      // Buffers made available before DRIVER_OK were not consumed then; look at them now.
      for (const q of this.queues) if (q.enabled && this.live) this.device.notify(q.index);
    }
  }

  private checkFeatures(f: bigint): string | undefined {
    const extra = f & ~this.offered;
    if (extra !== 0n) return `the driver accepted feature bits that were not offered (0x${extra.toString(16)})`;
    if ((f & featureBit(F_VERSION_1)) === 0n) return 'the driver did not accept VIRTIO_F_VERSION_1 (this device has no legacy interface)';
    return this.device.checkFeatures?.(f);
  }

  /** Writing 0 to device_status: the device, its queues, features and vector mapping return to power-on state. */
  reset(): void {
    this.status = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.driverWords.fill(0);
    this.negotiatedFeatures = 0n;
    this.queueSelect = 0;
    this.configVector = NO_VECTOR;
    this.isr = 0;
    this.configDirty = false;
    this.failure = undefined;
    for (const q of this.queues) q.reset();
    this.updateIntx();
    this.device.reset();
  }

  // ---- errors and interrupts ----

  fail(reason: string): void {
    if ((this.status & STATUS_NEEDS_RESET) !== 0) return;
    this.status |= STATUS_NEEDS_RESET;
    this.failure = reason;
    this.onError?.(reason);
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.signalConfig();
  }

  configChanged(): void {
    this.configDirty = true;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.signalConfig();
  }

  signalQueue(index: number): void {
    if (this.msix.enabled()) {
      const v = this.queues[index]!.msixVector;
      if (v !== NO_VECTOR) this.msix.notify(v);
      return;
    }
    this.isr |= ISR_QUEUE;
    this.updateIntx();
  }

  private signalConfig(): void {
    this.isr |= ISR_CONFIG;
    if (this.msix.enabled()) {
      if (this.configVector !== NO_VECTOR) this.msix.notify(this.configVector);
      return;
    }
    this.updateIntx();
  }

  /** INTx follows the ISR while MSI-X is disabled (spec 4.1.4.5). */
  updateIntx(): void {
    const level = this.isr !== 0 && !this.msix.enabled();
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    this.fn.setIntx(level);
  }

  // ---- the BAR ----

  mmioRead(offset: number, data: Uint8Array): void {
    const l = this.layout;
    if (offset >= l.common && offset < l.common + COMMON_CFG_SIZE) { readCommonConfig(this, offset - l.common, data); return; }
    if (offset >= l.msixTable && offset < l.msixTable + l.msixTableSize) { this.msix.table.mmioRead(offset - l.msixTable, data); return; }
    if (offset >= l.msixPba && offset < l.msixPba + l.msixPbaSize) { this.msix.pba.mmioRead(offset - l.msixPba, data); return; }
    data.fill(0);
    if (offset === l.isr) {
      // Reading the ISR clears it and releases INTx (spec 4.1.4.5).
      data[0] = this.isr;
      this.isr = 0;
      this.updateIntx();
      return;
    }
    const rel = offset - l.device;
    if (rel >= 0 && rel < l.deviceSize) {
      this.device.readConfig(rel, rel + data.length <= l.deviceSize ? data : data.subarray(0, l.deviceSize - rel));
      if (this.configDirty) { this.generation = (this.generation + 1) & 0xff; this.configDirty = false; }
    }
  }

  mmioWrite(offset: number, data: Uint8Array): void {
    const l = this.layout;
    if (offset >= l.notify && offset < l.notify + l.notifySize) { this.kick(Math.floor((offset - l.notify) / NOTIFY_MULTIPLIER)); return; }
    if (offset >= l.common && offset < l.common + COMMON_CFG_SIZE) { writeCommonConfig(this, offset - l.common, data); return; }
    if (offset >= l.msixTable && offset < l.msixTable + l.msixTableSize) { this.msix.table.mmioWrite(offset - l.msixTable, data); return; }
    if (offset >= l.msixPba && offset < l.msixPba + l.msixPbaSize) return;
    const rel = offset - l.device;
    if (rel >= 0 && rel < l.deviceSize) this.device.writeConfig(rel, rel + data.length <= l.deviceSize ? data : data.subarray(0, l.deviceSize - rel));
  }

  /** An available-buffer notification for queue `index`. */
  kick(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.enabled || !this.live) return;
    this.device.notify(index);
  }

  // ---- saved state (transport-state.ts) ----

  save(): SavedState { return saveTransport(this); }
  restore(state: SavedState): void {
    restoreTransport(this, state);
    this.intxLevel = this.isr !== 0 && !this.msix.enabled();
    this.fn.setIntx(this.intxLevel);
  }
}
