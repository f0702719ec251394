import test from 'node:test';
import assert from 'node:assert/strict';
import { SystemControlA } from '../../../src/vm/devices/system-control-a.js';
import { ResetControl } from '../../../src/vm/devices/reset-control.js';
import { PostPort } from '../../../src/vm/devices/post-port.js';
import { DebugExit } from '../../../src/vm/devices/debug-exit.js';
import { FakePlatform, hammerPorts } from './fakes.js';

test('port 0x92: bit 1 drives A20, bit 0 requests a reset and reads back as 0', () => {
  const p = new FakePlatform();
  const d = new SystemControlA(p);
  assert.equal(d.ioRead(0x92, 1) & 2, 2, 'A20 on after reset');
  d.ioWrite(0x92, 1, 0x00);
  assert.deepEqual(p.a20, [false]);
  assert.equal(d.ioRead(0x92, 1) & 3, 0);
  d.ioWrite(0x92, 1, 0x03);
  assert.deepEqual(p.a20, [false, true]);
  assert.equal(p.resets.length, 1);
  assert.equal(d.ioRead(0x92, 1) & 3, 2);
  assert.equal(d.ioRead(0x92, 2), 0xff02, 'upper byte lane floats high');
});

test('port 0xCF9: writing RST_CPU (bit 2) resets, SYS_RST selects a hard reset, bits 1 and 3 read back', () => {
  const p = new FakePlatform();
  const d = new ResetControl(p);
  d.ioWrite(0xcf9, 1, 0x02);
  assert.equal(p.resets.length, 0);
  assert.equal(d.ioRead(0xcf9, 1), 0x02);
  d.ioWrite(0xcf9, 1, 0x06);
  assert.equal(p.resets.length, 1);
  assert.match(p.resets[0]!, /hard/);
  d.ioWrite(0xcf9, 1, 0x04);
  assert.match(p.resets[1]!, /soft/);
  const s = d.save();
  const d2 = new ResetControl(p);
  d2.restore(s);
  assert.equal(d2.ioRead(0xcf9, 1), d.ioRead(0xcf9, 1));
  assert.throws(() => d2.restore({ id: 'pc.rcr', version: 1, data: { rcr: 0x04 } }), /bits other than/);
});

test('POST port keeps the last code and reads it back', () => {
  const d = new PostPort();
  d.ioWrite(0x80, 1, 0x12);
  d.ioWrite(0x80, 1, 0x34);
  assert.equal(d.ioRead(0x80, 1), 0x34);
  assert.equal(d.lastCode(), 0x34);
  assert.equal(d.codeCount(), 2);
  const d2 = new PostPort();
  d2.restore(d.save());
  assert.equal(d2.ioRead(0x80, 1), 0x34);
  assert.throws(() => d2.restore({ id: 'pc.post', version: 1, data: { last: 300, writes: 1 } }), /last/);
});

test('debug exit: writing v ends the VM with status (v << 1) | 1, as QEMU isa-debug-exit', () => {
  const p = new FakePlatform();
  const d = new DebugExit(p);
  d.ioWrite(0xf4, 1, 0);
  d.ioWrite(0xf4, 1, 0x10);
  d.ioWrite(0xf4, 1, 0x1ff); // a byte write carries only the low byte
  d.ioWrite(0xf4, 4, 0xffffffff);
  assert.deepEqual(p.exits, [1, 0x21, 0x1ff, 0x1ffffffff]);
});

test('small ports tolerate any value at any size', () => {
  const p = new FakePlatform();
  for (const [dev, port] of [[new SystemControlA(p), 0x92], [new ResetControl(p), 0xcf9], [new PostPort(), 0x80], [new DebugExit(p), 0xf4]] as const) {
    hammerPorts(dev, port, port, 500, port);
  }
});
