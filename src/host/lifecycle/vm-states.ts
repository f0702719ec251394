/**
 * Which operation is allowed in which VM state. An operation outside its states gets a 409 naming
 * the state; hardware changes need the VM off (a saved state describes the old hardware).
 */
import type { VmState } from '../inventory/vm-record.js';

export type VmOperation = 'start' | 'stop' | 'turn-off' | 'restart' | 'pause' | 'resume' | 'save' | 'delete' | 'reconfigure';

export const ALLOWED_IN: Record<VmOperation, readonly VmState[]> = {
  start: ['off', 'saved', 'failed'],
  stop: ['running'],
  'turn-off': ['running', 'paused', 'stopping'],
  restart: ['running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
  save: ['running', 'paused'],
  delete: ['off', 'saved', 'failed'],
  reconfigure: ['off', 'failed'],
};

/** Operations that may run while another one is in progress (turn-off cuts a graceful stop short). */
export function mayInterrupt(op: VmOperation, busy: string): boolean {
  return op === 'turn-off' && busy === 'stop';
}
