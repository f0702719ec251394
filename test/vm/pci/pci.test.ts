import test from 'node:test';
import assert from 'node:assert/strict';
import { PciFunction } from '../../../src/vm/pci/pci-function.js';
import { PciRoot } from '../../../src/vm/pci/pci-root.js';
import { PciConfigIo } from '../../../src/vm/pci/pci-config-io.js';
import { PciEcam } from '../../../src/vm/pci/pci-ecam.js';
import { createHostBridge } from '../../../src/vm/pci/host-bridge.js';
import { PciIntxRouter, standardSwizzle } from '../../../src/vm/pci/pci-intx.js';
import { MsiCapability } from '../../../src/vm/pci/pci-msi.js';
import { MsixCapability } from '../../../src/vm/pci/pci-msix.js';
import type { IrqLine, MsiTarget } from '../../../src/vm/bus/irq.js';

function cf8(bus: number, dev: number, fn: number, reg: number): number { return (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | reg) >>> 0; }

function board(): { root: PciRoot; io: PciConfigIo; ecam: PciEcam } {
  const root = new PciRoot();
  root.add(0, 0, 0, createHostBridge());
  return { root, io: new PciConfigIo(root), ecam: new PciEcam(root, 4) };
}

function nic(): PciFunction { return new PciFunction({ name: 'test-nic', vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000, interruptPin: 1 }); }

test('mechanism #1 reads the host bridge identity at 00:00.0 in every access size', () => {
  const { io } = board();
  io.ioWrite(0xcf8, 4, cf8(0, 0, 0, 0));
  assert.equal(io.ioRead(0xcf8, 4), cf8(0, 0, 0, 0));
  assert.equal(io.ioRead(0xcfc, 4), 0x29c08086);
  assert.equal(io.ioRead(0xcfc, 2), 0x8086);
  assert.equal(io.ioRead(0xcfe, 2), 0x29c0);
  assert.equal(io.ioRead(0xcfd, 1), 0x80);
  io.ioWrite(0xcf8, 4, cf8(0, 0, 0, 8));
  assert.equal(io.ioRead(0xcfc, 4) >>> 8, 0x060000, 'class code: host bridge');
  io.ioWrite(0xcf8, 4, cf8(0, 3, 0, 0));
  assert.equal(io.ioRead(0xcfc, 4), 0xffffffff, 'empty slot reads all ones');
  io.ioWrite(0xcf8, 4, 0x00000000);
  assert.equal(io.ioRead(0xcfc, 4), 0xffffffff, 'enable bit clear: no configuration cycle');
  io.ioWrite(0xcf9, 1, 0x06); // byte write to 0xCF9 is not CONFIG_ADDRESS
  assert.equal(io.ioRead(0xcf8, 4), 0);
});

test('0xCF9 byte writes go to the board hook (reset control)', () => {
  const seen: number[] = [];
  const io = new PciConfigIo(new PciRoot(), (port, _size, v) => seen.push(port, v));
  io.ioWrite(0xcf9, 1, 0x06);
  assert.deepEqual(seen, [0xcf9, 6]);
});

test('ECAM reaches the same functions; conventional functions read 0 above 0xFF', () => {
  const { root, ecam } = board();
  const f = nic();
  root.add(1, 2, 3, f);
  const d = new Uint8Array(4);
  ecam.mmioRead(0, d);
  assert.deepEqual([...d], [0x86, 0x80, 0xc0, 0x29]);
  ecam.mmioRead((1 << 20) | (2 << 15) | (3 << 12), d);
  assert.deepEqual([...d], [0xf4, 0x1a, 0x41, 0x10]);
  ecam.mmioRead((1 << 20) | (2 << 15) | (3 << 12) | 0x100, d);
  assert.deepEqual([...d], [0, 0, 0, 0]);
  ecam.mmioRead((1 << 20) | (5 << 15), d);
  assert.deepEqual([...d], [0xff, 0xff, 0xff, 0xff]);
  ecam.mmioWrite((1 << 20) | (2 << 15) | (3 << 12) | 0x3c, Uint8Array.of(0x0b));
  assert.equal(f.readConfig(0x3c, 1), 0x0b);
  assert.equal(ecam.size, 4 << 20);
});

