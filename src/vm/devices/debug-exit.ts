/**
 * QEMU-compatible isa-debug-exit (iobase 0xf4, iosize 1): a write of value v ends the VM with exit
 * status (v << 1) | 1, so test guests can report success or failure. The whole access width is
 * taken as v, as QEMU does; reads return 0. Stateless, but saveable so a VM's device list is uniform.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { expectState, type Saveable, type SavedState } from '../../common/saved-state.js';
import type { PlatformControl } from './platform-control.js';
import { SIZE_MASK } from './io-width.js';

const ID = 'pc.debug-exit';

export class DebugExit implements PortIoDevice, Saveable {
  static readonly PORT = 0xf4;

  constructor(private readonly platform: PlatformControl) {}

  ioRead(_port: number, _size: IoSize): number { return 0; }

  ioWrite(_port: number, size: IoSize, value: number): void {
    const v = (value & SIZE_MASK[size]) >>> 0;
    // (v << 1) | 1 can exceed 32 bits for a dword write; arithmetic keeps it exact.
    this.platform.requestExit(v * 2 + 1);
  }

  save(): SavedState { return { id: ID, version: 1, data: {} }; }
  restore(state: SavedState): void { expectState(state, ID, 1); }
}
