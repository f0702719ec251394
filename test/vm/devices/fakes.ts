/** Test doubles for the devices' peers: an interrupt line that records edges, and a platform that records requests. */
import type { IrqLine } from '../../../src/vm/bus/irq.js';
import type { PlatformControl } from '../../../src/vm/devices/platform-control.js';
import type { IoSize, PortIoDevice } from '../../../src/vm/bus/port-io-bus.js';

export class FakeIrq implements IrqLine {
  level = false;
  /** Rising edges, counting each pulse as one. */
  rises = 0;
  pulses = 0;
  set(level: boolean): void { if (level && !this.level) this.rises++; this.level = level; }
  pulse(): void { this.pulses++; this.rises++; this.level = false; }
}

export class FakePlatform implements PlatformControl {
  resets: string[] = [];
  powerOffs = 0;
  exits: number[] = [];
  a20: boolean[] = [];
  requestReset(reason: string): void { this.resets.push(reason); }
  requestPowerOff(): void { this.powerOffs++; }
  requestExit(status: number): void { this.exits.push(status); }
  setA20(enabled: boolean): void { this.a20.push(enabled); }
}

/** Deterministic pseudo-random numbers (xorshift32) so a failing hostile run can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

const SIZES: IoSize[] = [1, 2, 4];

/** Random reads and writes of random sizes at every port in [first, last]. */
export function hammerPorts(dev: PortIoDevice, first: number, last: number, rounds: number, seed: number, between?: () => void): void {
  const r = rng(seed);
  for (let i = 0; i < rounds; i++) {
    const port = first + (r() % (last - first + 1));
    const size = SIZES[r() % 3]!;
    if (r() & 1) dev.ioWrite(port, size, r());
    else {
      const v = dev.ioRead(port, size);
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`read of port ${port} returned ${v}`);
    }
    if (between !== undefined && i % 16 === 0) between();
  }
}
