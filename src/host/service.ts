/**
 * The host service: opens the data directory and inventory, re-attaches to running workers, and
 * serves the API on its listeners (the data directory's Unix socket always, TCP ones on request).
 * Every listener wants the access token, the Unix socket included: a VM worker runs as the same
 * user and Node 20's permission model does not stop it connecting to the socket, but it cannot
 * read the token file (decision 009). Closing it stops serving and lets go of the workers without stopping any VM:
 * the next service re-attaches to them.
 */
import type { FastifyInstance } from 'fastify';
import { errorMessage } from '../common/errors.js';
import { loadOrCreateToken } from './access-token.js';
import { buildApiServer, listenApi } from './api/server.js';
import { lockDataDir, prepareDataDir, type DataDir } from './data-dir.js';
import { Inventory } from './inventory/inventory.js';
import { ConfigOps } from './lifecycle/config-ops.js';
import { ConfigRules } from './lifecycle/config-rules.js';
import { EventLog } from './lifecycle/event-log.js';
import { HostContext } from './lifecycle/host-context.js';
import { PowerOps } from './lifecycle/power-ops.js';
import { recover, type RecoveryReport } from './lifecycle/recovery.js';
import type { ListenAddress } from './listen-address.js';
import type { RuntimeName } from './workers/runtimes/select-runtime.js';
import { WorkerManager } from './workers/worker-manager.js';

export const SERVICE_VERSION = '0.1.0';
const EVENTS_KEPT = 100_000;
const CLOSE_DEADLINE_MS = 5_000;

export interface ServiceOptions {
  dataDir: string;
  /** Extra listeners; the data directory's Unix socket is always served. */
  listen: ListenAddress[];
  /** 'machine' for real VMs; 'fake' (the test double) only from tests. */
  runtime: RuntimeName;
  log(line: string): void;
}

export class HostService {
  private constructor(
    readonly dataDir: DataDir,
    readonly addresses: string[],
    readonly recovery: RecoveryReport,
    private readonly apps: FastifyInstance[],
    private readonly ctx: HostContext,
    private readonly unlock: () => void,
    private readonly log: (line: string) => void,
  ) {}

  static async start(o: ServiceOptions): Promise<HostService> {
    const d = prepareDataDir(o.dataDir);
    const unlock = lockDataDir(d);
    let inventory: Inventory | undefined;
    const apps: FastifyInstance[] = [];
    try {
      const tok = loadOrCreateToken(d.token);
      if (tok.replaced !== null) o.log(`replaced the access token: ${tok.replaced}`);
      inventory = Inventory.open(d.inventory);
      for (const m of inventory.migration.applied) o.log(`inventory migrated: ${m}`);
      inventory.pruneEvents(EVENTS_KEPT);
      const events = new EventLog(inventory);
      const ctx = new HostContext(inventory, events, new WorkerManager(d.vms, o.runtime), new ConfigRules(d.root), d.vms);
      const recovery = await recover(ctx);
      const startedAt = new Date();
      const deps = {
        config: new ConfigOps(ctx),
        power: new PowerOps(ctx),
        ctx,
        info: () => ({ product: 'viridian', version: SERVICE_VERSION, pid: process.pid, dataDir: d.root, startedAt: startedAt.toISOString(), vms: ctx.inventory.counts().vms, workers: ctx.workers.size }),
      };
      const onInternalError = (e: unknown): void => o.log(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      const addresses: string[] = [];
      for (const addr of [{ kind: 'unix' as const, path: d.socket }, ...o.listen]) {
        const app = await buildApiServer({ deps, token: tok.token, version: SERVICE_VERSION, startedAt, onInternalError });
        apps.push(app);
        addresses.push(await listenApi(app, addr));
      }
      events.emit('service.started', null, { pid: process.pid, addresses, reattached: recovery.reattached, settled: recovery.settled, orphansKilled: recovery.orphansKilled });
      return new HostService(d, addresses, recovery, apps, ctx, unlock, o.log);
    } catch (e) {
      for (const a of apps) await a.close().catch(() => undefined);
      inventory?.close();
      unlock();
      throw e;
    }
  }

  /** Stops serving and releases the data directory; running VMs keep running. */
  async close(): Promise<void> {
    for (const a of this.apps) {
      // A connection that will not end must not keep the service from stopping.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), CLOSE_DEADLINE_MS); });
      try {
        if ((await Promise.race([a.close().then(() => 'closed' as const), deadline])) === 'late') {
          a.server.closeAllConnections();
          this.log(`a listener did not close within ${CLOSE_DEADLINE_MS / 1000} s; its connections were dropped`);
        }
      } catch (e) {
        this.log(`closing a listener: ${errorMessage(e)}`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.ctx.workers.detachAll();
    this.ctx.inventory.close();
    this.unlock();
  }
}
