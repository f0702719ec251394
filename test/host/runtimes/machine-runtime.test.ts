/**
 * The VM engine behind the worker's runtime contract, in process, with the platform test guest
 * (guests/platform/actions.asm): console both ways, pause and resume, the ACPI power button, a
 * guest power-off, and a save to a file that a second runtime continues from — the guest carries
 * on from where it was (no second banner) — plus hostile saved-state files.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleFile } from '../../helpers/nasm.js';
import { createMachineRuntime } from '../../../src/host/workers/runtimes/machine-runtime.js';
import type { VmRuntime, VmRuntimeConfig, VmRuntimeExit } from '../../../src/host/workers/vm-runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-mrt-'));
const kernel = join(dir, 'actions.bin');
writeFileSync(kernel, assembleFile('guests/platform/actions.asm'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Harness { rt: VmRuntime; out: () => string; exits: VmRuntimeExit[]; waitFor: (text: string) => Promise<void>; waitExit: () => Promise<VmRuntimeExit> }

function config(cmdline: string, memoryMiB = 64): VmRuntimeConfig {
  return { vmId: 'id-1', name: 'mrt', cpus: 1, memoryMiB, boot: { kernel, initrd: null, cmdline }, disks: [], nics: [], vmDir: dir };
}

function harness(cfg: VmRuntimeConfig): Harness {
  let out = '';
  const exits: VmRuntimeExit[] = [];
  const rt = createMachineRuntime(cfg, {
    onConsoleOutput: (b) => { out += Buffer.from(b).toString('latin1'); },
    onExit: (x) => { exits.push(x); },
  });
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 30_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; console: ${JSON.stringify(out)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    rt, out: () => out, exits,
    waitFor: (text) => until(() => out.includes(text), JSON.stringify(text)),
    waitExit: async () => { await until(() => exits.length > 0, 'the guest to end'); return exits[0]!; },
  };
}

test('console both ways, pause/resume, save to a file and continue in a new runtime', async () => {
  const a = harness(config('s'));
  await a.rt.start({ kind: 'boot' });
  await a.waitFor('actions: s\n');
  a.rt.writeConsole(Buffer.from('abc'));
  await a.waitFor('abc');

  await a.rt.pause();
  const before = a.rt.counters()['instructions']!;
  a.rt.writeConsole(Buffer.from('def'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(a.rt.counters()['instructions'], before, 'a paused VM retires no instructions');
  assert.ok(!a.out().includes('def'), 'a paused guest does not answer');
  await a.rt.resume();
  await a.waitFor('abcdef');
  assert.ok(a.rt.counters()['instructions']! > before);

  const file = join(dir, 'vm.state');
  await a.rt.saveTo(file);
  assert.ok(existsSync(file));
  assert.ok(statSync(file).size < 8 * 1024 * 1024, `zero pages are not stored (64 MiB guest, file ${statSync(file).size} bytes)`);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')), [], 'no temporary file is left');
  assert.deepEqual(a.exits, [], 'a save is not a guest exit');

  const b = harness(config('s'));
  await b.rt.start({ kind: 'saved-state', file });
  b.rt.writeConsole(Buffer.from('ghi'));
  await b.waitFor('ghi');
  assert.ok(!b.out().includes('actions:'), `the restored guest continues instead of booting again: ${JSON.stringify(b.out())}`);
  b.rt.writeConsole(Buffer.from('q'));
  assert.deepEqual(await b.waitExit(), { kind: 'powered-off' }, 'the guest ends through the debug-exit port');
});

test('the ACPI power button is seen by the guest, which powers off', async () => {
  const h = harness(config('b'));
  await h.rt.start({ kind: 'boot' });
  await h.waitFor('actions: b\n');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.exits, [], 'the guest waits for the button');
  h.rt.pressPowerButton();
  assert.deepEqual(await h.waitExit(), { kind: 'powered-off' });
});

test('turn off ends a running guest without an exit report', async () => {
  const h = harness(config('b'));
  await h.rt.start({ kind: 'boot' });
  await h.waitFor('actions: b\n');
  await h.rt.turnOff();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.exits, []);
});

test('bad boot sources and hostile saved-state files are refused with the reason', async () => {
  await assert.rejects(harness({ ...config('s'), boot: { kernel: null, initrd: null, cmdline: '' } }).rt.start({ kind: 'boot' }), /no kernel to boot/);
  const junk = join(dir, 'junk.state');
  writeFileSync(junk, Buffer.from('not a state file at all, not at all'));
  await assert.rejects(harness(config('s')).rt.start({ kind: 'saved-state', file: junk }), /bad magic/);

  const a = harness(config('s'));
  await a.rt.start({ kind: 'boot' });
  await a.waitFor('actions: s\n');
  const good = join(dir, 'good.state');
  await a.rt.saveTo(good);
  const bytes = readFileSync(good);
  const cut = join(dir, 'cut.state');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(harness(config('s')).rt.start({ kind: 'saved-state', file: cut }), /truncated|holds fewer/);
  await assert.rejects(harness(config('s', 128)).rt.start({ kind: 'saved-state', file: good }), /memory size changed/);
  const flipped = Buffer.from(bytes);
  flipped.writeUInt32LE(0xffffffff, 20);
  writeFileSync(cut, flipped);
  await assert.rejects(harness(config('s')).rt.start({ kind: 'saved-state', file: cut }), /implausibly large/);
});
