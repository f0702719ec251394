/**
 * `viridian serve`: the host service in the foreground. Ctrl-C or SIGTERM stops the service and
 * leaves the VMs running; the next `viridian serve` on the same data directory re-attaches.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../../common/errors.js';
import { defaultDataDir } from '../../host/data-dir.js';
import { parseListenAddress } from '../../host/listen-address.js';
import { HostService } from '../../host/service.js';
import { LOGIN_CODE_TTL_MS, loginUrl } from '../../host/web/login-code.js';
import { many, one, parseFlags, positionals } from '../vm/args.js';

const USAGE = `usage: viridian serve [--data-dir DIR] [--listen ADDR]...
  Runs the host service. It always listens on DIR/viridian.sock (owner only); each --listen adds
  unix:/path or tcp:HOST:PORT. Clients send the token in DIR/access-token (viridian vm reads it
  from the data directory itself; elsewhere pass --token-file or set VIRIDIAN_TOKEN).
  A TCP listener also serves the web console; serve prints a one-time login link for it.
  DIR defaults to $VIRIDIAN_DATA_DIR, /var/lib/viridian for root, else ~/.local/share/viridian.`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const p = parseFlags('serve', argv, { 'data-dir': 'one', listen: 'many' });
  positionals('serve', p, []);
  const dataDir = one(p, 'data-dir') ?? defaultDataDir();
  const listen = (many(p, 'listen') ?? []).map(parseListenAddress);
  if (listen.some((l) => l.kind === 'unix' && l.path.length > 107)) throw new UserError('serve: a --listen socket path is longer than 107 bytes');
  const log = (line: string): void => {
    process.stderr.write(`viridian serve: ${line}\n`);
  };
  const service = await HostService.start({ dataDir, listen, runtime: 'machine', log });
  log(`serving ${service.dataDir.root} on ${service.addresses.join(', ')}`);
  const tcp = service.addresses.filter((a) => a.startsWith('tcp:'));
  if (tcp.length > 0) {
    const token = readFileSync(service.dataDir.token, 'utf8').trim();
    for (const a of tcp) log(`web console: ${loginUrl(a, token)}`);
    log(`(each link logs in one browser once, within ${LOGIN_CODE_TTL_MS / 60_000} minutes; after that, log in with the token in ${service.dataDir.token})`);
  }
  if (service.recovery.reattached.length > 0) log(`re-attached to running VMs: ${service.recovery.reattached.join(', ')}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await service.close();
  log('stopped; running VMs keep running');
  return 0;
}
