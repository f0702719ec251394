/**
 * The control socket of `viridian run` against a real machine (not booted: the commands act on
 * the devices, which is what a guest would see): request validation with one error line per bad
 * request and the connection carrying on, replies in order with ids echoed, balloon-set/-info
 * arithmetic, the power button, and the socket file's ownership rules (0600, stale sockets
 * replaced, live ones and other files refused, removed on close).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../../src/vm/machine/machine.js';
import { machineBalloon } from '../../../src/vm/machine/pci-devices.js';
import { ControlSocket, MAX_REQUEST_BYTES } from '../../../src/cli/run/control-socket.js';
import type { ControlContext } from '../../../src/cli/run/control-commands.js';
import { UserError } from '../../../src/common/errors.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'viridian-control-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function context(m: Machine): ControlContext & { kicks: number; remembered: number } {
  return {
    kicks: 0, remembered: -1, cpus: 1, startedAt: Date.now(),
    machine: () => m, channels: () => [{ name: 'org.viridian.agent.0', connected: false }], resets: () => 0,
    setBalloonTargetPages(p) { this.remembered = p; },
    nextStats: (ms) => new Promise((r) => setTimeout(() => r(false), ms)),
    kick() { this.kicks++; },
  };
}

/** A client that sends raw text and collects reply lines. */
async function client(path: string): Promise<{ send: (text: string) => void; replies: (n: number) => Promise<Record<string, unknown>[]>; end: () => void }> {
  const s = net.connect(path);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  let buf = '';
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  s.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) { lines.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
    waiter?.();
  });
  return {
    send: (text) => { s.write(text); },
    replies: async (n) => {
      while (lines.length < n) await new Promise<void>((r) => { waiter = r; });
      return lines.splice(0, n).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    end: () => s.destroy(),
  };
}

test('requests are validated one by one; bad ones get an error line and the connection goes on', async () => {
  const m = new Machine({ memoryBytes: 64 * MIB, cpus: 1, balloon: {} });
  const path = join(dir, 'c1.sock');
  const ctl = new ControlSocket(path, context(m));
  await ctl.open();
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600, 'only the owner may control the VM');
    const c = await client(path);
    c.send('this is not json\n[1,2]\n{"execute":"reboot"}\n{"execute":"status","target":"1G"}\n{"id":{"a":1},"execute":"status"}\n');
    c.send('{"execute":"balloon-set"}\n{"execute":"balloon-set","target":"lots"}\n{"execute":"balloon-set","target":"1G"}\n{"execute":"balloon-set","target":-5}\n');
    c.send('{"execute":"__proto__"}\n{"execute":"balloon-info","wait-ms":"soon"}\n\n   \n{"id":7,"execute":"status"}\n');
    const r = await c.replies(12);
    assert.match(String(r[0]!['error']), /^not JSON/);
    assert.match(String(r[1]!['error']), /must be a JSON object/);
    assert.match(String(r[2]!['error']), /unknown command 'reboot' \(one of status, balloon-set, balloon-info, powerdown\)/);
    assert.match(String(r[3]!['error']), /'status' takes no arguments; "target" is not one/);
    assert.match(String(r[4]!['error']), /"id" must be a string or a number/);
    assert.match(String(r[5]!['error']), /balloon-set needs "target"/);
    assert.match(String(r[6]!['error']), /'lots' is not a size/);
    assert.match(String(r[7]!['error']), /"target" "1G" must be from 4 KiB to the VM's 67108864 bytes of RAM/);
    assert.match(String(r[8]!['error']), /"target" -5 must be/);
    assert.match(String(r[9]!['error']), /unknown command '__proto__'/);
    assert.match(String(r[10]!['error']), /"wait-ms" must be a whole number/);
    assert.equal(r[11]!['id'], 7);
    assert.equal(r[11]!['ok'], true);
    const st = r[11]!['result'] as Record<string, unknown>;
    assert.equal(st['memory'], 64 * MIB);
    assert.equal(st['balloon'], true);
    assert.deepEqual(st['channels'], [{ name: 'org.viridian.agent.0', connected: false }]);
    assert.equal(machineBalloon(m)!.targetPages, 0, 'no bad request changed the balloon');
    assert.equal(ctl.counts.errors, 11);

    // An over-long line is refused once and skipped to its newline; the next request is served.
    c.send('{"execute":"status","pad":"' + 'x'.repeat(MAX_REQUEST_BYTES) + '"}\n{"execute":"status","id":"after"}\n');
    const [long, after] = await c.replies(2);
    assert.match(String(long!['error']), new RegExp(`longer than ${MAX_REQUEST_BYTES} bytes`));
    assert.equal(after!['id'], 'after');
    assert.equal(after!['ok'], true);
    c.end();
  } finally {
    await ctl.close();
  }
  assert.equal(existsSync(path), false, 'the socket file is removed on close');
});

