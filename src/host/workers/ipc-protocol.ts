/**
 * Messages on the worker channel (JSON frames, see ipc-frame.ts). The service is the client: it
 * says hello with the worker's secret instance id (which only the service and that worker know:
 * it is in the inventory and in the VM's own directory, and other workers cannot read either),
 * then sends requests; the worker answers each request once and pushes state and exit
 * notices. Both sides parse what they receive with the checks below and drop the channel on a
 * message that breaks them, rather than act on a half-understood one.
 */

export const PROTOCOL_VERSION = 1;

export const WORKER_OPS = ['start', 'pause', 'resume', 'power-button', 'turn-off', 'save', 'counters'] as const;
export type WorkerOp = (typeof WORKER_OPS)[number];

/** What the worker process is doing; 'created' is before start, 'exiting' after an exit notice. */
export type WorkerState = 'created' | 'starting' | 'running' | 'paused' | 'exiting';
export type ExitOutcome = 'off' | 'saved' | 'failed';

export type ServiceMessage =
  | { type: 'hello'; protocol: number; instance: string }
  | { type: 'request'; id: number; op: WorkerOp; from?: 'boot' | 'saved-state' };

export type WorkerMessage =
  | { type: 'hello'; protocol: number; vmId: string; instance: string; pid: number; state: WorkerState }
  | { type: 'response'; id: number; ok: true; result?: Record<string, number> }
  | { type: 'response'; id: number; ok: false; error: string }
  | { type: 'state'; state: 'running' | 'paused' }
  | { type: 'exit'; outcome: ExitOutcome; reason: string | null };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(`worker channel: ${message}`);
    this.name = 'ProtocolError';
  }
}

function obj(payload: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError('message is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError('message is not an object');
  return v as Record<string, unknown>;
}

function int(m: Record<string, unknown>, k: string): number {
  const v = m[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`'${k}' must be a non-negative integer`);
  return v;
}

function str(m: Record<string, unknown>, k: string, max = 4096): string {
  const v = m[k];
  if (typeof v !== 'string' || v.length > max) throw new ProtocolError(`'${k}' must be a string of at most ${max} characters`);
  return v;
}

function oneOf<T extends string>(m: Record<string, unknown>, k: string, allowed: readonly T[]): T {
  const v = m[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new ProtocolError(`'${k}' must be one of ${allowed.join(', ')}`);
  return v as T;
}

export function parseServiceMessage(payload: Buffer): ServiceMessage {
  const m = obj(payload);
  switch (m['type']) {
    case 'hello':
      return { type: 'hello', protocol: int(m, 'protocol'), instance: str(m, 'instance', 64) };
    case 'request': {
      const req: ServiceMessage = { type: 'request', id: int(m, 'id'), op: oneOf(m, 'op', WORKER_OPS) };
      if (m['from'] !== undefined) req.from = oneOf(m, 'from', ['boot', 'saved-state'] as const);
      return req;
    }
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(m['type'])}`);
  }
}

export function parseWorkerMessage(payload: Buffer): WorkerMessage {
  const m = obj(payload);
  switch (m['type']) {
    case 'hello':
      return {
        type: 'hello', protocol: int(m, 'protocol'), vmId: str(m, 'vmId', 64), instance: str(m, 'instance', 64), pid: int(m, 'pid'),
        state: oneOf(m, 'state', ['created', 'starting', 'running', 'paused', 'exiting'] as const),
      };
    case 'response': {
      const id = int(m, 'id');
      if (m['ok'] === true) {
        const r = m['result'];
        if (r === undefined) return { type: 'response', id, ok: true };
        if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ProtocolError("'result' must be an object");
        const result: Record<string, number> = {};
        for (const [k, v] of Object.entries(r)) {
          if (!/^[a-z_][a-z0-9_]{0,63}$/.test(k) || typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(`bad counter '${k.slice(0, 64)}'`);
          result[k] = v;
        }
        return { type: 'response', id, ok: true, result };
      }
      if (m['ok'] === false) return { type: 'response', id, ok: false, error: str(m, 'error') };
      throw new ProtocolError("'ok' must be a boolean");
    }
    case 'state':
      return { type: 'state', state: oneOf(m, 'state', ['running', 'paused'] as const) };
    case 'exit':
      return { type: 'exit', outcome: oneOf(m, 'outcome', ['off', 'saved', 'failed'] as const), reason: m['reason'] === null ? null : str(m, 'reason') };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(m['type'])}`);
  }
}