test('BAR sizing returns the size mask with the type bits (PCI 3.0 6.2.5.1)', () => {
  const f = nic();
  f.defineBar(0, { kind: 'mem32', size: 0x1000 });
  f.defineBar(1, { kind: 'io', size: 0x20 });
  f.defineBar(2, { kind: 'mem64', size: 0x100000, prefetchable: true });
  f.defineBar(4, { kind: 'mem64', size: 2 ** 33 });
  for (let i = 0; i < 6; i++) f.writeConfig(0x10 + 4 * i, 4, 0xffffffff);
  assert.equal(f.readConfig(0x10, 4), 0xfffff000);
  assert.equal(f.readConfig(0x14, 4), 0xffffffe1);
  assert.equal(f.readConfig(0x18, 4), 0xfff0000c);
  assert.equal(f.readConfig(0x1c, 4), 0xffffffff);
  assert.equal(f.readConfig(0x20, 4), 0x00000004);
  assert.equal(f.readConfig(0x24, 4), 0xfffffffe);
  assert.throws(() => f.defineBar(5, { kind: 'mem32', size: 0x1000 }), /already defined/);
  assert.throws(() => nic().defineBar(0, { kind: 'mem32', size: 3000 }), /power of two/);
  assert.throws(() => nic().defineBar(5, { kind: 'mem64', size: 16 }), /does not fit/);
});

test('BAR mapping callbacks follow the command register and address writes', () => {
  const f = nic();
  const events: (number | undefined)[][] = [];
  f.defineBar(0, { kind: 'mem32', size: 0x1000, onMap: (b, p) => events.push([b, p]) });
  f.defineBar(1, { kind: 'io', size: 0x20, onMap: (b, p) => events.push([b, p]) });
  f.writeConfig(0x10, 4, 0xfebf1000);
  f.writeConfig(0x14, 4, 0xc040);
  assert.deepEqual(events, [], 'nothing decoded before the command register enables it');
  f.writeConfig(0x04, 2, 0x0003);
  assert.deepEqual(events, [[0xfebf1000, undefined], [0xc040, undefined]]);
  f.writeConfig(0x10, 4, 0xfebf2000);
  assert.deepEqual(events[2], [0xfebf2000, 0xfebf1000]);
  f.writeConfig(0x04, 2, 0x0001);
  assert.deepEqual(events[3], [undefined, 0xfebf2000]);
  assert.equal(f.barMapping(1), 0xc040);
  assert.equal(f.barAddress(0), 0xfebf2000);
});

test('read-only identity, writable command bits, write-1-to-clear status', () => {
  const f = nic();
  f.writeConfig(0x00, 4, 0x12345678);
  assert.equal(f.readConfig(0, 4), 0x10411af4);
  f.writeConfig(0x04, 2, 0xffff);
  assert.equal(f.readConfig(0x04, 2), 0x0547);
  f.config[0x07] = 0x80; // device reports a parity error (bit 15)
  f.writeConfig(0x06, 2, 0x0000);
  assert.equal(f.readConfig(0x06, 2), 0x8000, 'writing 0 leaves it');
  f.writeConfig(0x06, 2, 0x8000);
  assert.equal(f.readConfig(0x06, 2), 0x0000, 'writing 1 clears it');
  assert.equal(f.readConfig(0x3d, 1), 1, 'interrupt pin INTA#');
  f.writeConfig(0x3d, 1, 3);
  assert.equal(f.readConfig(0x3d, 1), 1);
});

test('capability list chains from 0x34 and sets the status bit', () => {
  const f = nic();
  const a = f.addCapability(0x09, 8);
  const b = f.addCapability(0x01, 8);
  assert.equal(f.readConfig(0x06, 2) & 0x10, 0x10);
  assert.equal(f.readConfig(0x34, 1), a);
  assert.equal(f.readConfig(a, 1), 0x09);
  assert.equal(f.readConfig(a + 1, 1), b);
  assert.equal(f.readConfig(b + 1, 1), 0);
  assert.throws(() => f.addCapability(0x05, 200), /no room/);
});

test('multi-function bit appears on function 0 when a sibling is added', () => {
  const { root, io } = board();
  root.add(0, 4, 0, nic());
  io.ioWrite(0xcf8, 4, cf8(0, 4, 0, 0x0c));
  assert.equal((io.ioRead(0xcfc, 4) >>> 16) & 0x80, 0);
  root.add(0, 4, 1, nic());
  assert.equal((io.ioRead(0xcfc, 4) >>> 16) & 0x80, 0x80);
  assert.throws(() => root.add(0, 4, 1, nic()), /taken/);
  assert.throws(() => root.add(0, 32, 0, nic()), /out of range/);
});

