/**
 * Where `viridian vm` finds the service: --host ADDR (or VIRIDIAN_HOST) for any listener, else the
 * Unix socket of --data-dir (or the default data directory). The token comes from VIRIDIAN_TOKEN,
 * --token-file, or the access-token file of the data directory.
 */
import { readFileSync } from 'node:fs';
import { UserError, errorMessage } from '../../common/errors.js';
import { dataDirLayout, defaultDataDir } from '../../host/data-dir.js';
import { parseListenAddress } from '../../host/listen-address.js';
import type { FlagKind, Parsed } from './args.js';
import { one } from './args.js';
import { ApiClient } from './client.js';

export const CONNECTION_FLAGS: Record<string, FlagKind> = { host: 'one', 'data-dir': 'one', 'token-file': 'one', json: 'bool' };

export function clientFrom(cmd: string, p: Parsed): ApiClient {
  const host = one(p, 'host') ?? (process.env['VIRIDIAN_HOST'] || undefined);
  const dataDir = one(p, 'data-dir');
  if (one(p, 'host') !== undefined && dataDir !== undefined) throw new UserError(`${cmd}: give --host or --data-dir, not both`);
  const addr = host !== undefined && dataDir === undefined ? parseListenAddress(host) : { kind: 'unix' as const, path: dataDirLayout(dataDir ?? defaultDataDir()).socket };
  const env = process.env['VIRIDIAN_TOKEN'];
  if (env !== undefined && env !== '') return new ApiClient(addr, env.trim());
  const fromDataDir = host === undefined || dataDir !== undefined ? dataDirLayout(dataDir ?? defaultDataDir()).token : undefined;
  const file = one(p, 'token-file') ?? fromDataDir;
  if (file === undefined) throw new UserError(`${cmd}: the service at ${host} needs its access token: set VIRIDIAN_TOKEN or pass --token-file FILE`);
  try {
    return new ApiClient(addr, readFileSync(file, 'utf8').trim());
  } catch (e) {
    throw new UserError(`${cmd}: cannot read the access token ${file} (${errorMessage(e)}); is 'viridian serve' running on that data directory?`);
  }
}
