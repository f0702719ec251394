/**
 * `viridian vm`: manage VMs through the host service (`viridian serve`). Every verb takes --json
 * for machine-readable output; the default is a table or key/value lines.
 */
import { UserError } from '../../common/errors.js';
import { parseFlags, positionals, intFlag, one, type FlagKind, type Parsed } from '../vm/args.js';
import type { ApiClient } from '../vm/client.js';
import { runConsole } from '../vm/console.js';
import { CONNECTION_FLAGS, clientFrom } from '../vm/endpoint.js';
import { MACHINE_FLAGS, machineInput } from '../vm/machine-flags.js';
import { renderList, renderVm, type VmView } from '../vm/render.js';

const USAGE = `usage: viridian vm <verb> [options]
  create NAME [--kernel F] [--initrd F] [--append CMDLINE] [--memory SIZE] [--cpus N]
              [--disk FILE[,readonly][,format=F]]... [--nic NETWORK[,mac=MAC]]... [--notes TEXT]
  list | show NAME
  start NAME | stop NAME [--timeout SECONDS] | kill NAME | restart NAME
  pause NAME | resume NAME | save NAME
  delete NAME [--with-disks]
  set NAME [--name NEW] [--notes TEXT] [machine flags as for create; --disk/--nic replace the lists]
           [--no-disks] [--no-nics] [--initrd none]
  console NAME                      (Ctrl-] detaches)
connection: [--data-dir DIR | --host unix:/path|tcp:HOST:PORT] [--token-file FILE]; output: [--json]`;

type Verb = (client: ApiClient, p: Parsed, name: string) => Promise<number>;

const enc = encodeURIComponent;

function out(p: Parsed, json: unknown, text: string): void {
  process.stdout.write(p.bools.has('json') ? JSON.stringify(json, null, 2) + '\n' : text + '\n');
}

function action(path: string, past: string, body?: (p: Parsed) => Record<string, unknown> | undefined): Verb {
  return async (c, p, name) => {
    const vm = await c.call<VmView>('POST', `/v1/vms/${enc(name)}/${path}`, body?.(p));
    out(p, vm, `${vm.name}: ${past} (${vm.state}${vm.stateReason !== null ? `: ${vm.stateReason}` : ''})`);
    return 0;
  };
}

const VERBS: Record<string, { flags: Record<string, FlagKind>; run: Verb }> = {
  create: {
    flags: { ...MACHINE_FLAGS, notes: 'one' },
    run: async (c, p, name) => {
      const notes = one(p, 'notes');
      const vm = await c.call<VmView>('POST', '/v1/vms', { name, ...machineInput('vm create', p), ...(notes !== undefined ? { notes } : {}) });
      out(p, vm, `created VM '${vm.name}' (${vm.id})`);
      return 0;
    },
  },
  show: {
    flags: {},
    run: async (c, p, name) => {
      const vm = await c.call<VmView>('GET', `/v1/vms/${enc(name)}`);
      out(p, vm, renderVm(vm));
      return 0;
    },
  },
  start: { flags: {}, run: action('start', 'started') },
  stop: {
    flags: { timeout: 'one' },
    run: (c, p, name) => action('stop', 'stopped', () => {
      const t = intFlag('vm stop', p, 'timeout', 1, 3600);
      return t === undefined ? undefined : { timeoutSeconds: t };
    })(c, p, name),
  },
  kill: { flags: {}, run: action('turn-off', 'turned off') },
  restart: { flags: {}, run: action('restart', 'restarted') },
  pause: { flags: {}, run: action('pause', 'paused') },
  resume: { flags: {}, run: action('resume', 'resumed') },
  save: { flags: {}, run: action('save', 'saved') },
  delete: {
    flags: { 'with-disks': 'bool' },
    run: async (c, p, name) => {
      const r = await c.call<{ name: string; deletedDisks: string[]; diskErrors: string[] }>('DELETE', `/v1/vms/${enc(name)}?deleteDisks=${p.bools.has('with-disks')}`);
      const lines = [`deleted VM '${r.name}'`, ...r.deletedDisks.map((d) => `deleted disk ${d}`), ...r.diskErrors.map((e) => `could not delete disk ${e}`)];
      out(p, r, lines.join('\n'));
      return r.diskErrors.length > 0 ? 1 : 0;
    },
  },
  set: {
    flags: { ...MACHINE_FLAGS, name: 'one', notes: 'one', 'no-disks': 'bool', 'no-nics': 'bool' },
    run: async (c, p, name) => {
      const patch: Record<string, unknown> = { ...machineInput('vm set', p) };
      const rename = one(p, 'name');
      if (rename !== undefined) patch['name'] = rename;
      const notes = one(p, 'notes');
      if (notes !== undefined) patch['notes'] = notes;
      if (p.bools.has('no-disks')) patch['disks'] = [];
      if (p.bools.has('no-nics')) patch['nics'] = [];
      if (Object.keys(patch).length === 0) throw new UserError('vm set: nothing to change; see viridian vm --help');
      const vm = await c.call<VmView>('PATCH', `/v1/vms/${enc(name)}`, patch);
      out(p, vm, `updated VM '${vm.name}'`);
      return 0;
    },
  },
  console: { flags: {}, run: (c, _p, name) => runConsole(c, name) },
};

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? 2 : 0;
  }
  if (verb === 'list') {
    const p = parseFlags('vm list', rest, CONNECTION_FLAGS);
    positionals('vm list', p, []);
    const vms = await clientFrom('vm list', p).call<VmView[]>('GET', '/v1/vms');
    out(p, vms, renderList(vms));
    return 0;
  }
  const v = VERBS[verb];
  if (v === undefined) throw new UserError(`vm: unknown verb '${verb}'\n${USAGE}`);
  const cmd = `vm ${verb}`;
  const p = parseFlags(cmd, rest, { ...CONNECTION_FLAGS, ...v.flags });
  const [name] = positionals(cmd, p, ['NAME']);
  return v.run(clientFrom(cmd, p), p, name!);
}