class LevelLine implements IrqLine { level = false; changes = 0; set(l: boolean): void { if (l !== this.level) this.changes++; this.level = l; } pulse(): void { this.changes += 2; } }

test('INTx: swizzle onto GSIs, wired-OR sharing, interrupt-disable bit and status bit', () => {
  const lines = new Map<number, LevelLine>();
  const router = new PciIntxRouter(standardSwizzle, (gsi) => { let l = lines.get(gsi); if (l === undefined) { l = new LevelLine(); lines.set(gsi, l); } return l; });
  const root = new PciRoot(router);
  const a = nic(), b = nic(), c = nic();
  root.add(0, 2, 0, a); // INTA at device 2 -> 16 + (2+0)%4 = 18
  root.add(0, 6, 0, b); // device 6 -> 16 + 6%4 = 18: shares with a
  root.add(0, 3, 0, c); // device 3 -> 19
  assert.equal(a.readConfig(0x3c, 1), 18);
  assert.equal(c.readConfig(0x3c, 1), 19);
  a.setIntx(true);
  b.setIntx(true);
  assert.equal(lines.get(18)!.level, true);
  a.setIntx(false);
  assert.equal(lines.get(18)!.level, true, 'b still holds the shared line');
  b.setIntx(false);
  assert.equal(lines.get(18)!.level, false);
  c.setIntx(true);
  assert.equal(c.readConfig(0x06, 2) & 0x08, 0x08, 'interrupt status bit');
  c.writeConfig(0x04, 2, 0x0400);
  assert.equal(lines.get(19)!.level, false, 'interrupt disable releases the line');
  c.writeConfig(0x04, 2, 0x0000);
  assert.equal(lines.get(19)!.level, true);
});

class Sink implements MsiTarget { msgs: [number, number][] = []; signalMsi(a: number, d: number): void { this.msgs.push([a, d]); } }

test('MSI capability: enable, multiple message, per-vector mask and pending', () => {
  const f = nic();
  const sink = new Sink();
  const msi = new MsiCapability(f, sink, { vectors: 4, is64bit: true, perVectorMasking: true });
  const o = msi.offset;
  assert.equal(f.readConfig(o, 1), 0x05);
  assert.equal(f.readConfig(o + 2, 2), 0x0184, '64-bit, per-vector masking, MMC=2 (4 vectors)');
  assert.equal(msi.notify(0), false, 'disabled');
  f.writeConfig(0x04, 2, 0x0004); // bus master
  f.writeConfig(o + 4, 4, 0xfee01000);
  f.writeConfig(o + 8, 4, 0);
  f.writeConfig(o + 0x0c, 2, 0x4040);
  f.writeConfig(o + 2, 2, 0x0011); // enable, MME=1: 2 vectors
  assert.equal(msi.enabledVectors(), 2);
  assert.equal(msi.notify(1), true);
  assert.deepEqual(sink.msgs, [[0xfee01000, 0x4041]]);
  assert.equal(msi.notify(2), false, 'beyond enabled vectors');
  f.writeConfig(o + 0x10, 4, 0x1);
  msi.notify(0);
  assert.equal(sink.msgs.length, 1);
  assert.equal(f.readConfig(o + 0x14, 4), 1, 'pending bit');
  f.writeConfig(o + 0x10, 4, 0);
  assert.deepEqual(sink.msgs[1], [0xfee01000, 0x4040]);
  assert.equal(f.readConfig(o + 0x14, 4), 0);
});

