/**
 * `viridian guest build|path`: the project's Debian test guest (stock kernel + busybox initramfs),
 * built from Debian packages into the cache (see src/images/debian-guest.ts).
 */
import { parseArgs } from 'node:util';
import { UserError } from '../../common/errors.js';
import { ensureDebianGuest, cacheRoot } from '../../images/debian-guest.js';

const HELP = `usage: viridian guest build [--rebuild] [--cache DIR] [--json]
       viridian guest path [--cache DIR] [--json]

build  fetch Debian's stock kernel and busybox-static with apt-get download and build the
       initramfs (cached in ${cacheRoot()}/guests, or VIRIDIAN_CACHE)
path   print the kernel and initrd paths, building them first if needed`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { json: { type: 'boolean' }, rebuild: { type: 'boolean' }, cache: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const verb = positionals[0];
  if (values.help || verb === undefined) { process.stdout.write(HELP + '\n'); return verb === undefined && !values.help ? 2 : 0; }
  if (verb !== 'build' && verb !== 'path') throw new UserError(`guest: unknown verb '${verb}' (build, path)`);
  const log = values.json ? undefined : (l: string): void => { process.stderr.write(`guest: ${l}\n`); };
  const g = ensureDebianGuest({ ...(values.cache !== undefined ? { cacheDir: values.cache } : {}), rebuild: verb === 'build' && values.rebuild === true, ...(log ? { log } : {}) });
  if (values.json) process.stdout.write(JSON.stringify(g, null, 2) + '\n');
  else process.stdout.write(`kernel  ${g.kernel}\ninitrd  ${g.initrd}\nversion ${g.kernelVersion}\nmodules ${g.modules.join(' ')}\n`);
  return 0;
}
