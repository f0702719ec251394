/**
 * TEST DOUBLE. A pretend VM for the host service's tests, selected with the worker's
 * `--runtime=fake`, which only the tests pass. It runs no guest code: it ticks a counter, echoes the
 * serial console, honours the power button, and saves/restores its counters, so lifecycle, crash,
 * re-attach and concurrency behaviour of the service can be tested before the VM engine exists.
 *
 * Its behaviour is steered per VM through the kernel command line (so tests need no extra API):
 *   fake.shutdown=ignore          the guest ignores the ACPI power button
 *   fake.shutdown-delay-ms=N      time from power button to power-off (default 30)
 *   fake.boot=fail                start() fails
 *   fake.fail-after-ms=N          the runtime reports a failure N ms after start
 *   fake.poweroff-after-ms=N      the guest powers itself off N ms after start
 *   fake.fs-probe=PATH            at boot, try to write PATH and print the outcome on the console
 * Console commands, one a line (typed characters are echoed back as a terminal would):
 *   poweroff                      powers the guest off
 *   echo WORDS                    prints WORDS on a line of its own: an answer, not just the echo
 */
import { closeSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { StartFrom, VmRuntime, VmRuntimeConfig, VmRuntimeListeners } from '../vm-runtime.js';

const TICK_MS = 20;
const STATE_MAGIC = 'viridian-fake-runtime-state';

function options(cmdline: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const tok of cmdline.split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (tok.startsWith('fake.') && eq > 0) m.set(tok.slice(5, eq), tok.slice(eq + 1));
  }
  return m;
}

function msOption(opts: Map<string, string>, key: string): number | undefined {
  const v = opts.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function createFakeRuntime(config: VmRuntimeConfig, listeners: VmRuntimeListeners): VmRuntime {
  const opts = options(config.boot.cmdline);
  const counters = { ticks: 0, console_bytes_in: 0, console_bytes_out: 0, power_button_presses: 0 };
  let ticker: NodeJS.Timeout | undefined;
  const timers: NodeJS.Timeout[] = [];
  let alive = false;
  let line = '';

  const print = (text: string): void => {
    if (!alive) return;
    const bytes = Buffer.from(text, 'utf8');
    counters.console_bytes_out += bytes.length;
    listeners.onConsoleOutput(bytes);
  };
  const run = (): void => {
    ticker ??= setInterval(() => { counters.ticks++; }, TICK_MS);
  };
  const halt = (): void => {
    if (ticker !== undefined) clearInterval(ticker);
    ticker = undefined;
  };
  const release = (): void => {
    halt();
    for (const t of timers) clearTimeout(t);
    alive = false;
  };
  const exitSoon = (ms: number, exit: () => void): void => {
    timers.push(setTimeout(() => {
      if (!alive) return;
      release();
      exit();
    }, ms));
  };
  const powerOff = (ms: number): void => exitSoon(ms, () => listeners.onExit({ kind: 'powered-off' }));

  const probeDisks = (): void => {
    config.disks.forEach((d, i) => {
      try {
        closeSync(openSync(d.path, d.readOnly ? 'r' : 'r+'));
        print(`disk${i}: ${d.path} ${d.readOnly ? 'ro' : 'rw'} ok\r\n`);
      } catch (e) {
        print(`disk${i}: ${d.path} ${(e as NodeJS.ErrnoException).code ?? 'error'}\r\n`);
      }
    });
  };

  return {
    async start(from: StartFrom) {
      if (opts.get('boot') === 'fail') throw new Error('fake guest: boot failed as asked (fake.boot=fail)');
      alive = true;
      if (from.kind === 'saved-state') {
        const s = JSON.parse(readFileSync(from.file, 'utf8')) as { magic?: unknown; vmId?: unknown; counters?: Record<string, unknown> };
        if (s.magic !== STATE_MAGIC) throw new Error(`${from.file}: not a fake-runtime saved state`);
        if (s.vmId !== config.vmId) throw new Error(`${from.file}: saved state belongs to VM ${String(s.vmId)}, not ${config.vmId}`);
        for (const k of Object.keys(counters) as Array<keyof typeof counters>) {
          const v = s.counters?.[k];
          if (typeof v === 'number') counters[k] = v;
        }
        print(`fake guest ${config.name}: restored at tick ${counters.ticks}\r\n`);
      } else {
        print(`fake guest ${config.name}: ${config.cpus} vCPU, ${config.memoryMiB} MiB\r\n`);
        probeDisks();
        const probe = opts.get('fs-probe');
        if (probe !== undefined) {
          try {
            writeFileSync(probe, 'probe');
            print(`fs-probe ${probe}: written\r\n`);
          } catch (e) {
            print(`fs-probe ${probe}: ${(e as NodeJS.ErrnoException).code ?? 'error'}\r\n`);
          }
        }
      }
      run();
      const failAfter = msOption(opts, 'fail-after-ms');
      if (failAfter !== undefined) exitSoon(failAfter, () => listeners.onExit({ kind: 'failed', reason: 'fake guest: failure as asked (fake.fail-after-ms)' }));
      const offAfter = msOption(opts, 'poweroff-after-ms');
      if (offAfter !== undefined) powerOff(offAfter);
      print('fake# ');
    },
    async pause() { halt(); },
    async resume() { run(); },
    pressPowerButton() {
      counters.power_button_presses++;
      if (opts.get('shutdown') === 'ignore') return;
      print('\r\nfake guest: power button pressed, shutting down\r\n');
      powerOff(msOption(opts, 'shutdown-delay-ms') ?? 30);
    },
    async turnOff() { release(); },
    async saveTo(file: string) {
      halt();
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, JSON.stringify({ magic: STATE_MAGIC, vmId: config.vmId, counters }), { mode: 0o600 });
      renameSync(tmp, file);
      release();
    },
    writeConsole(bytes: Uint8Array) {
      counters.console_bytes_in += bytes.length;
      const text = Buffer.from(bytes).toString('utf8');
      print(text.replace(/\r/g, '\r\n'));
      for (const ch of text) {
        if (ch !== '\r' && ch !== '\n') { line += ch; continue; }
        const command = line.trim();
        if (command === 'poweroff') {
          powerOff(0);
        } else {
          if (command.startsWith('echo ')) print(`${command.slice(5).trim()}\r\n`);
          print('fake# ');
        }
        line = '';
      }
    },
    counters: () => ({ ...counters }),
  };
}
