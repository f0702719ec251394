/**
 * A virtio device as a PCI function (virtio 1.2, 4.1): vendor 0x1AF4, device 0x1040 + type,
 * revision 1, the virtio structure capabilities, MSI-X, and one 64-bit memory BAR holding every
 * structure plus the MSI-X table and PBA. The BAR is placed on the VM's MMIO bus whenever the
 * guest maps it. This is what the machine plugs in at a bus/device/function.
 *
 * It also implements the VIRTIO_PCI_CAP_PCI_CFG window (firmware that cannot reach the BAR uses
 * it): a read of pci_cfg_data performs the BAR read it selects, a write performs the BAR write.
 *
 * save()/restore() cover the configuration space, the MSI-X table, the transport, the queues and
 * the device in one record; a record that does not fit leaves the function as it was.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { MsiTarget } from '../bus/irq.js';
import type { MmioBus } from '../bus/mmio-bus.js';
import { PciFunction } from '../pci/pci-function.js';
import { MsixCapability } from '../pci/pci-msix.js';
import { errorMessage } from '../../common/errors.js';
import { expectState, SavedStateError, stateRecord, type SavedState, type StateValue } from '../../common/saved-state.js';
import { MAX_QUEUE_SIZE, VIRTIO_PCI_DEVICE_BASE, VIRTIO_PCI_VENDOR } from './virtio-constants.js';
import { addVirtioCapabilities, barLayout, type VirtioBarLayout } from './virtio-pci-layout.js';
import { VirtioPciTransport } from './virtio-pci-transport.js';
import type { VirtioDevice } from './virtio-device.js';

const ID = 'vm.virtio.pci';
/** Windows' virtio drivers match this subsystem ID (QEMU's); the spec asks for 0x40 or more. */
const SUBSYSTEM_ID = 0x1100;

export interface VirtioPciOptions<D extends VirtioDevice = VirtioDevice> {
  /** Name in error messages, saved-state records and the MMIO map, e.g. "virtio-blk0". */
  name: string;
  device: D;
  memory: GuestMemory;
  mmio: MmioBus;
  msi: MsiTarget;
  /** First slot of the 64-bit memory BAR (0..4); default 0. */
  bar?: number;
  /** Guest errors that put the device into DEVICE_NEEDS_RESET, and BAR placements refused. */
  onError?: (message: string) => void;
}

function checkDevice(name: string, d: VirtioDevice): void {
  if (!Number.isInteger(d.deviceType) || d.deviceType < 1 || d.deviceType > 0x3f) throw new RangeError(`${name}: virtio device type ${d.deviceType} must be 1..63`);
  if (d.queueMaxSizes.length < 1 || d.queueMaxSizes.length > 1024) throw new RangeError(`${name}: ${d.queueMaxSizes.length} queues; a device has 1..1024`);
  for (const s of d.queueMaxSizes) {
    if (!Number.isInteger(s) || s < 1 || s > MAX_QUEUE_SIZE || (s & (s - 1)) !== 0) throw new RangeError(`${name}: queue size ${s} must be a power of two in 1..${MAX_QUEUE_SIZE}`);
  }
}

/** `D` is the device model's own type, so its host API (fn.device.setTarget(...)) stays typed. */
export class VirtioPciFunction<D extends VirtioDevice = VirtioDevice> extends PciFunction {
  readonly device: D;
  readonly msix: MsixCapability;
  readonly layout: VirtioBarLayout;
  readonly transport: VirtioPciTransport;
  private readonly barIndex: number;
  private readonly pciCfg: number;
  private restoring = false;
  private registeredAt: number | undefined;

  constructor(o: VirtioPciOptions<D>) {
    checkDevice(o.name, o.device);
    super({
      name: o.name, vendorId: VIRTIO_PCI_VENDOR, deviceId: VIRTIO_PCI_DEVICE_BASE + o.device.deviceType,
      classCode: o.device.pciClassCode, revision: 1, subsystemVendorId: VIRTIO_PCI_VENDOR, subsystemId: SUBSYSTEM_ID, interruptPin: 1,
    });
    this.device = o.device;
    const bar = o.bar ?? 0;
    this.barIndex = bar;
    const vectors = Math.min(2048, o.device.queueMaxSizes.length + 1);
    const layout = barLayout(o.device.queueMaxSizes.length, o.device.configSize, vectors);
    this.layout = layout;
    this.defineBar(bar, { kind: 'mem64', size: layout.barSize, onMap: (base) => this.placeBar(o, base) });
    this.pciCfg = addVirtioCapabilities(this, bar, layout).pciCfg;
    this.msix = new MsixCapability(this, o.msi, { vectors, tableBar: bar, tableOffset: layout.msixTable, pbaBar: bar, pbaOffset: layout.msixPba });
    const onError = o.onError;
    this.transport = new VirtioPciTransport({
      fn: this, device: o.device, memory: o.memory, msix: this.msix, layout,
      ...(onError !== undefined ? { onError: (reason: string) => onError(`${o.name}: ${reason}`) } : {}),
    });
    this.onConfigWrite((off, size) => this.cfgWindowWrite(off, size));
  }

