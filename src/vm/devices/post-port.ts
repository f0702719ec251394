/** POST diagnostic port 0x80: firmware writes progress codes; the last one is kept for diagnostics and reads back. */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { expectState, type Saveable, type SavedState } from '../../common/saved-state.js';
import { stateInt } from './state-fields.js';
import { widenByte } from './io-width.js';

const ID = 'pc.post';

export class PostPort implements PortIoDevice, Saveable {
  static readonly PORT = 0x80;
  private last = 0;
  private writes = 0;

  ioRead(_port: number, size: IoSize): number { return widenByte(this.last, size); }

  ioWrite(_port: number, _size: IoSize, value: number): void {
    this.last = value & 0xff;
    this.writes++;
  }

  /** The last POST code written, and how many codes were written (0 means none yet). */
  lastCode(): number { return this.last; }
  codeCount(): number { return this.writes; }

  save(): SavedState { return { id: ID, version: 1, data: { last: this.last, writes: this.writes } }; }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const last = stateInt(ID, d, 'last', 0, 0xff);
    const writes = stateInt(ID, d, 'writes', 0, Number.MAX_SAFE_INTEGER);
    this.last = last; this.writes = writes;
  }
}
