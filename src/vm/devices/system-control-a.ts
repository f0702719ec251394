/**
 * Port 0x92, "system control port A" (PS/2 fast A20): bit 1 gates A20, a 0→1 transition of bit 0
 * resets the processor. Wider accesses use the low byte; bits other than 0 and 1 read back as written.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { expectState, type Saveable, type SavedState } from '../../common/saved-state.js';
import type { PlatformControl } from './platform-control.js';
import { stateInt } from './state-fields.js';
import { widenByte } from './io-width.js';

const ID = 'pc.port92';

export class SystemControlA implements PortIoDevice, Saveable {
  static readonly PORT = 0x92;
  private value = 0x02; // A20 enabled after reset, as on PC chipsets that firmware expects

  constructor(private readonly platform: PlatformControl) {}

  ioRead(_port: number, size: IoSize): number {
    // Bit 0 reads 0: the reset it requests has already happened.
    return widenByte(this.value & 0xfe, size);
  }

  ioWrite(_port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    const old = this.value;
    this.value = v & 0xfe;
    if ((old ^ v) & 2) this.platform.setA20((v & 2) !== 0);
    if (v & 1) this.platform.requestReset('port 0x92 fast reset');
  }

  a20Enabled(): boolean { return (this.value & 2) !== 0; }

  save(): SavedState { return { id: ID, version: 1, data: { value: this.value } }; }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    this.value = stateInt(ID, d, 'value', 0, 0xfe);
  }
}
