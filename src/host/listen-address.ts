/**
 * `--listen` addresses: `unix:/path`, an absolute path, `tcp:HOST:PORT` or `HOST:PORT`
 * (`[::1]:PORT` for IPv6). TCP listeners always require the access token.
 */
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../common/errors.js';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const p = text.slice(5);
    if (p === '') throw new UserError(`--listen '${text}': the socket path is empty`);
    return { kind: 'unix', path: resolve(p) };
  }
  if (isAbsolute(text)) return { kind: 'unix', path: text };
  const t = text.startsWith('tcp:') ? text.slice(4) : text;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(t);
  if (m === null) throw new UserError(`--listen '${text}' is not unix:/path, /path, tcp:HOST:PORT or HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new UserError(`--listen '${text}': port ${port} is out of range`);
  return { kind: 'tcp', host: m[1] ?? m[2]!, port };
}

export function formatListenAddress(a: ListenAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