test('balloon-set sets the balloon to RAM less the target; balloon-info reports it; powerdown presses the power button', async () => {
  const m = new Machine({ memoryBytes: 64 * MIB, cpus: 1, balloon: {} });
  const ctx = context(m);
  const path = join(dir, 'c2.sock');
  const ctl = new ControlSocket(path, ctx);
  await ctl.open();
  try {
    const c = await client(path);
    c.send('{"execute":"balloon-set","target":"48M","id":1}\n{"execute":"balloon-info","wait-ms":0}\n{"execute":"balloon-set","target":67108864}\n{"execute":"powerdown"}\n');
    const [set, info, back, power] = await c.replies(4);
    assert.deepEqual(set, { id: 1, ok: true });
    const i = info!['result'] as Record<string, unknown>;
    assert.equal(i['memory'], 64 * MIB);
    assert.equal(i['targetPages'], 4096, '16 MiB of 4 KiB pages');
    assert.equal(i['target'], 48 * MIB);
    assert.equal(i['actual'], 64 * MIB, 'no driver: nothing inflated yet');
    assert.equal(i['statsFresh'], false);
    assert.equal(i['stats'], null);
    assert.deepEqual(back, { ok: true });
    assert.equal(machineBalloon(m)!.targetPages, 0);
    assert.equal(ctx.remembered, 0, 'the run remembers the target for a rebuilt machine');
    assert.deepEqual(power, { ok: true });
    assert.equal(m.board.ports.read(0x600, 2) & 0x100, 0x100, 'PM1a_STS.PWRBTN_STS is set');
    assert.ok(ctx.kicks >= 1, 'the VM loop was woken');
    c.end();
  } finally {
    await ctl.close();
  }
});

test('a VM without --balloon says so', async () => {
  const m = new Machine({ memoryBytes: 64 * MIB, cpus: 1 });
  const path = join(dir, 'c3.sock');
  const ctl = new ControlSocket(path, context(m));
  await ctl.open();
  try {
    const c = await client(path);
    c.send('{"execute":"balloon-info"}\n');
    const [r] = await c.replies(1);
    assert.match(String(r!['error']), /this VM has no balloon \(start it with --balloon\)/);
    c.end();
  } finally {
    await ctl.close();
  }
});

test('the socket path: a stale socket is replaced, a live one and a regular file are refused', async () => {
  const m = new Machine({ memoryBytes: 64 * MIB, cpus: 1 });
  const path = join(dir, 'c4.sock');
  // A socket file whose process died: it listened, then was killed before it could clean up.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.equal(statSync(path).isSocket(), true);
  const ctl = new ControlSocket(path, context(m));
  await ctl.open();
  try {
    await assert.rejects(new ControlSocket(path, context(m)).open(), (e: unknown) => e instanceof UserError && /is in use by another process/.test(e.message));
  } finally {
    await ctl.close();
  }
  const file = join(dir, 'plain');
  writeFileSync(file, 'keep me');
  await assert.rejects(new ControlSocket(file, context(m)).open(), (e: unknown) => e instanceof UserError && /exists and is not a socket/.test(e.message));
  assert.equal(existsSync(file), true, 'a regular file is never removed');
});
