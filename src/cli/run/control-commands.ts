/**
 * What the control socket can be asked (one JSON object per request), checked before anything
 * happens, and carried out against the VM that runs now (a guest reset rebuilds the machine, so
 * the context hands out the current one on each request):
 *
 *   {"execute":"status"}                       → state, memory, CPUs, instructions, devices
 *   {"execute":"balloon-set","target":"256M"}  → the guest should have 256 MiB (the balloon takes
 *                                                 the rest); a size with K/M/G/T or a byte count
 *   {"execute":"balloon-info"}                 → target and actual guest memory (as QEMU counts
 *                                                 them: RAM less the balloon), balloon pages, and
 *                                                 the guest's memory statistics, fresh if the
 *                                                 guest answers within "wait-ms" (default 3000)
 *   {"execute":"powerdown"}                    → presses the ACPI power button (the guest decides)
 *
 * Any request may carry "id" (a string or number), echoed in the reply. A reply is
 * {"ok":true[,"result":{...}]} or {"error":"..."}.
 */
import { PAGE_SIZE } from '../../hv/memory/guest-memory.js';
import { UserError, errorMessage } from '../../common/errors.js';
import { parseSize } from '../../common/size.js';
import type { Machine } from '../../vm/machine/machine.js';
import { machineBalloon } from '../../vm/machine/pci-devices.js';
import { BALLOON_STAT_NAMES, type BalloonStats } from '../../vm/virtio/balloon/balloon-stats.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What the commands need from `viridian run`. */
export interface ControlContext {
  machine(): Machine;
  cpus: number;
  /** Named channels and whether a client is on each. */
  channels(): { name: string; connected: boolean }[];
  /** Guest resets since start (each rebuilt the machine). */
  resets(): number;
  startedAt: number;
  /** Remembers the balloon target so a rebuilt machine starts with it. */
  setBalloonTargetPages(pages: number): void;
  /** Resolves at the next statistics report, or after `ms` (false). */
  nextStats(ms: number): Promise<boolean>;
  /** Ends an idle sleep of the VM loop so a host-side change is seen now. */
  kick(): void;
}

/** A request the client got wrong: the reply names it, the connection and the VM carry on. */
export class RequestError extends Error {}

const COMMANDS: Record<string, readonly string[]> = {
  'status': [],
  'balloon-set': ['target'],
  'balloon-info': ['wait-ms'],
  'powerdown': [],
};
const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 3000;

/** Checks the request against COMMANDS (a known command, only its own arguments, an id of the right type). */
export function checkRequest(req: JsonValue): { execute: string; id: JsonValue | undefined; args: JsonObject } {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new RequestError('a request must be a JSON object such as {"execute":"status"}');
  const id = req['id'];
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') throw new RequestError('"id" must be a string or a number');
  const execute = req['execute'];
  if (typeof execute !== 'string') throw new RequestError('the request needs "execute": one of ' + Object.keys(COMMANDS).join(', '));
  const allowed = COMMANDS[execute];
  if (allowed === undefined || !Object.hasOwn(COMMANDS, execute)) throw new RequestError(`unknown command '${execute}' (one of ${Object.keys(COMMANDS).join(', ')})`);
  for (const k of Object.keys(req)) {
    if (k !== 'execute' && k !== 'id' && !allowed.includes(k)) {
      throw new RequestError(`'${execute}' takes ${allowed.length === 0 ? 'no arguments' : allowed.map((a) => `"${a}"`).join(', ')}; "${k}" is not one`);
    }
  }
  return { execute, id, args: req };
}

export async function runCommand(ctx: ControlContext, execute: string, args: JsonObject): Promise<JsonObject | undefined> {
  switch (execute) {
    case 'status': return status(ctx);
    case 'balloon-set': balloonSet(ctx, args['target']); return undefined;
    case 'balloon-info': return balloonInfo(ctx, args['wait-ms']);
    case 'powerdown': ctx.machine().board.acpiPm.pressPowerButton(); ctx.kick(); return undefined;
    default: throw new RequestError(`unknown command '${execute}'`);
  }
}

function status(ctx: ControlContext): JsonObject {
  const m = ctx.machine();
  return {
    state: m.idle ? 'idle' : 'running', memory: m.mem.totalRam, cpus: ctx.cpus, instructions: m.instructions,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 100) / 10, resets: ctx.resets(),
    balloon: machineBalloon(m) !== undefined, channels: ctx.channels(),
  };
}

function balloonOf(ctx: ControlContext): { m: Machine; b: NonNullable<ReturnType<typeof machineBalloon>> } {
  const m = ctx.machine(), b = machineBalloon(m);
  if (b === undefined) throw new RequestError('this VM has no balloon (start it with --balloon)');
  return { m, b };
}

/** The memory the guest should end up with: a size ("256M") or a byte count, 1 page .. all of RAM. */
function balloonSet(ctx: ControlContext, target: JsonValue | undefined): void {
  const { m, b } = balloonOf(ctx);
  let bytes: number;
  if (typeof target === 'number') bytes = target;
  else if (typeof target === 'string') {
    try { bytes = parseSize(target, '"target"'); } catch (e) { throw new RequestError(e instanceof UserError ? e.message : errorMessage(e)); }
  } else throw new RequestError('balloon-set needs "target": the guest memory wanted, e.g. "256M" or a byte count');
  const ram = m.mem.totalRam;
  if (!Number.isSafeInteger(bytes) || bytes < PAGE_SIZE || bytes > ram) {
    throw new RequestError(`"target" ${JSON.stringify(target)} must be from 4 KiB to the VM's ${ram} bytes of RAM`);
  }
  const pages = Math.floor((ram - bytes) / PAGE_SIZE);
  b.setTarget(pages);
  ctx.setBalloonTargetPages(pages);
}

async function balloonInfo(ctx: ControlContext, waitArg: JsonValue | undefined): Promise<JsonObject> {
  const wait = waitArg === undefined ? DEFAULT_WAIT_MS : waitArg;
  if (typeof wait !== 'number' || !Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_MS) throw new RequestError(`"wait-ms" must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}`);
  const { b } = balloonOf(ctx);
  const before = b.statsReports;
  // The driver refills the stats buffer only when handed it back. When the device holds none, a
  // request is already out (another client's) or no driver runs: wait for a report either way.
  b.requestStats();
  const fresh = wait > 0 ? await ctx.nextStats(wait) : false;
  // The guest may have reset meanwhile: report what the current machine has.
  const cur = balloonOf(ctx);
  const ram = cur.m.mem.totalRam, d = cur.b;
  return {
    memory: ram,
    target: ram - d.targetPages * PAGE_SIZE,
    actual: ram - d.actualPages * PAGE_SIZE,
    targetPages: d.targetPages, actualPages: d.actualPages, inflatedPages: d.inflated.count,
    statsFresh: fresh && d.statsReports > before, statsReports: d.statsReports,
    stats: d.stats === undefined ? null : statsJson(d.stats),
  };
}

function statsJson(s: BalloonStats): JsonObject {
  const out: JsonObject = {};
  for (const name of BALLOON_STAT_NAMES) { const v = s[name]; if (v !== undefined) out[name] = v; }
  return out;
}
