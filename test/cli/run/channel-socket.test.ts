/**
 * An agent channel's host end against virtio-console driven as Linux drives it: the guest sees
 * the port open while a socket client is connected, bytes cross both ways in order (a megabyte
 * from the client arrives whole though the port holds 64 KiB at a time), a second client is
 * refused, a machine rebuild joins the new port; and --channel's argument checks.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChannelSocket } from '../../../src/cli/run/channel-socket.js';
import { parseChannelArgs } from '../../../src/cli/run/channel-arg.js';
import { UserError } from '../../../src/common/errors.js';
import { bringUp, consoleRig, PORT_OPEN, postBuffers, rxQueue, sendBytes, sendControl, takeBuffers, takeControl, txQueue } from '../../vm/virtio/fake-console.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-channel-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function connect(path: string): Promise<net.Socket> {
  const s = net.connect(path);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  return s;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

test('a socket client and the guest port: open state, bytes both ways, one client at a time', async () => {
  const r = consoleRig();
  bringUp(r);
  sendControl(r, 1, PORT_OPEN, 1); // the guest opens /dev/vport0p1
  const ch = new ChannelSocket('org.viridian.agent.0', join(dir, 'a.sock'));
  await ch.open();
  ch.attach(r.con.port(1));
  try {
    assert.equal(r.con.port(1).hostOpen, false, 'no client yet: the host end is closed');
    const c = await connect(ch.path);
    await until(() => ch.connected, 'the client is accepted');
    assert.deepEqual(takeControl(r).filter((m) => m.event === PORT_OPEN).map((m) => [m.id, m.value]), [[1, 1]], 'the guest is told the host end opened');

    let got = '';
    c.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    c.write('ping\n');
    await until(() => r.con.port(1).stats.toGuest === 5, 'the client bytes reach the guest');
    assert.equal(Buffer.concat(takeBuffers(r, rxQueue(1))).toString('latin1'), 'ping\n');
    sendBytes(r, txQueue(1), Buffer.from('pong\n'));
    await until(() => got === 'pong\n', 'the guest bytes reach the client');

    const second = await connect(ch.path);
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    assert.equal(ch.refused, 1, 'a second client is refused');
    assert.equal(ch.connected, true, 'the first client keeps the channel');

    c.destroy();
    await until(() => !ch.connected, 'the client is gone');
    assert.deepEqual(takeControl(r).filter((m) => m.event === PORT_OPEN).map((m) => [m.id, m.value]), [[1, 0]], 'the guest is told the host end closed');
  } finally {
    await ch.close();
  }
});

test('a megabyte from the client arrives in order through the 64 KiB port ring', async () => {
  const r = consoleRig();
  bringUp(r);
  sendControl(r, 1, PORT_OPEN, 1);
  const ch = new ChannelSocket('org.viridian.agent.0', join(dir, 'b.sock'));
  await ch.open();
  ch.attach(r.con.port(1));
  try {
    const c = await connect(ch.path);
    const data = randomBytes(1 << 20);
    c.write(data);
    const got: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < 20000 && n < data.length; i++) {
      // The guest reads: fresh buffers, then the VM loop's after-burst pump moves waiting bytes on.
      postBuffers(r, rxQueue(1), 16, 4096);
      ch.pump();
      for (const b of takeBuffers(r, rxQueue(1))) { got.push(b); n += b.length; }
      await tick();
    }
    assert.equal(n, data.length);
    assert.ok(Buffer.concat(got).equals(data), 'same bytes, same order');
    c.destroy();
  } finally {
    await ch.close();
  }
});

test('a rebuilt machine: attach() joins the new port and opens it for the connected client', async () => {
  const ch = new ChannelSocket('org.viridian.agent.0', join(dir, 'c.sock'));
  await ch.open();
  try {
    const first = consoleRig();
    bringUp(first);
    ch.attach(first.con.port(1));
    const c = await connect(ch.path);
    await until(() => ch.connected, 'accepted');
    const second = consoleRig();
    bringUp(second);
    ch.attach(second.con.port(1));
    assert.equal(second.con.port(1).hostOpen, true);
    c.destroy();
    await until(() => !second.con.port(1).hostOpen, 'the new port closes with the client');
  } finally {
    await ch.close();
  }
});

test('--channel arguments: default names count up, bad ones name the problem', () => {
  assert.deepEqual(parseChannelArgs(['unix:/tmp/a', 'unix:/tmp/b,name=org.example.x']), [
    { socket: '/tmp/a', name: 'org.viridian.agent.0' }, { socket: '/tmp/b', name: 'org.example.x' },
  ]);
  const bad: [string[], RegExp][] = [
    [['/tmp/a'], /must start with unix:PATH/],
    [['unix:'], /must start with unix:PATH/],
    [['unix:/tmp/a,speed=9600'], /'speed=9600' .* is not name=NAME/],
    [['unix:/tmp/a,name=has space'], /port name 'has space' must be/],
    [['unix:/tmp/a,name=a/b'], /port name 'a\/b' must be/],
    [['unix:/tmp/a,name=x', 'unix:/tmp/b,name=x'], /port name 'x' is given twice/],
    [['unix:/tmp/a', 'unix:/tmp/a'], /socket \/tmp\/a is given twice/],
  ];
  for (const [args, re] of bad) assert.throws(() => parseChannelArgs(args), (e: unknown) => e instanceof UserError && re.test(e.message), args.join(' '));
});
