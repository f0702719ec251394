/**
 * Debian on `viridian run --balloon --control PATH --channel unix:PATH`: the host lowers the
 * guest's memory through the control socket and the guest's MemFree drops by about the balloon's
 * size while balloon-info's `actual` follows; raising it again brings MemFree back. The guest's
 * statistics reach balloon-info. In the same boot, the agent channel carries bytes both ways
 * between a socket client and the guest's virtio-console port, and `powerdown` (the ACPI power
 * button) makes the guest power itself off. A malformed control line gets an error and changes nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINUX_TIMEOUT_MS, controlClient, startRun, type JsonReply, type RunSession } from './linux-session.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-linux-balloon-'));
let session: RunSession | undefined;
test.after(() => { session?.kill(); rmSync(dir, { recursive: true, force: true }); });

const MIB = 1024 * 1024;
const MEMORY = 512 * MIB;
const BALLOON = 128 * MIB;
/** How long the guest gets to reach a new balloon target (it gives 256 pages per request). */
const SETTLE_MS = 10 * 60_000;

async function memFree(s: RunSession): Promise<number> {
  const out = await s.sh('grep MemFree /proc/meminfo');
  const m = /MemFree:\s+(\d+) kB/.exec(out);
  assert.ok(m !== null, `MemFree in ${out}`);
  return Number(m[1]) * 1024;
}

type Info = { memory: number; target: number; actual: number; targetPages: number; actualPages: number; statsFresh: boolean; stats: Record<string, number> | null };

function result(r: JsonReply): Info {
  assert.equal(r.ok, true, `control reply: ${JSON.stringify(r)}`);
  return r.result as unknown as Info;
}

test('balloon: MemFree follows the host target down and back; stats, agent channel and power button in the same boot', { timeout: LINUX_TIMEOUT_MS }, async () => {
  const ctlPath = join(dir, 'control.sock'), agentPath = join(dir, 'agent.sock');
  const s = startRun(['--memory', '512M', '--balloon', '--control', ctlPath, '--channel', `unix:${agentPath}`]);
  session = s;
  await s.waitFor(/viridian-guest: \/init reached/);
  const ctl = await controlClient(ctlPath);

  const status = await ctl.request({ execute: 'status', id: 'st' });
  assert.equal(status.id, 'st');
  assert.equal(status.result?.['memory'], MEMORY);
  assert.equal(status.result?.['balloon'], true);
  const bad = await ctl.request('{"execute":"balloon-set","target":"half"}');
  assert.match(bad.error ?? '', /'half' is not a size/);

  const free0 = await memFree(s);
  const info0 = result(await ctl.request({ execute: 'balloon-info', 'wait-ms': 20_000 }));
  assert.equal(info0.actual, MEMORY, 'the balloon starts empty');
  assert.equal(info0.statsFresh, true, 'the guest answered the stats request');
  assert.ok(info0.stats !== null && info0.stats['freeMemory'] !== undefined && info0.stats['totalMemory'] !== undefined, JSON.stringify(info0.stats));
  assert.ok(Math.abs(info0.stats['freeMemory']! - free0) < 32 * MIB, `stats freeMemory ${info0.stats['freeMemory']} vs MemFree ${free0}`);

  // Down: the guest should keep 384 MiB; the balloon takes 128 MiB.
  assert.deepEqual(await ctl.request({ execute: 'balloon-set', target: '384M' }), { ok: true });
  const down = await settle(ctl, BALLOON / 4096);
  assert.equal(down.target, MEMORY - BALLOON);
  assert.equal(down.actual, MEMORY - BALLOON, 'balloon-info actual follows the guest');
  const free1 = await memFree(s);
  const drop = free0 - free1;
  assert.ok(drop > BALLOON * 0.85 && drop < BALLOON * 1.15, `MemFree dropped by ${drop / MIB} MiB for a ${BALLOON / MIB} MiB balloon (${free0} -> ${free1})`);
  const statsDown = result(await ctl.request({ execute: 'balloon-info', 'wait-ms': 20_000 }));
  assert.equal(statsDown.statsFresh, true);
  assert.ok(Math.abs(statsDown.stats!['freeMemory']! - free1) < 32 * MIB, `stats follow MemFree: ${statsDown.stats!['freeMemory']} vs ${free1}`);

  // Back up: the whole of RAM again.
  assert.deepEqual(await ctl.request({ execute: 'balloon-set', target: MEMORY }), { ok: true });
  const back = await settle(ctl, 0);
  assert.equal(back.actual, MEMORY);
  const free2 = await memFree(s);
  assert.ok(Math.abs(free2 - free0) < BALLOON * 0.15, `MemFree recovered: ${free0} -> ${free1} -> ${free2}`);

  // The agent channel: the guest opens its port, writes a line, and reads the host's answer.
  const agent = net.connect(agentPath);
  let fromGuest = '', answered = false;
  agent.on('data', (d: Buffer) => {
    fromGuest += d.toString('utf8');
    if (fromGuest.includes('\n') && !answered) { answered = true; agent.write('hello-from-host\n'); }
  });
  await new Promise<void>((resolve, reject) => { agent.once('connect', resolve); agent.once('error', reject); });
  const chat = await s.sh('for d in /sys/class/virtio-ports/*; do [ "$(cat $d/name 2>/dev/null)" = org.viridian.agent.0 ] && P=${d##*/}; done; ' +
    'exec 3<>/dev/$P; echo hello-from-guest-$((6*7)) >&3; head -n 1 <&3; exec 3>&-; echo port=$P');
  assert.equal(fromGuest, 'hello-from-guest-42\n');
  assert.match(chat, /\nhello-from-host\r?\n/, chat);
  assert.match(chat, /port=vport\d+p1/, chat);

  // powerdown presses the ACPI power button: the guest's button driver reports it, its acpid
  // runs the power-off handler, and the run ends with status 0 (ACPI S5).
  assert.deepEqual(await ctl.request({ execute: 'powerdown' }), { ok: true });
  const end = await s.done;
  ctl.close();
  agent.destroy();
  assert.equal(end.status, 0, end.stderr);
  assert.match(s.output(), /reboot: Power down/, 'the guest powered itself off');
  assert.doesNotMatch(end.stderr, /virtio-(balloon|console): /, 'no device errors');
});

/** Polls balloon-info until the guest's `actual` reaches `pages`. */
async function settle(ctl: Awaited<ReturnType<typeof controlClient>>, pages: number): Promise<Info> {
  const end = Date.now() + SETTLE_MS;
  for (;;) {
    const info = result(await ctl.request({ execute: 'balloon-info', 'wait-ms': 0 }));
    if (info.actualPages === pages) return info;
    if (Date.now() > end) assert.fail(`the balloon did not reach ${pages} pages: ${JSON.stringify(info)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
