import test from 'node:test';
import assert from 'node:assert/strict';
import { FwCfg } from '../../../src/vm/fwcfg/fw-cfg.js';
import type { GuestMemoryAccess } from '../../../src/vm/fwcfg/guest-memory-access.js';
import { UserError } from '../../../src/common/errors.js';

/** A RAM-backed GuestMemoryAccess that refuses anything not wholly inside its buffer. */
class Ram implements GuestMemoryAccess {
  readonly bytes = new Uint8Array(0x10000);
  reads = 0;
  read(addr: number, len: number): Uint8Array | undefined {
    this.reads++;
    if (!Number.isSafeInteger(addr) || addr < 0 || addr + len > this.bytes.length) return undefined;
    return this.bytes.slice(addr, addr + len);
  }
  write(addr: number, data: Uint8Array): boolean {
    if (!Number.isSafeInteger(addr) || addr < 0 || addr + data.length > this.bytes.length) return false;
    this.bytes.set(data, addr);
    return true;
  }
}

function readItem(fw: FwCfg, key: number, n: number): number[] {
  fw.ioWrite(0x510, 2, key);
  return Array.from({ length: n }, () => fw.ioRead(0x511, 1));
}

function bswap32(v: number): number { return ((v & 0xff) << 24 | (v & 0xff00) << 8 | (v >>> 8) & 0xff00 | v >>> 24) >>> 0; }

/** Writes a FWCfgDmaAccess at `at` and starts it through ports 0x514/0x518 (big-endian register). */
function dma(fw: FwCfg, ram: Ram, at: number, control: number, length: number, address: number, addressHigh = 0): number {
  const v = new DataView(ram.bytes.buffer);
  v.setUint32(at, control); v.setUint32(at + 4, length); v.setUint32(at + 8, addressHigh); v.setUint32(at + 12, address);
  fw.ioWrite(0x514, 4, bswap32(0));
  fw.ioWrite(0x518, 4, bswap32(at));
  return v.getUint32(at);
}

test('signature, ID, RAM size and CPU counts through the data port', () => {
  const fw = new FwCfg({ ramSize: 0x80000000, cpus: 2, maxCpus: 4, memory: new Ram() });
  assert.equal(String.fromCharCode(...readItem(fw, 0x0000, 4)), 'QEMU');
  assert.deepEqual(readItem(fw, 0x0001, 4), [3, 0, 0, 0], 'traditional + DMA');
  assert.deepEqual(readItem(fw, 0x0003, 8), [0, 0, 0, 0x80, 0, 0, 0, 0]);
  assert.deepEqual(readItem(fw, 0x0005, 2), [2, 0]);
  assert.deepEqual(readItem(fw, 0x000f, 2), [4, 0]);
  assert.deepEqual(readItem(fw, 0x0000, 6), [0x51, 0x45, 0x4d, 0x55, 0, 0], 'reads past the end return 0');
  assert.deepEqual(readItem(fw, 0x1234, 3), [0, 0, 0], 'unknown selector reads 0');
  const noDma = new FwCfg({ ramSize: 0, cpus: 1 });
  assert.deepEqual(readItem(noDma, 0x0001, 4), [1, 0, 0, 0]);
  assert.equal(noDma.ioRead(0x514, 4), 0);
});

test('DMA register reads back the "QEMU CFG" signature, big-endian', () => {
  const fw = new FwCfg({ ramSize: 0, cpus: 1, memory: new Ram() });
  const bytes = [0x514, 0x515, 0x516, 0x517, 0x518, 0x519, 0x51a, 0x51b].map((p) => fw.ioRead(p, 1));
  assert.equal(String.fromCharCode(...bytes), 'QEMU CFG');
  assert.equal(fw.ioRead(0x514, 4), 0x554d4551);
});

test('file directory lists files big-endian with 56-byte names', () => {
  const fw = new FwCfg({ ramSize: 0, cpus: 1 });
  const key = fw.addFile('etc/e820', new Uint8Array(40));
  fw.addFile('bootorder', new TextEncoder().encode('/pci@i0cf8/ide@1,1\n'));
  assert.equal(key, 0x20);
  const dir = readItem(fw, 0x0019, 4 + 128);
  assert.deepEqual(dir.slice(0, 4), [0, 0, 0, 2]);
  assert.deepEqual(dir.slice(4, 8), [0, 0, 0, 40]);
  assert.deepEqual(dir.slice(8, 10), [0, 0x20]);
  assert.equal(String.fromCharCode(...dir.slice(12, 20)), 'etc/e820');
  assert.equal(dir[20], 0);
  assert.deepEqual(dir.slice(68, 72), [0, 0, 0, 19]);
  assert.deepEqual(dir.slice(72, 74), [0, 0x21]);
  assert.equal(String.fromCharCode(...readItem(fw, 0x21, 4)), '/pci');
  assert.throws(() => fw.addFile('bootorder', new Uint8Array(1)), UserError);
  assert.throws(() => fw.addFile('x'.repeat(56), new Uint8Array(1)), /1\.\.55 bytes/);
});