test('MSI-X: table entries start masked, PBA pending, unmask and function mask', () => {
  const f = nic();
  const sink = new Sink();
  f.defineBar(1, { kind: 'mem32', size: 0x2000 });
  const x = new MsixCapability(f, sink, { vectors: 3, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x1000 });
  const o = x.offset;
  assert.equal(f.readConfig(o, 1), 0x11);
  assert.equal(f.readConfig(o + 2, 2), 2, 'table size N-1');
  assert.equal(f.readConfig(o + 4, 4), 0x00000001, 'table in BAR1 at 0');
  assert.equal(f.readConfig(o + 8, 4), 0x00001001, 'PBA in BAR1 at 0x1000');
  const w = (off: number, v: number): void => { const d = new Uint8Array(4); new DataView(d.buffer).setUint32(0, v, true); x.table.mmioWrite(off, d); };
  const r = (dev: { mmioRead(o: number, d: Uint8Array): void }, off: number): number => { const d = new Uint8Array(4); dev.mmioRead(off, d); return new DataView(d.buffer).getUint32(0, true); };
  assert.equal(r(x.table, 0x1c), 1, 'vector control mask bit set at reset');
  f.writeConfig(0x04, 2, 0x0006);
  f.writeConfig(o + 2, 2, 0x8000);
  w(0x10, 0xfee00000); w(0x14, 0); w(0x18, 0x55);
  x.notify(1);
  assert.deepEqual(sink.msgs, []);
  assert.equal(r(x.pba, 0), 0b10, 'pending bit for vector 1');
  w(0x1c, 0);
  assert.deepEqual(sink.msgs, [[0xfee00000, 0x55]]);
  assert.equal(r(x.pba, 0), 0);
  f.writeConfig(o + 2, 2, 0xc000); // function mask
  x.notify(1);
  assert.equal(sink.msgs.length, 1);
  f.writeConfig(o + 2, 2, 0x8000);
  assert.equal(sink.msgs.length, 2, 'clearing the function mask sends the pending message');
  assert.equal(x.notify(7), false);
});

test('function save/restore re-announces BAR mappings and refuses another device', () => {
  const f = nic();
  f.defineBar(0, { kind: 'mem32', size: 0x1000 });
  f.writeConfig(0x10, 4, 0xfe000000);
  f.writeConfig(0x04, 2, 0x0002);
  const s = f.save();
  const g = nic();
  const maps: (number | undefined)[] = [];
  g.defineBar(0, { kind: 'mem32', size: 0x1000, onMap: (b) => maps.push(b) });
  g.restore(s);
  assert.deepEqual(maps, [0xfe000000]);
  const other = new PciFunction({ name: 'other', vendorId: 0x8086, deviceId: 0x100e, classCode: 0x020000 });
  assert.throws(() => other.restore(s), /identity/);
  assert.equal(other.readConfig(0, 4), 0x100e8086);
});

test('MSI-X table and PBA survive save/restore; a different table size is refused', () => {
  const mk = (n: number): MsixCapability => new MsixCapability(nic(), new Sink(), { vectors: n, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 });
  const x = mk(4);
  const d = new Uint8Array(4); d[0] = 0x44; x.table.mmioWrite(0x28, d);
  const y = mk(4);
  y.restore(x.save());
  const out = new Uint8Array(4); y.table.mmioRead(0x28, out);
  assert.equal(out[0], 0x44);
  assert.throws(() => mk(5).restore(x.save()), /4 vectors/);
});

test('mechanism #1 and ECAM read identical bytes for every register of every slot', () => {
  const { root, io, ecam } = board();
  const f = nic();
  f.defineBar(0, { kind: 'mem32', size: 0x1000 });
  f.addCapability(0x09, 6);
  root.add(0, 7, 0, f);
  const d = new Uint8Array(4);
  for (const dev of [0, 1, 7]) {
    for (let reg = 0; reg < 256; reg += 4) {
      io.ioWrite(0xcf8, 4, cf8(0, dev, 0, reg));
      ecam.mmioRead((dev << 15) | reg, d);
      assert.equal(io.ioRead(0xcfc, 4), new DataView(d.buffer).getUint32(0, true), `device ${dev} register 0x${reg.toString(16)}`);
    }
  }
});

test('mechanism #1 word write at 0xCFE reaches the upper half of the dword', () => {
  const { root, io } = board();
  const f = nic();
  root.add(0, 2, 0, f);
  io.ioWrite(0xcf8, 4, cf8(0, 2, 0, 0x0c));
  io.ioWrite(0xcfd, 1, 0x40); // latency timer at 0x0D
  assert.equal(f.readConfig(0x0d, 1), 0x40);
  io.ioWrite(0xcf8, 4, cf8(0, 2, 0, 0x3c));
  io.ioWrite(0xcfc, 2, 0x0a0b);
  assert.equal(f.readConfig(0x3c, 2), 0x010b, 'line writable, pin read-only');
});
