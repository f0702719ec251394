/**
 * The chipset reset control register at port 0xCF9 (PIIX/ICH "RCR"). Writing bit 2 (RST_CPU)
 * resets; bit 1 (SYS_RST) selects a hard reset and bit 3 (FULL_RST) a full one, and both read back.
 * Only byte accesses reach this register: 0xCF8..0xCFB as a dword is the PCI config address,
 * so the PCI host bridge owns the range and forwards byte accesses to 0xCF9 here.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { expectState, SavedStateError, type Saveable, type SavedState } from '../../common/saved-state.js';
import type { PlatformControl } from './platform-control.js';
import { stateInt } from './state-fields.js';
import { widenByte } from './io-width.js';

const ID = 'pc.rcr';

export class ResetControl implements PortIoDevice, Saveable {
  static readonly PORT = 0xcf9;
  private rcr = 0;

  constructor(private readonly platform: PlatformControl) {}

  ioRead(_port: number, size: IoSize): number {
    return widenByte(this.rcr, size);
  }

  ioWrite(_port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    this.rcr = v & 0x0a;
    if (v & 4) this.platform.requestReset(v & 2 ? 'port 0xCF9 hard reset' : 'port 0xCF9 soft reset');
  }

  save(): SavedState { return { id: ID, version: 1, data: { rcr: this.rcr } }; }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const rcr = stateInt(ID, d, 'rcr', 0, 0xff);
    if (rcr & ~0x0a) throw new SavedStateError(ID, `field 'rcr' has bits other than 1 and 3 set: ${rcr}`);
    this.rcr = rcr;
  }
}