  private placeBar(o: VirtioPciOptions<D>, base: number | undefined): void {
    // Only a range this function registered is removed: a refused placement owns nothing.
    if (this.registeredAt !== undefined) { o.mmio.unregister(this.registeredAt); this.registeredAt = undefined; }
    if (base === undefined) return;
    try {
      o.mmio.register(base, this.layout.barSize, this.transport, o.name);
      this.registeredAt = base;
    } catch (e) {
      // The guest placed the BAR over another device: it simply does not decode, as on a real bus.
      o.onError?.(`${o.name}: BAR not mapped: ${errorMessage(e)}`);
    }
  }

  /** The access the PCI configuration window selects, or undefined when it selects nothing valid. */
  private window(): { offset: number; length: number } | undefined {
    const c = this.pciCfg;
    const bar = this.getConfig(c + 4, 1), offset = this.getConfig(c + 8, 4), length = this.getConfig(c + 12, 4);
    if (bar !== this.barIndex || (length !== 1 && length !== 2 && length !== 4) || offset % length !== 0 || offset + length > this.layout.barSize) return undefined;
    return { offset, length };
  }

  private overlapsData(offset: number, size: number): boolean {
    const d = this.pciCfg + 16;
    return offset < d + 4 && offset + size > d;
  }

  private cfgWindowWrite(offset: number, size: number): void {
    if (this.restoring || !this.overlapsData(offset, size)) return;
    const w = this.window();
    if (w === undefined) return;
    const d = this.pciCfg + 16;
    this.transport.mmioWrite(w.offset, this.config.slice(d, d + w.length));
  }

  /**
   * Configuration mechanisms split wide reads into byte reads, so the BAR read happens on the
   * access that covers the first byte of pci_cfg_data; reads of its later bytes return what that
   * read latched (a side effect such as clearing the ISR happens once per driver read).
   */
  override readConfig(offset: number, size: number): number {
    const d = this.pciCfg + 16;
    if (offset <= d && offset + size > d) {
      const w = this.window();
      if (w !== undefined) {
        const data = new Uint8Array(w.length);
        this.transport.mmioRead(w.offset, data);
        this.config.set(data, this.pciCfg + 16);
      }
    }
    return super.readConfig(offset, size);
  }

  /** Waits for the device's asynchronous work in flight (call before handing its backend to another process). */
  async drain(): Promise<void> { await this.device.drain?.(); }

  override save(): SavedState {
    const rec = (s: SavedState): StateValue => ({ id: s.id, version: s.version, data: s.data });
    return { id: ID, version: 1, data: { pci: rec(super.save()), msix: rec(this.msix.save()), transport: rec(this.transport.save()) } };
  }

  override restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const parts = (['pci', 'msix', 'transport'] as const).map((k) => {
      const r = stateRecord(ID, d, k);
      if (typeof r['id'] !== 'string' || typeof r['version'] !== 'number') throw new SavedStateError(ID, `field '${k}' lacks id/version`);
      return { id: r['id'], version: r['version'], data: stateRecord(ID, r, 'data') };
    });
    const before = this.save();
    try {
      this.apply(parts[0]!, parts[1]!, parts[2]!);
    } catch (e) {
      const b = before.data as { [k: string]: { id: string; version: number; data: { [key: string]: StateValue } } };
      try { this.apply(b['pci']!, b['msix']!, b['transport']!); } catch { /* the original error says what was wrong */ }
      throw e;
    }
  }

  private apply(pci: SavedState, msix: SavedState, transport: SavedState): void {
    this.restoring = true;
    try { super.restore(pci); } finally { this.restoring = false; }
    this.msix.restore(msix);
    this.transport.restore(transport);
  }
}
