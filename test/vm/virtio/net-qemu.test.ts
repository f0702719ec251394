/**
 * A real peer on the other end of the socket: QEMU's own stream netdev, hubbed to its user-mode
 * network (slirp) so that something answers. The guest's virtio-net asks slirp's gateway
 * 10.0.2.2 for its MAC (ARP) and pings it; the answers must come back intact. Run once with
 * Viridian listening (QEMU server=off connects) and once with QEMU listening (server=on).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StreamSocketBackend } from '../../../src/vm/net/stream-socket-backend.js';
import { netRig, postRx, receive, transmit, type NetRig } from './fake-net.js';
import { tempDir, waitFor } from '../net/net-test-helpers.js';

const QEMU = 'qemu-system-x86_64';
const haveQemu = spawnSync(QEMU, ['--version']).status === 0;
const OUR_MAC = '525400123456', OUR_IP = '0a00020f', GATEWAY_IP = '0a000202';

function hex(s: string): Uint8Array { return new Uint8Array(Buffer.from(s, 'hex')); }

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function arpRequest(): Uint8Array {
  return hex(`ffffffffffff${OUR_MAC}0806` + `0001080006040001${OUR_MAC}${OUR_IP}000000000000${GATEWAY_IP}`);
}

function ping(dstMac: string, payload: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(8 + payload.length);
  icmp.set([8, 0, 0, 0, 0x12, 0x34, 0, 1]);
  icmp.set(payload, 8);
  const c = checksum(icmp);
  icmp[2] = c >>> 8; icmp[3] = c & 0xff;
  const ip = hex(`4500${(20 + icmp.length).toString(16).padStart(4, '0')}abcd00004001` + `0000${OUR_IP}${GATEWAY_IP}`);
  const ic = checksum(ip);
  ip[10] = ic >>> 8; ip[11] = ic & 0xff;
  const f = new Uint8Array(14 + 20 + icmp.length);
  f.set(hex(`${dstMac}${OUR_MAC}0800`));
  f.set(ip, 14);
  f.set(icmp, 34);
  return f;
}

function startQemu(path: string, server: boolean): ChildProcess {
  return spawn(QEMU, [
    '-machine', 'none', '-nodefaults', '-display', 'none',
    '-netdev', 'user,id=u0', '-netdev', 'hubport,id=p0,hubid=0,netdev=u0',
    '-netdev', `stream,id=s0,server=${server ? 'on' : 'off'},addr.type=unix,addr.path=${path}`,
    '-netdev', 'hubport,id=p1,hubid=0,netdev=s0',
  ], { stdio: 'ignore' });
}

async function talkToSlirp(r: NetRig): Promise<void> {
  postRx(r, 16);
  transmit(r, arpRequest());
  const arp = (await receive(r, 1, 'the ARP reply'))[0]!.frame;
  assert.equal(Buffer.from(arp.subarray(12, 14)).toString('hex'), '0806', 'an ARP frame');
  assert.equal(Buffer.from(arp.subarray(20, 22)).toString('hex'), '0002', 'a reply');
  assert.equal(Buffer.from(arp.subarray(0, 6)).toString('hex'), OUR_MAC, 'addressed to us');
  assert.equal(Buffer.from(arp.subarray(28, 32)).toString('hex'), GATEWAY_IP);
  const gatewayMac = Buffer.from(arp.subarray(22, 28)).toString('hex');
  const payload = new Uint8Array(1200).map((_, i) => (i * 7) & 0xff);
  transmit(r, ping(gatewayMac, payload));
  const reply = (await receive(r, 1, 'the echo reply'))[0]!.frame;
  assert.equal(reply[34], 0, 'ICMP echo reply');
  assert.deepEqual(reply.subarray(42, 42 + payload.length), payload, 'the payload came back byte for byte');
  assert.equal(r.net.rx.stats.rxDroppedTooBig + r.net.tx.txDroppedInvalid, 0);
}

test('QEMU (stream netdev, server=off) joins Viridian listening; slirp answers ARP and ping', { skip: !haveQemu && 'qemu-system-x86_64 is not installed (tools/install-deps)' }, async (t) => {
  const path = join(tempDir(t), 'qemu.sock');
  const backend = await StreamSocketBackend.open({ path });
  t.after(() => backend.close());
  assert.equal(backend.state, 'listening');
  const q = startQemu(path, false);
  t.after(() => { q.kill('SIGKILL'); });
  const r = netRig(backend);
  await waitFor(() => backend.linkUp, 'QEMU to connect');
  await talkToSlirp(r);
});

test('Viridian joins QEMU listening (server=on) as a client; slirp answers ARP and ping', { skip: !haveQemu && 'qemu-system-x86_64 is not installed (tools/install-deps)' }, async (t) => {
  const path = join(tempDir(t), 'qemu-server.sock');
  const q = startQemu(path, true);
  t.after(() => { q.kill('SIGKILL'); });
  await waitFor(() => existsSync(path), 'QEMU to listen');
  const backend = await StreamSocketBackend.open({ path });
  t.after(() => backend.close());
  assert.equal(backend.role, 'client');
  const r = netRig(backend);
  await talkToSlirp(r);
});
