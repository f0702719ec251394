/**
 * The API's routes as data: method, URL, schemas, success and error answers, and (for JSON routes)
 * the handler. server.ts registers them with Fastify and openapi.ts publishes them, so every route
 * is documented exactly as it is validated. Streams (events, console, metrics) are registered by
 * server.ts itself and appear here for the document.
 */
import type { VmConfigInput, VmConfigPatch } from '../lifecycle/config-rules.js';
import type { ConfigOps } from '../lifecycle/config-ops.js';
import type { HostContext } from '../lifecycle/host-context.js';
import { HostError } from '../lifecycle/host-errors.js';
import type { PowerOps } from '../lifecycle/power-ops.js';
import * as S from './schemas.js';

export interface ApiDeps {
  config: ConfigOps;
  power: PowerOps;
  ctx: HostContext;
  info(): Record<string, unknown>;
}

export interface ApiRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

export interface RouteDef {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  operationId: string;
  summary: string;
  params?: S.JsonSchema;
  query?: S.JsonSchema;
  body?: S.JsonSchema;
  ok: { status: number; description: string; schema?: S.JsonSchema; contentType?: string };
  errors: number[];
  run?: (req: ApiRequest) => unknown;
}

const VM_ERRORS = [400, 404];
const ACTIONS: Array<{ op: 'start' | 'stop' | 'turn-off' | 'restart' | 'pause' | 'resume' | 'save'; summary: string }> = [
  { op: 'start', summary: 'Start the VM: a fresh boot, or from its saved state when it is saved' },
  { op: 'stop', summary: 'Shut the VM down: ACPI power button, then turn it off after timeoutSeconds' },
  { op: 'turn-off', summary: 'Turn the VM off at once (pull the plug)' },
  { op: 'restart', summary: 'Turn the VM off and start it again' },
  { op: 'pause', summary: 'Pause the VM’s virtual processors' },
  { op: 'resume', summary: 'Resume a paused VM' },
  { op: 'save', summary: 'Save the VM’s state to disk and end its worker; start resumes it' },
];

function camel(op: string): string {
  return op.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

export function routeDefs(d: ApiDeps): RouteDef[] {
  const since = (q: Record<string, string>): number | undefined => (q['since'] === undefined ? undefined : Number(q['since']));
  const limit = (q: Record<string, string>): number | undefined => (q['limit'] === undefined ? undefined : Number(q['limit']));
  const defs: RouteDef[] = [
    { method: 'GET', url: '/v1/openapi.json', operationId: 'getOpenApi', summary: 'This document', ok: { status: 200, description: 'OpenAPI 3.1 document' }, errors: [] },
    { method: 'GET', url: '/v1/host', operationId: 'getHost', summary: 'The service: version, data directory, counts', ok: { status: 200, description: 'host information', schema: S.HostInfo }, errors: [], run: () => d.info() },
    { method: 'GET', url: '/v1/vms', operationId: 'listVms', summary: 'All VMs', ok: { status: 200, description: 'VMs by name', schema: S.VmList }, errors: [], run: () => d.config.list() },
    {
      method: 'POST', url: '/v1/vms', operationId: 'createVm', summary: 'Define a VM (it is created off)', body: S.VmCreate,
      ok: { status: 201, description: 'the new VM', schema: S.Vm }, errors: [400, 409, 413, 415],
      run: (r) => d.config.create(r.body as unknown as VmConfigInput),
    },
    { method: 'GET', url: '/v1/vms/:name', operationId: 'getVm', summary: 'One VM', params: S.NameParams, ok: { status: 200, description: 'the VM', schema: S.Vm }, errors: VM_ERRORS, run: (r) => d.config.get(r.params['name']!) },
    {
      method: 'PATCH', url: '/v1/vms/:name', operationId: 'updateVm', params: S.NameParams, body: S.VmPatch,
      summary: 'Change a VM: name and notes any time; cpus, memory, boot, disks and NICs while it is off (lists replace)',
      ok: { status: 200, description: 'the changed VM', schema: S.Vm }, errors: [400, 404, 409, 413, 415],
      run: (r) => d.config.update(r.params['name']!, r.body as VmConfigPatch),
    },
    {
      method: 'DELETE', url: '/v1/vms/:name', operationId: 'deleteVm', params: S.NameParams, query: S.DeleteQuery,
      summary: 'Delete a VM that is off, saved or failed; with deleteDisks=true also its disk files',
      ok: { status: 200, description: 'what was deleted', schema: S.DeleteResult }, errors: [400, 404, 409],
      run: (r) => d.config.delete(r.params['name']!, r.query['deleteDisks'] === 'true'),
    },
    ...ACTIONS.map(({ op, summary }): RouteDef => ({
      method: 'POST', url: `/v1/vms/:name/${op}`, operationId: `${camel(op)}Vm`, summary, params: S.NameParams,
      body: op === 'stop' ? S.StopRequest : S.EmptyRequest,
      ok: { status: 200, description: 'the VM once the operation has completed', schema: S.Vm }, errors: [400, 404, 409, 502],
      run: (r) => {
        const name = r.params['name']!;
        switch (op) {
          case 'start': return d.power.start(name);
          case 'stop': return d.power.stop(name, r.body['timeoutSeconds'] as number | undefined);
          case 'turn-off': return d.power.turnOff(name);
          case 'restart': return d.power.restart(name);
          case 'pause': return d.power.pause(name);
          case 'resume': return d.power.resume(name);
          case 'save': return d.power.save(name);
        }
      },
    })),
    {
      method: 'GET', url: '/v1/vms/:name/events', operationId: 'listVmEvents', summary: 'A VM’s event history', params: S.NameParams, query: S.EventsQuery,
      ok: { status: 200, description: 'events, oldest first', schema: S.EventList }, errors: VM_ERRORS,
      run: (r) => d.ctx.inventory.events({ vmId: d.config.get(r.params['name']!).id, since: since(r.query), limit: limit(r.query) }),
    },
    {
      method: 'GET', url: '/v1/vms/:name/console', operationId: 'vmConsole', params: S.NameParams,
      summary: 'WebSocket: the VM’s serial console, raw bytes in binary messages both ways (recent output first)',
      ok: { status: 101, description: 'switching to WebSocket' }, errors: [400, 404, 409],
    },
    {
      method: 'GET', url: '/v1/events', operationId: 'listEvents', summary: 'Event history of all VMs and the service', query: S.EventsQuery,
      ok: { status: 200, description: 'events, oldest first', schema: S.EventList }, errors: [400],
      run: (r) => d.ctx.inventory.events({ since: since(r.query), limit: limit(r.query) }),
    },
    {
      method: 'GET', url: '/v1/events/stream', operationId: 'streamEvents', query: S.EventsQuery,
      summary: 'Server-sent events: each state change as it happens (event: kind, id: event id, data: the event); ?since= or Last-Event-ID replays history first',
      ok: { status: 200, description: 'text/event-stream', contentType: 'text/event-stream' }, errors: [400],
    },
    { method: 'GET', url: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics: VMs by state, worker counters', ok: { status: 200, description: 'Prometheus text format 0.0.4', contentType: 'text/plain' }, errors: [] },
  ];
  return defs;
}

export function notFoundRoute(method: string, url: string): HostError {
  return new HostError('not-found', `no route ${method} ${url.split('?')[0]}`);
}
