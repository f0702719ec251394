/** Runs the host's Debian tools (apt-get, apt-cache, dpkg-deb) for the guest builders. */
import { spawnSync } from 'node:child_process';
import { UserError } from '../common/errors.js';

/** Runs `cmd args` in `cwd` and returns its standard output; `what` names the step in errors. */
export function runHostCommand(cmd: string, args: string[], cwd: string, what: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new UserError(`${cmd} is not installed: building the Debian guest needs a Debian host with apt; ` +
      'pass --kernel FILE and --initrd FILE to viridian run instead');
  }
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ');
    const hint = /Unable to locate package|has no installation candidate/.test(msg) ? ' (the package lists may be empty: run apt-get update)' : '';
    throw new UserError(`${what} failed: ${msg}${hint}`);
  }
  return r.stdout;
}
