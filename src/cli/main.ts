/**
 * The `viridian` command: dispatches to one module per subcommand, loaded on demand so that
 * `viridian disk info` does not load the CPU engine and vice versa.
 */
import { UserError, errorMessage } from '../common/errors.js';

interface Command {
  summary: string;
  load: () => Promise<{ main(argv: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: 'run one VM in the foreground with COM1 as the console', load: () => import('./commands/run.js') },
  selftest: { summary: 'run the bare-metal CPU test guests on the engine', load: () => import('./commands/selftest.js') },
  guest: { summary: "build the Debian test guest (stock kernel + busybox initramfs)", load: () => import('./commands/guest.js') },
  disk: { summary: 'create, inspect, convert, resize, compact, merge and check virtual disks', load: () => import('./commands/disk.js') },
  serve: { summary: 'run the host service (inventory, REST API, VM workers)', load: () => import('./commands/serve.js') },
  vm: { summary: 'create, list, start, stop, change and delete VMs through the host service', load: () => import('./commands/vm.js') },
};

function usage(): string {
  const lines = ['usage: viridian <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "Run 'viridian <command> --help' for a command's options.");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write('viridian 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    process.stderr.write(`viridian: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.main(rest);
}

export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`viridian: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`viridian: internal error: ${errorMessage(e)}\n${e instanceof Error ? e.stack ?? '' : ''}\n`);
      process.exitCode = 70;
    }
  }
}
