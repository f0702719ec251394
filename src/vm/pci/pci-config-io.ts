/**
 * PCI configuration mechanism #1 (PCI Local Bus 3.0 3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 (dword
 * accesses only: enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:2) and
 * CONFIG_DATA at 0xCFC..0xCFF (any size; the low address bits pick the byte lanes).
 *
 * Byte and word accesses to 0xCF8..0xCFB are not CONFIG_ADDRESS; on the PC they reach other
 * registers, notably 0xCF9 (reset control), which the board can take through `onOtherPortWrite`.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { expectState, SavedStateError, stateNumber, type SavedState, type Saveable } from '../../common/saved-state.js';
import type { PciRoot } from './pci-root.js';

export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
export const PCI_CONFIG_DATA_PORT = 0xcfc;
const STATE_ID = 'vm.pci.config-io';

export class PciConfigIo implements PortIoDevice, Saveable {
  private address = 0;

  constructor(private readonly root: PciRoot, private readonly onOtherPortWrite?: (port: number, size: IoSize, value: number) => void) {}

  /** Register both windows on a port bus. */
  static ports(): { base: number; length: number }[] { return [{ base: PCI_CONFIG_ADDRESS_PORT, length: 4 }, { base: PCI_CONFIG_DATA_PORT, length: 4 }]; }

  ioRead(port: number, size: IoSize): number {
    if (port >= PCI_CONFIG_ADDRESS_PORT && port < PCI_CONFIG_ADDRESS_PORT + 4) {
      if (port === PCI_CONFIG_ADDRESS_PORT && size === 4) return this.address;
      return size === 4 ? 0xffffffff : 2 ** (8 * size) - 1;
    }
    const lane = port - PCI_CONFIG_DATA_PORT;
    let v = 0;
    // Lanes past 0xCFF belong to other ports (unclaimed here): all ones.
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (lane + i < 4 ? this.readLane(lane + i) : 0xff);
    return v >>> 0;
  }

  private readLane(lane: number): number {
    if ((this.address & 0x80000000) === 0) return 0xff;
    return this.root.readConfig((this.address >>> 8) & 0xffff, (this.address & 0xfc) + lane, 1);
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (port >= PCI_CONFIG_ADDRESS_PORT && port < PCI_CONFIG_ADDRESS_PORT + 4) {
      if (port === PCI_CONFIG_ADDRESS_PORT && size === 4) { this.address = (value & 0x80fffffc) >>> 0; return; }
      this.onOtherPortWrite?.(port, size, value);
      return;
    }
    if ((this.address & 0x80000000) === 0) return;
    const lane = port - PCI_CONFIG_DATA_PORT;
    const n = Math.min(size, 4 - lane);
    // One write of the covered lanes, so a function sees a word/dword write as one access.
    this.root.writeConfig((this.address >>> 8) & 0xffff, (this.address & 0xfc) + lane, n, n === 4 ? value >>> 0 : value % 2 ** (8 * n));
  }

  save(): SavedState { return { id: STATE_ID, version: 1, data: { address: this.address } }; }

  restore(state: SavedState): void {
    const d = expectState(state, STATE_ID, 1);
    const a = stateNumber(STATE_ID, d, 'address');
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff || (a & ~0x80fffffc) !== 0) throw new SavedStateError(STATE_ID, "field 'address' is not a valid CONFIG_ADDRESS value");
    this.address = a >>> 0;
  }
}
