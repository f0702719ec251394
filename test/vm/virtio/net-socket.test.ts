/**
 * Two guests' virtio-net devices joined by stream-socket backends over a real Unix socket, as two
 * `viridian run --nic socket=PATH` processes would be: frames cross intact, the wire carries
 * exactly length + frame (no virtio header), the link follows the peer across a restart.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamSocketBackend } from '../../../src/vm/net/stream-socket-backend.js';
import { Guest } from './fake-guest.js';
import { ethFrame, MAC_A, MAC_B, netRig, postRx, receive, transmit } from './fake-net.js';
import { RawPeer, tempDir, waitFor } from '../net/net-test-helpers.js';

const open = (path: string): Promise<StreamSocketBackend> => StreamSocketBackend.open({ path, retryMs: 10, watchMs: 20 });

test('guest A to guest B and back over a Unix socket; B restarts and the link comes back', async (t) => {
  const path = join(tempDir(t), 'lan.sock');
  const ba = await open(path), bb = await open(path);
  const a = netRig(ba);
  const b = netRig(bb, { mac: MAC_B }, {}, new Guest());
  await waitFor(() => ba.linkUp && bb.linkUp, 'connection');
  postRx(a, 32);
  postRx(b, 32);
  const toB = [ethFrame(MAC_B, MAC_A, 46, 1), ethFrame(MAC_B, MAC_A, 1500, 2), ethFrame(MAC_B, MAC_A, 9000, 3)];
  for (const f of toB) transmit(a, f);
  const toA = ethFrame(MAC_A, MAC_B, 600, 4);
  transmit(b, toA);
  assert.deepEqual((await receive(b, 3)).map((g) => g.frame), toB);
  assert.deepEqual((await receive(a, 1))[0]!.frame, toA);

  const configIrqs = a.guest.msi.count(0);
  await bb.close();
  await waitFor(() => !ba.linkUp, 'A sees B go');
  assert.equal(a.drv.deviceConfig(6, 2) & 1, 0, 'LINK_UP cleared');
  assert.ok(a.guest.msi.count(0) > configIrqs, 'configuration interrupt for the link change');
  transmit(a, ethFrame(MAC_B, MAC_A, 100, 5));
  assert.equal(a.net.tx.txDroppedNoLink, 1, 'sent into a dead link: dropped and counted');

  const bb2 = await open(path);
  const b2 = netRig(bb2, { mac: MAC_B }, {}, new Guest());
  postRx(b2, 8);
  await waitFor(() => ba.linkUp && bb2.linkUp, 'reconnection');
  assert.equal(a.drv.deviceConfig(6, 2) & 1, 1, 'LINK_UP again');
  const again = ethFrame(MAC_B, MAC_A, 300, 6);
  transmit(a, again);
  assert.deepEqual((await receive(b2, 1))[0]!.frame, again);
  await bb2.close();
  await ba.close();
});

test('on the wire a guest packet is its 4-byte big-endian length and the bare Ethernet frame', async (t) => {
  const path = join(tempDir(t), 'wire.sock');
  const raw = await RawPeer.listen(path);
  t.after(() => raw.close());
  const backend = await open(path);
  const a = netRig(backend);
  await waitFor(() => raw.socket !== undefined, 'accept');
  const f = ethFrame(MAC_B, MAC_A, 86, 9);
  transmit(a, f, { split: 7 });
  await waitFor(() => raw.received.length === 4 + 100, 'bytes on the wire');
  assert.deepEqual([...raw.received.subarray(0, 4)], [0, 0, 0, 100]);
  assert.deepEqual(new Uint8Array(raw.received.subarray(4)), f);
  await backend.close();
});
