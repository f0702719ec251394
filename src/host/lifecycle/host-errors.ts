/**
 * Errors of the host service's operations, each with the HTTP status the API answers with. The
 * message is written for the user: it names the VM, field or state involved and what to do.
 */

export type HostErrorCode = 'invalid' | 'not-found' | 'conflict' | 'wrong-state' | 'busy' | 'worker-failed';

const STATUS: Record<HostErrorCode, number> = {
  invalid: 400, 'not-found': 404, conflict: 409, 'wrong-state': 409, busy: 409, 'worker-failed': 502,
};

export class HostError extends Error {
  readonly status: number;

  constructor(readonly code: HostErrorCode, message: string, readonly field?: string, readonly reason?: string) {
    super(message);
    this.name = 'HostError';
    this.status = STATUS[code];
  }
}

/** A field of the request that is wrong: `field` is its path (e.g. "disks[1].path"). */
export function invalidField(field: string, reason: string): HostError {
  return new HostError('invalid', `${field}: ${reason}`, field, reason);
}
