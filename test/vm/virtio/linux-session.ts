/**
 * Drives the Debian test guest through `viridian run` for the Linux device tests: start a run,
 * wait for the shell, run shell commands on COM1 and read their output. A command's end is found
 * by a marker the shell computes ($((n+1))), so the echoed command line never matches it.
 * Also a JSON-lines client for --control.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync } from 'node:fs';

/** A boot takes 2–5 minutes on an idle machine; CI machines are shared. */
export const LINUX_TIMEOUT_MS = 30 * 60_000;

export interface RunSession {
  /** Everything COM1 printed so far. */
  output(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in output printed after character `from` (default 0). */
  waitFor(re: RegExp, from?: number): Promise<RegExpExecArray>;
  /** Runs a shell command; resolves with what it printed (the echoed command line included). */
  sh(command: string): Promise<string>;
  /** Types a line without waiting for anything. */
  send(text: string): void;
  done: Promise<{ status: number | null; stderr: string }>;
  kill(): void;
}

let markers = 1000;

export function startRun(args: string[]): RunSession {
  const child = spawn(process.execPath, ['bin/viridian', 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  const waiters: { re: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const m = w.re.exec(out.slice(w.from));
      if (m !== null) { waiters.splice(i, 1); w.resolve(m); }
    }
  };
  child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); check(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), LINUX_TIMEOUT_MS);
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on('exit', (status) => { clearTimeout(timer); resolve({ status, stderr: err }); }));
  const waitFor = (re: RegExp, from = 0): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    waiters.push({ re, from, resolve });
    check();
    void done.then(() => reject(new Error(`the VM ended before ${re} appeared; output tail:\n${out.slice(-3000)}\nstderr:\n${err}`)));
  });
  const send = (text: string): void => { child.stdin.write(text); };
  return {
    output: () => out, stderr: () => err, waitFor, send, done,
    sh: async (command) => {
      const n = markers++;
      const from = out.length;
      send(`${command}; echo @@DONE-$((${n}+1))@@\n`);
      const m = await waitFor(new RegExp(`@@DONE-${n + 1}@@`), from);
      return out.slice(from, from + m.index);
    },
    kill: () => { child.kill('SIGKILL'); },
  };
}

/** Resolves once `path` exists (a listener's socket), polling every 50 ms for at most `ms`. */
export async function waitForPath(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type JsonReply = { ok?: boolean; error?: string; id?: string | number; result?: Record<string, unknown> };

/** One connection to a --control socket: request() sends one JSON line and resolves with its reply. */
export async function controlClient(path: string): Promise<{ request: (req: object | string) => Promise<JsonReply>; close: () => void }> {
  const s = net.connect(path);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  let buf = '';
  const pending: ((r: JsonReply) => void)[] = [];
  s.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      pending.shift()?.(JSON.parse(line) as JsonReply);
    }
  });
  return {
    request: (req) => new Promise((resolve) => {
      pending.push(resolve);
      s.write((typeof req === 'string' ? req : JSON.stringify(req)) + '\n');
    }),
    close: () => s.destroy(),
  };
}
