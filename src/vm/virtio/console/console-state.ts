/**
 * virtio-console's saved state: per port whether the driver set it up, the guest's end, what the
 * guest was last told about the host's end, and the bytes waiting for the guest; plus control
 * messages not yet delivered. The host's end itself (listeners, connect()) belongs to whoever
 * restores: if it differs from what the guest was told, the guest is told again.
 */
import { expectState, SavedStateError, stateBool, stateBytes, type SavedState, type StateValue } from '../../../common/saved-state.js';
import { stateRecordList } from '../../devices/state-fields.js';
import { CONTROL_HEADER } from './console-protocol.js';
import type { VirtioConsole } from './virtio-console.js';

const ID = 'vm.virtio.console';
/** A control message is a header and at most a port name. */
const MAX_CONTROL_MESSAGE = CONTROL_HEADER + 127;

export function saveConsole(c: VirtioConsole): SavedState {
  return {
    id: ID, version: 1, data: {
      ports: c.ports.map((p) => ({ ready: p.ready, guestOpen: p.guestOpen, hostOpenSeen: p.ready && p.hostOpen, pending: p.pendingCopy() })),
      controlOut: c.controlOut.map((m) => m.slice()),
    },
  };
}

/** Checks the record against `c`; the returned function applies it (after the device reset). */
export function restoreConsole(c: VirtioConsole, state: SavedState): () => void {
  const d = expectState(state, ID, 1);
  const ports = stateRecordList(ID, d, 'ports', c.ports.length).map((r, i) => {
    const pending = stateBytes(ID, r, 'pending');
    if (pending.length > c.ports[i]!.capacity) throw new SavedStateError(ID, `port ${i} has ${pending.length} pending bytes, more than its ${c.ports[i]!.capacity}-byte buffer`);
    return { ready: stateBool(ID, r, 'ready'), guestOpen: stateBool(ID, r, 'guestOpen'), hostOpenSeen: stateBool(ID, r, 'hostOpenSeen'), pending };
  });
  const out = d['controlOut'];
  if (!Array.isArray(out) || out.length > 1024) throw new SavedStateError(ID, "field 'controlOut' must be a list of at most 1024 messages");
  const messages = out.map((m: StateValue, i) => {
    if (!(m instanceof Uint8Array) || m.length < CONTROL_HEADER || m.length > MAX_CONTROL_MESSAGE) throw new SavedStateError(ID, `control message ${i} must be ${CONTROL_HEADER}..${MAX_CONTROL_MESSAGE} bytes`);
    return m;
  });
  return () => {
    c.controlOut.push(...messages);
    ports.forEach((r, i) => {
      const p = c.ports[i]!;
      p.ready = r.ready;
      p.setGuestOpen(r.guestOpen);
      p.setPending(r.pending);
      if (r.ready && c.multiport) c.reconcileHostOpen(p, r.hostOpenSeen);
    });
  };
}
