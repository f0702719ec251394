/**
 * Guards parent/backing chains against loops and runaway depth. A driver opening an image runs
 * inside `withinChain`; the parent it opens through opts.openParent (even through the registry and
 * another driver) runs in the same async context, so a file that is already being opened further
 * down the chain is recognised and rejected instead of recursing forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FormatError } from '../../common/errors.js';

const MAX_CHAIN_DEPTH = 64;
const chain = new AsyncLocalStorage<readonly string[]>();

async function canonical(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return resolve(file);
  }
}

export async function withinChain<T>(file: string, body: () => Promise<T>): Promise<T> {
  const outer = chain.getStore() ?? [];
  const me = await canonical(file);
  if (outer.includes(me)) {
    throw new FormatError(file, `backing/parent chain loops: ${[...outer, me].join(' -> ')}`);
  }
  if (outer.length >= MAX_CHAIN_DEPTH) {
    throw new FormatError(file, `backing/parent chain is deeper than ${MAX_CHAIN_DEPTH} images`);
  }
  return chain.run([...outer, me], body);
}
