/**
 * The interrupt message fabric between local APICs, IOAPICs and MSI writers. On real hardware
 * this is the system bus carrying interrupt messages; here it is a direct call to every APIC that
 * matches the destination. It also carries EOI broadcasts from the APICs back to the IOAPICs, and
 * is the VM's MsiTarget.
 */
import type { MsiTarget } from '../bus/irq.js';
import { DM_FIXED, DM_LOWEST, SH_ALL, SH_ALL_BUT_SELF, SH_NONE, SH_SELF } from './apic-constants.js';

/** What the bus needs from a local APIC. */
export interface ApicEndpoint {
  /** Does this APIC accept a message for `dest` in the given mode? `broadcastId` is 0xff for xAPIC-format messages, 0xffffffff for x2APIC. */
  acceptsDestination(dest: number, logical: boolean, broadcastId: number): boolean;
  /** Arbitration priority for lowest-priority delivery (lower wins). */
  arbitrationPriority(): number;
  receive(deliveryMode: number, vector: number, levelTriggered: boolean, assert: boolean): void;
}

/** Decoded MSI address/data (PCI Local Bus 3.0 6.8; SDM vol. 3A 11.11). */
export interface MsiMessage {
  valid: boolean;
  dest: number;
  redirectionHint: boolean;
  logical: boolean;
  vector: number;
  deliveryMode: number;
  levelTriggered: boolean;
  assert: boolean;
}

export function decodeMsi(address: number, data: number): MsiMessage {
  return {
    valid: (address >>> 20) === 0xfee,
    dest: (address >>> 12) & 0xff,
    redirectionHint: (address & 8) !== 0,
    logical: (address & 4) !== 0,
    vector: data & 0xff,
    deliveryMode: (data >>> 8) & 7,
    levelTriggered: (data & 0x8000) !== 0,
    assert: (data & 0x4000) !== 0,
  };
}

export class ApicBus implements MsiTarget {
  private readonly apics: ApicEndpoint[] = [];
  private readonly eoiListeners: ((vector: number) => void)[] = [];
  /** Round-robin start for lowest-priority ties, so equal-priority CPUs share the load. */
  private rotor = 0;
  /** MSI writes whose address was not in the 0xFEExxxxx window (dropped, counted for diagnostics). */
  droppedMsis = 0;

  attach(apic: ApicEndpoint): void { this.apics.push(apic); }

  /** IOAPICs listen here for EOIs of level-triggered vectors. */
  onEoi(listener: (vector: number) => void): void { this.eoiListeners.push(listener); }

  broadcastEoi(vector: number): void { for (const l of this.eoiListeners) l(vector); }

  /**
   * Delivers one interrupt message; returns how many APICs accepted it. `source` is the sending
   * APIC for IPIs with a shorthand (self / all-but-self), undefined for IOAPIC and MSI messages.
   */
  deliver(dest: number, logical: boolean, broadcastId: number, deliveryMode: number, vector: number,
    levelTriggered: boolean, assert: boolean, shorthand: number = SH_NONE, source?: ApicEndpoint): number {
    if (shorthand === SH_SELF) {
      if (source === undefined) return 0;
      source.receive(deliveryMode, vector, levelTriggered, assert);
      return 1;
    }
    const n = this.apics.length;
    if (deliveryMode === DM_LOWEST && shorthand === SH_NONE) {
      let best: ApicEndpoint | undefined;
      let bestPriority = Infinity;
      for (let k = 0; k < n; k++) {
        const a = this.apics[(this.rotor + k) % n]!;
        if (!a.acceptsDestination(dest, logical, broadcastId)) continue;
        const p = a.arbitrationPriority();
        if (p < bestPriority) { best = a; bestPriority = p; }
      }
      if (best === undefined) return 0;
      this.rotor = (this.rotor + 1) % n;
      best.receive(DM_FIXED, vector, levelTriggered, assert);
      return 1;
    }
    let count = 0;
    for (let k = 0; k < n; k++) {
      const a = this.apics[k]!;
      const selected = shorthand === SH_ALL || (shorthand === SH_ALL_BUT_SELF ? a !== source : a.acceptsDestination(dest, logical, broadcastId));
      if (!selected) continue;
      a.receive(deliveryMode === DM_LOWEST ? DM_FIXED : deliveryMode, vector, levelTriggered, assert);
      count++;
    }
    return count;
  }

  /**
   * MSI write to 0xFEExxxxx. The destination-mode bit is honoured whatever the redirection hint
   * (as QEMU does); RH=1 with fixed delivery selects lowest-priority arbitration.
   */
  signalMsi(address: number, data: number): void {
    if ((address >>> 20) !== 0xfee) { this.droppedMsis++; return; }
    const rh = (address & 8) !== 0;
    let mode = (data >>> 8) & 7;
    if (rh && mode === DM_FIXED) mode = DM_LOWEST;
    this.deliver((address >>> 12) & 0xff, (address & 4) !== 0, 0xff, mode, data & 0xff, (data & 0x8000) !== 0, (data & 0x4000) !== 0 || (data & 0x8000) === 0);
  }
}