test('kernel boot items: addresses, sizes, data and NUL-terminated command line', () => {
  const fw = new FwCfg({ ramSize: 0, cpus: 1 });
  fw.setKernelBoot({ kernel: Uint8Array.of(1, 2, 3), kernelAddr: 0x100000, initrd: Uint8Array.of(9), initrdAddr: 0x7000000, cmdline: 'console=ttyS0', cmdlineAddr: 0x20000, setup: Uint8Array.of(7, 7), setupAddr: 0x10000 });
  assert.deepEqual(readItem(fw, 0x07, 4), [0, 0, 0x10, 0]);
  assert.deepEqual(readItem(fw, 0x08, 4), [3, 0, 0, 0]);
  assert.deepEqual(readItem(fw, 0x11, 3), [1, 2, 3]);
  assert.deepEqual(readItem(fw, 0x0a, 4), [0, 0, 0, 7]);
  assert.deepEqual(readItem(fw, 0x0b, 4), [1, 0, 0, 0]);
  assert.deepEqual(readItem(fw, 0x12, 1), [9]);
  assert.deepEqual(readItem(fw, 0x13, 4), [0, 0, 2, 0]);
  assert.deepEqual(readItem(fw, 0x14, 4), [14, 0, 0, 0]);
  const cmd = readItem(fw, 0x15, 14);
  assert.equal(String.fromCharCode(...cmd.slice(0, 13)), 'console=ttyS0');
  assert.equal(cmd[13], 0);
  assert.deepEqual(readItem(fw, 0x16, 4), [0, 0, 1, 0]);
  assert.deepEqual(readItem(fw, 0x17, 4), [2, 0, 0, 0]);
  assert.deepEqual(readItem(fw, 0x18, 2), [7, 7]);
});

test('DMA: select + read, zero fill past the end, skip, and continuing the stream', () => {
  const ram = new Ram();
  const fw = new FwCfg({ ramSize: 0, cpus: 1, memory: ram });
  fw.addFile('etc/test', Uint8Array.from({ length: 10 }, (_, i) => 0xa0 + i));
  ram.bytes.fill(0xee, 0x2000, 0x2010);
  assert.equal(dma(fw, ram, 0x1000, (0x20 << 16) | 0x08 | 0x02, 4, 0x2000), 0);
  assert.deepEqual([...ram.bytes.subarray(0x2000, 0x2004)], [0xa0, 0xa1, 0xa2, 0xa3]);
  assert.equal(dma(fw, ram, 0x1000, 0x04, 3, 0), 0, 'skip');
  assert.equal(dma(fw, ram, 0x1000, 0x02, 6, 0x2004), 0);
  assert.deepEqual([...ram.bytes.subarray(0x2004, 0x200b)], [0xa7, 0xa8, 0xa9, 0, 0, 0, 0xee]);
  assert.equal(fw.ioRead(0x511, 1), 0, 'stream exhausted');
});

test('DMA write: only to writable files, within bounds', () => {
  const ram = new Ram();
  const fw = new FwCfg({ ramSize: 0, cpus: 1, memory: ram });
  let seen: number[] = [];
  fw.addFile('etc/ro', new Uint8Array(4));
  const rw = fw.addFile('etc/rw', new Uint8Array(4), { writable: true, onWrite: (d) => { seen = [...d]; } });
  ram.bytes.set([1, 2, 3, 4, 5], 0x3000);
  assert.equal(dma(fw, ram, 0x1000, (rw << 16) | 0x08 | 0x10, 4, 0x3000), 0);
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.equal(dma(fw, ram, 0x1000, (rw << 16) | 0x08 | 0x10, 5, 0x3000), 1, 'past the end: error bit');
  assert.equal(dma(fw, ram, 0x1000, (0x20 << 16) | 0x08 | 0x10, 1, 0x3000), 1, 'read-only file: error bit');
});

test('hostile DMA addresses are refused with the error bit, never reaching outside RAM', () => {
  const ram = new Ram();
  const fw = new FwCfg({ ramSize: 0, cpus: 1, memory: ram });
  assert.equal(dma(fw, ram, 0x1000, (0 << 16) | 0x08 | 0x02, 4, 0xfffe), 1, 'straddles the end of RAM');
  assert.equal(dma(fw, ram, 0x1000, 0x08 | 0x02, 4, 0, 0xffffffff), 1, 'above 2^53');
  assert.equal(dma(fw, ram, 0x1000, 0x08 | 0x02, 0xffffffff, 0x8000), 1, '4 GiB length');
  // A descriptor outside RAM cannot even be read: nothing happens and nothing throws.
  fw.ioWrite(0x514, 4, bswap32(0x12345678));
  fw.ioWrite(0x518, 4, bswap32(0));
  fw.ioWrite(0x518, 4, bswap32(0xfffffff8));
  assert.equal(fw.dmaErrors, 5);
});

test('save/restore carries the stream position and writable files', () => {
  const fw = new FwCfg({ ramSize: 0, cpus: 1, memory: new Ram() });
  const key = fw.addFile('etc/rw', Uint8Array.of(5, 6, 7), { writable: true });
  readItem(fw, key, 1);
  const s = fw.save();
  const fw2 = new FwCfg({ ramSize: 0, cpus: 1, memory: new Ram() });
  fw2.addFile('etc/rw', Uint8Array.of(0, 0, 0), { writable: true });
  fw2.restore(s);
  assert.equal(fw2.ioRead(0x511, 1), 6);
  const fw3 = new FwCfg({ ramSize: 0, cpus: 1 });
  assert.throws(() => fw3.restore(s), /does not exist/);
  assert.throws(() => fw3.restore({ ...s, data: { ...s.data, selector: -1 } }), /selector/);
});
