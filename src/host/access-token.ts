/**
 * The access token TCP clients must present. Generated at the service's first start (256 random
 * bits, hex) and kept in the data directory readable by its owner only; a token file that others
 * can read is not trusted and is replaced.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';

export interface TokenResult {
  token: string;
  created: boolean;
  /** Why an existing file was replaced, if it was. */
  replaced: string | null;
}

export function loadOrCreateToken(file: string): TokenResult {
  let replaced: string | null = null;
  try {
    const st = statSync(file);
    const text = readFileSync(file, 'utf8').trim();
    if ((st.mode & 0o077) !== 0) replaced = `${file} was readable by others (mode ${(st.mode & 0o777).toString(8)})`;
    else if (!/^[0-9a-f]{64}$/.test(text)) replaced = `${file} did not hold a token`;
    else return { token: text, created: false, replaced: null };
    rmSync(file, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, token + '\n', { flag: 'wx', mode: 0o600 });
  return { token, created: true, replaced };
}
