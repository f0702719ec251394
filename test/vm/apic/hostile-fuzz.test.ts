/**
 * Every register of every device in this area takes any value at any offset and size from a
 * hostile guest: random accesses must never throw, hang or break the devices' invariants.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { machine } from './helpers.js';
import { IoApic } from '../../../src/vm/apic/ioapic.js';
import { ApicMmioWindow } from '../../../src/vm/apic/apic-mmio-window.js';
import { PciRoot } from '../../../src/vm/pci/pci-root.js';
import { PciConfigIo } from '../../../src/vm/pci/pci-config-io.js';
import { PciEcam } from '../../../src/vm/pci/pci-ecam.js';
import { createHostBridge } from '../../../src/vm/pci/host-bridge.js';
import { PciFunction } from '../../../src/vm/pci/pci-function.js';
import { MsiCapability } from '../../../src/vm/pci/pci-msi.js';
import { MsixCapability } from '../../../src/vm/pci/pci-msix.js';
import { PciIntxRouter, standardSwizzle } from '../../../src/vm/pci/pci-intx.js';
import { FwCfg } from '../../../src/vm/fwcfg/fw-cfg.js';
import type { IoSize } from '../../../src/vm/bus/port-io-bus.js';

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

const SIZES: IoSize[] = [1, 2, 4];

test('random MMIO, MSR, port and pin traffic never throws', () => {
  const r = rng(0x5eed);
  const m = machine(3, { x2apic: true, tscToNs: (t) => Number(t % 1000000n) });
  const io = new IoApic(m.bus);
  let current = 0;
  const window = new ApicMmioWindow(() => m.apics[current]);
  const root = new PciRoot(new PciIntxRouter(standardSwizzle, (gsi) => io.pin(gsi)));
  root.add(0, 0, 0, createHostBridge());
  const dev = new PciFunction({ name: 'fuzz-dev', vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: 2, pcie: true });
  dev.defineBar(0, { kind: 'io', size: 0x40, onMap: () => { /* mapped */ } });
  dev.defineBar(1, { kind: 'mem32', size: 0x4000 });
  dev.defineBar(2, { kind: 'mem64', size: 0x100000, prefetchable: true });
  const msi = new MsiCapability(dev, m.bus, { vectors: 8, perVectorMasking: true });
  const msix = new MsixCapability(dev, m.bus, { vectors: 5, tableBar: 1, tableOffset: 0, pbaBar: 1, pbaOffset: 0x800 });
  dev.addExtendedCapability(0x0001, 1, 0x40);
  root.add(0, 1, 0, dev);
  const cfg = new PciConfigIo(root);
  const ecam = new PciEcam(root, 2);
  const ram = new Uint8Array(0x4000);
  const fw = new FwCfg({ ramSize: ram.length, cpus: 3, memory: {
    read: (a, n) => (a >= 0 && a + n <= ram.length ? ram.slice(a, a + n) : undefined),
    write: (a, b) => { if (a < 0 || a + b.length > ram.length) return false; ram.set(b, a); return true; },
  } });
  fw.addFile('etc/rw', new Uint8Array(64), { writable: true });

  const bytes = (): Uint8Array => Uint8Array.from({ length: 1 + (r() % 16) }, () => r() & 0xff);
  const big = (): bigint => (BigInt(r()) << 32n) | BigInt(r());
  for (let i = 0; i < 60000; i++) {
    current = r() % 3;
    const apic = m.apics[current]!;
    switch (r() % 16) {
      case 0: window.mmioWrite(r() & 0xfff, bytes()); break;
      case 1: window.mmioRead(r() & 0xfff, new Uint8Array(1 + (r() % 16))); break;
      case 2: apic.writeMsr(0x7f0 + (r() % 0x120), r() % 4 === 0 ? big() : BigInt(r())); apic.readMsr(0x7f0 + (r() % 0x120)); break;
      case 3: apic.writeApicBase(r() % 2 === 0 ? big() : 0xfee00000n | BigInt((r() % 4) << 10)); break;
      case 4: apic.writeTscDeadline(big()); apic.pendingVector(); if (r() % 2 === 0) apic.acknowledge(); break;
      case 5: m.clock.advance(r() % 5000); m.clock.runDue(); break;
      case 6: io.mmioWrite(r() & 0xff, bytes()); io.mmioRead(r() & 0xff, new Uint8Array(1 + (r() % 8))); break;
      case 7: io.pin(r() % 24).set(r() % 2 === 0); break;
      case 8: cfg.ioWrite(0xcf8 + (r() % 8), SIZES[r() % 3]!, r()); cfg.ioRead(0xcf8 + (r() % 8), SIZES[r() % 3]!); break;
      case 9: cfg.ioWrite(0xcf8, 4, (0x80000000 | (r() & 0x00ff07fc)) >>> 0); cfg.ioWrite(0xcfc + (r() % 4), SIZES[r() % 3]!, r()); break;
      case 10: ecam.mmioWrite(r() % (ecam.size + 16), bytes()); ecam.mmioRead(r() % ecam.size, new Uint8Array(1 + (r() % 8))); break;
      case 11: dev.writeConfig(r() % 4200, SIZES[r() % 3]!, r()); dev.setIntx(r() % 2 === 0); break;
      case 12: msix.table.mmioWrite(r() % 100, bytes()); msix.pba.mmioRead(r() % 16, new Uint8Array(8)); msix.notify(r() % 8); msi.notify(r() % 9); break;
      case 13: fw.ioWrite(0x510 + (r() % 12), SIZES[r() % 3]!, r()); fw.ioRead(0x510 + (r() % 12), SIZES[r() % 3]!); break;
      case 14: fw.ioWrite(0x514, 4, 0); ram.set(bytes(), r() % 0x3ff0); fw.ioWrite(0x518, 4, r() % 3 === 0 ? r() : ((r() % 0x4000) << 24) >>> 0); break;
      default: m.bus.signalMsi(r(), r()); break;
    }
  }
  for (const a of m.apics) {
    const v = a.pendingVector();
    assert.ok(Number.isInteger(v) && v >= -1 && v <= 255, `pending vector ${v} in range`);
    a.restore(a.save());
  }
  io.restore(io.save());
  dev.restore(dev.save());
  fw.restore(fw.save());
  m.clock.advance(1e12);
  m.clock.runDue();
  assert.ok(m.clock.nextDeadline() > m.clock.nowNs());
});
