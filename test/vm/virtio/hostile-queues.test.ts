/**
 * A hostile driver against the real machine: guests/platform/virtio-hostile.asm finds virtio-rng
 * on PCI, places its BAR, negotiates, and posts a descriptor loop, a buffer past guest RAM, an
 * available-index jump and a nested indirect table. After each the device must be in
 * DEVICE_NEEDS_RESET with nothing completed, and serve well-formed requests again after a reset;
 * the guest checks that itself. Here: `viridian run` lives through all of it — after the last
 * case it still answers its control socket, and the guest, waiting for the power button, gets
 * the press and exits through port 0xf4 — and its log names each refusal, in order, once.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleFile } from '../../helpers/nasm.js';
import { controlClient, startRun } from './linux-session.js';

const dir = mkdtempSync(join(tmpdir(), 'viridian-hostile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('malformed descriptor chains put virtio-rng into DEVICE_NEEDS_RESET, a reset brings it back, and the host keeps running', { timeout: 180_000 }, async () => {
  const image = join(dir, 'virtio-hostile.bin');
  writeFileSync(image, assembleFile('guests/platform/virtio-hostile.asm'));
  const ctlPath = join(dir, 'control.sock');
  const run = startRun(['--kernel', image, '--memory', '64M', '--no-reboot', '--append', 'wait-power-button', '--control', ctlPath]);
  await run.waitFor(/virtio-hostile: waiting for the power button/);

  const ctl = await controlClient(ctlPath);
  const status = await ctl.request({ execute: 'status' });
  assert.equal(status.ok, true, JSON.stringify(status));
  assert.ok(Number(status.result?.['instructions']) > 0, 'the VM is running after every hostile case');
  assert.deepEqual(await ctl.request({ execute: 'powerdown' }), { ok: true });
  ctl.close();
  const end = await run.done;

  // (0 << 1) | 1: the guest wrote 0 to port 0xf4; another odd status names the failed check.
  assert.equal(end.status, 1, `status ${end.status}; COM1:\n${run.output()}\nstderr:\n${end.stderr}`);
  const progress = run.output().split('\n').filter((l) => l.startsWith('virtio-hostile: '));
  assert.deepEqual(progress, [
    'virtio-hostile: start',
    'virtio-hostile: found virtio-rng',
    'virtio-hostile: a well-formed request is served',
    'virtio-hostile: descriptor loop refused; served again after reset',
    'virtio-hostile: buffer past RAM refused; served again after reset',
    'virtio-hostile: available index jump refused; served again after reset',
    'virtio-hostile: nested indirect table refused',
    'virtio-hostile: a well-formed indirect chain is served after reset',
    'virtio-hostile: all checks passed',
    'virtio-hostile: waiting for the power button',
    'virtio-hostile: power button pressed',
  ]);
  const refusals = end.stderr.split('\n').filter((l) => l.startsWith('viridian: '));
  assert.equal(refusals.length, 4, `one log line per malformed chain:\n${end.stderr}`);
  assert.match(refusals[0]!, /virtio-rng: queue 0: descriptor chain from head 0 loops back to descriptor 0/);
  assert.match(refusals[1]!, /virtio-rng: queue 0: descriptor 0 buffer 0x200000\+4026531840 is outside guest RAM/);
  assert.match(refusals[2]!, /virtio-rng: queue 0: available index \d+ is 17 entries ahead of \d+, more than the queue size 16/);
  assert.match(refusals[3]!, /virtio-rng: queue 0: indirect table at descriptor 0 holds a nested indirect descriptor/);
});
