/**
 * Where the web console's files are at run time. Its own pages, script and style sheet stay in
 * src/host/web/static/ (tsc copies nothing but .ts output, so the compiled module finds them from
 * dist/src/host/web/ four levels up; package.json "files" ships that folder): one copy, no build
 * step, in a checkout, through `npm link` and in an installed package alike. xterm.js is served
 * straight from its installed package, found the way Node resolves it. Each file gets an exact URL,
 * so no request path ever reaches the file system.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../common/errors.js';

export interface StaticFile {
  url: string;
  path: string;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Pages: URL → file in the static folder. */
const PAGES: ReadonlyArray<[string, string]> = [['/ui/', 'index.html'], ['/ui/login', 'login.html'], ['/ui/vm', 'vm.html']];

export function staticDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'src', 'host', 'web', 'static');
}

function xtermFiles(): StaticFile[] {
  let pkgFile: string;
  try {
    pkgFile = createRequire(import.meta.url).resolve('@xterm/xterm/package.json');
  } catch (e) {
    throw new UserError(`the web console needs the npm package @xterm/xterm, which is not installed (${(e as Error).message.split('\n')[0]}); run 'npm install'`);
  }
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { module?: unknown; style?: unknown };
  if (typeof pkg.module !== 'string' || typeof pkg.style !== 'string') throw new UserError(`${pkgFile} names no "module" or "style" file; this @xterm/xterm version is not one the web console knows`);
  const root = dirname(pkgFile);
  return [
    { url: '/ui/vendor/xterm.mjs', path: join(root, pkg.module), contentType: TYPES['.mjs']! },
    { url: '/ui/vendor/xterm.css', path: join(root, pkg.style), contentType: TYPES['.css']! },
  ];
}

/** Every file the web console serves; throws naming the first one that is missing. */
export function webConsoleFiles(): StaticFile[] {
  const dir = staticDir();
  if (!existsSync(join(dir, 'index.html'))) throw new UserError(`the web console's files are missing: no ${join(dir, 'index.html')}`);
  const files: StaticFile[] = PAGES.map(([url, name]) => ({ url, path: join(dir, name), contentType: TYPES['.html']! }));
  for (const name of readdirSync(dir).sort()) {
    const ext = extname(name);
    if (ext === '.js' || ext === '.css') files.push({ url: `/ui/static/${name}`, path: join(dir, name), contentType: TYPES[ext]! });
  }
  files.push(...xtermFiles());
  for (const f of files) if (!existsSync(f.path)) throw new UserError(`the web console's file ${f.path} (for ${f.url}) is missing`);
  return files;
}
