/**
 * GET /metrics in the Prometheus text format: VMs by state, workers, event subscribers, console
 * clients, and every running VM's runtime counters (asked from its worker, with a short deadline
 * so one stuck worker cannot stall a scrape).
 */
import { VM_STATES } from '../inventory/vm-record.js';
import type { HostContext } from '../lifecycle/host-context.js';

const COUNTER_DEADLINE_MS = 2000;

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export async function renderMetrics(ctx: HostContext, startedAt: Date): Promise<string> {
  const out: string[] = [];
  const gauge = (name: string, help: string, samples: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
  };
  const vms = ctx.inventory.listVms();
  gauge('viridian_vms', 'VMs by state.', VM_STATES.map((s) => [`{state="${s}"}`, vms.filter((v) => v.state === s).length]));
  gauge('viridian_workers', 'Worker processes attached to the service.', [['', ctx.workers.size]]);
  gauge('viridian_event_subscribers', 'Open event streams.', [['', ctx.events.subscriberCount]]);
  gauge('viridian_vm_memory_bytes', 'Guest RAM of each VM as configured.', vms.map((v) => [`{vm="${label(v.name)}",id="${v.id}"}`, v.memoryMiB * 1024 * 1024]));
  gauge('viridian_service_start_time_seconds', 'When the service started (Unix time).', [['', Math.floor(startedAt.getTime() / 1000)]]);

  const byName = new Map(vms.map((v) => [v.id, v.name]));
  const perCounter = new Map<string, string[]>();
  await Promise.all([...ctx.workers.entries()].map(async ([id, h]) => {
    const counters = await Promise.race([
      h.request('counters').catch(() => undefined),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), COUNTER_DEADLINE_MS).unref()),
    ]);
    if (counters === undefined) return;
    const labels = `{vm="${label(byName.get(id) ?? id)}",id="${id}"}`;
    for (const [k, v] of Object.entries(counters)) {
      const lines = perCounter.get(k) ?? [];
      lines.push(`viridian_vm_${k}_total${labels} ${v}`);
      perCounter.set(k, lines);
    }
  }));
  for (const [k, lines] of [...perCounter.entries()].sort()) {
    out.push(`# HELP viridian_vm_${k}_total VM runtime counter '${k}'.`, `# TYPE viridian_vm_${k}_total counter`, ...lines);
  }
  return out.join('\n') + '\n';
}
