#!/usr/bin/env node
// `npm run bench -- NAME`: runs dist/bench/NAME/run.js (after `npm run build`). Benchmarks print
// ratios against their peer measured in the same run; they are never part of `npm test`.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const name = process.argv[2];
const root = join(process.cwd(), 'dist', 'bench');
const available = existsSync(root) ? readdirSync(root) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|') || 'name'}>   (build first: npm run build)`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [join(root, name, 'run.js'), ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
