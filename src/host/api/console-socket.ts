/**
 * GET /v1/vms/{name}/console as a WebSocket: binary messages carry raw serial bytes both ways.
 * The checks (VM exists, has a running worker) happen before the upgrade, so a client gets a
 * plain 404/409 instead of a socket that closes at once.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket, RawData } from 'ws';
import type { HostContext } from '../lifecycle/host-context.js';
import { HostError } from '../lifecycle/host-errors.js';

const CONSOLE_STATES = new Set(['starting', 'running', 'paused', 'stopping']);

export async function checkConsole(ctx: HostContext, req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const vm = ctx.vmByName((req.params as { name: string }).name);
  if (!CONSOLE_STATES.has(vm.state) || ctx.workers.get(vm.id) === undefined) {
    throw new HostError('wrong-state', `VM '${vm.name}' is ${vm.state}: its console is there only while it runs`);
  }
}

function bytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function serveConsole(ctx: HostContext, socket: WebSocket, req: FastifyRequest): void {
  const vm = ctx.inventory.findVmByName((req.params as { name: string }).name);
  if (vm === null) {
    socket.close(1011, 'the VM is gone');
    return;
  }
  const hub = ctx.liveOf(vm.id).console;
  const detach = hub.attach({
    output: (b) => { if (socket.readyState === socket.OPEN) socket.send(b, { binary: true }); },
    ended: (reason) => socket.close(1000, Buffer.from(reason).subarray(0, 120).toString()),
  });
  socket.on('message', (data) => hub.write(bytes(data)));
  socket.on('close', detach);
  socket.on('error', () => socket.terminate());
}
