import test from 'node:test';
import assert from 'node:assert/strict';
import { machine, mmioRead32, mmioWrite32, enable } from './helpers.js';
import { SavedStateError } from '../../../src/common/saved-state.js';

// Register offsets and values below are from Intel SDM vol. 3A ch. 11 (Table 11-1 and 11.4.7.1).
const ID = 0x20, VER = 0x30, TPR = 0x80, PPR = 0xa0, EOI = 0xb0, LDR = 0xd0, DFR = 0xe0, SVR = 0xf0;
const ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310;
const LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370, TICR = 0x380, TCCR = 0x390, TDCR = 0x3e0;

function ipi(apic: Parameters<typeof mmioWrite32>[0], dest: number, low: number): void {
  mmioWrite32(apic, ICR_HI, dest << 24);
  mmioWrite32(apic, ICR_LO, low);
}

test('power-up register values follow SDM 11.4.7.1', () => {
  const { apics } = machine(2);
  const ap = apics[1]!;
  assert.equal(mmioRead32(ap, ID), 1 << 24);
  assert.equal(mmioRead32(ap, VER) & 0xff, 0x14);
  assert.equal((mmioRead32(ap, VER) >>> 16) & 0xff, 5, 'six LVT entries: max LVT index 5');
  assert.equal(mmioRead32(ap, SVR), 0xff);
  assert.equal(mmioRead32(ap, DFR), 0xffffffff);
  for (const lvt of [LVT_TIMER, 0x330, 0x340, LVT_LINT0, LVT_LINT1, LVT_ERROR]) assert.equal(mmioRead32(ap, lvt), 0x10000, `LVT ${lvt.toString(16)} masked`);
  assert.equal(mmioRead32(apics[0]!, LVT_LINT0), 0x700, 'BSP LINT0 is virtual-wire ExtINT (QEMU compatibility)');
  assert.equal(apics[0]!.readApicBase(), 0xfee00000n | (1n << 11n) | (1n << 8n));
  assert.equal(apics[1]!.readApicBase(), 0xfee00000n | (1n << 11n));
});

test('fixed IPI: IRR -> acknowledge -> ISR -> EOI, with PPR following the in-service class', () => {
  const { apics, cpus } = machine(2);
  const [a, b] = [apics[0]!, apics[1]!];
  enable(b);
  ipi(a, 1, 0x4031);
  assert.equal(mmioRead32(b, IRR + 0x10), 1 << (0x31 - 32), 'IRR bit 0x31');
  assert.ok(cpus[1]!.notifies > 0);
  assert.equal(b.pendingVector(), 0x31);
  assert.equal(b.acknowledge(), 0x31);
  assert.equal(mmioRead32(b, IRR + 0x10), 0);
  assert.equal(mmioRead32(b, ISR + 0x10), 1 << (0x31 - 32));
  assert.equal(mmioRead32(b, PPR), 0x30);
  // A lower-class interrupt waits while 0x31 is in service; a higher class preempts.
  ipi(a, 1, 0x4025);
  assert.equal(b.pendingVector(), -1);
  ipi(a, 1, 0x4041);
  assert.equal(b.pendingVector(), 0x41);
  assert.equal(b.acknowledge(), 0x41);
  mmioWrite32(b, EOI, 0); // ends 0x41 (highest in service)
  assert.equal(mmioRead32(b, ISR + 0x20), 0);
  assert.equal(mmioRead32(b, ISR + 0x10), 1 << (0x31 - 32));
  mmioWrite32(b, EOI, 0);
  assert.equal(b.pendingVector(), 0x25);
});

test('TPR blocks classes at or below it; CR8 view goes through getTpr/setTpr', () => {
  const { apics } = machine(1);
  const a = apics[0]!;
  enable(a);
  a.setTpr(0x50);
  assert.equal(mmioRead32(a, TPR), 0x50);
  ipi(a, 0, 0x4055);
  assert.equal(a.pendingVector(), -1, 'class 5 is not above TPR class 5');
  mmioWrite32(a, TPR, 0x40);
  assert.equal(a.getTpr(), 0x40);
  assert.equal(a.pendingVector(), 0x55);
  assert.equal(mmioRead32(a, PPR), 0x40);
});

test('software-disabled APIC holds interrupts and keeps LVTs masked', () => {
  const { apics } = machine(1);
  const a = apics[0]!;
  mmioWrite32(a, SVR, 0x0ff);
  mmioWrite32(a, LVT_LINT1, 0x00000440); // unmasked NMI attempt
  assert.equal(mmioRead32(a, LVT_LINT1) & 0x10000, 0x10000, 'mask cannot be cleared while software-disabled');
  ipi(a, 0, 0x4040 | (1 << 18)); // self
  assert.equal(a.pendingVector(), -1);
  assert.equal(a.acknowledge(), 0xff, 'spurious vector when nothing is deliverable');
  enable(a);
  assert.equal(a.pendingVector(), 0x40);
});

test('logical destinations: flat and cluster models; shorthands', () => {
  const { apics } = machine(4);
  for (const a of apics) enable(a);
  apics.forEach((a, i) => mmioWrite32(a, LDR, (1 << i) << 24));
  // Flat: MDA 0b0110 selects APICs 1 and 2.
  ipi(apics[0]!, 0x06, 0x4800 | 0x50);
  assert.deepEqual(apics.map((a) => a.pendingVector()), [-1, 0x50, 0x50, -1]);
  for (const a of apics) a.acknowledge();
  // Cluster model: cluster in LDR[31:28], members in LDR[27:24].
  apics.forEach((a, i) => { mmioWrite32(a, DFR, 0x0fffffff); mmioWrite32(a, LDR, (((i >> 1) << 4) | (1 << (i & 1))) << 24); });
  ipi(apics[0]!, 0x12, 0x4800 | 0x60); // cluster 1, member bit 1 -> APIC 3
  assert.deepEqual(apics.map((a) => a.pendingVector()), [-1, -1, -1, 0x60]);
  apics[3]!.acknowledge();
  ipi(apics[1]!, 0, 0x4000 | 0x70 | (3 << 18)); // all but self
  assert.deepEqual(apics.map((a) => a.pendingVector()), [0x70, -1, 0x70, 0x70]);
  ipi(apics[1]!, 0, 0x4000 | 0x71 | (1 << 18)); // self
  assert.equal(apics[1]!.pendingVector(), 0x71);
  ipi(apics[1]!, 0, 0x4000 | 0x80 | (2 << 18)); // all including self
  assert.deepEqual(apics.map((a) => a.pendingVector()), [0x80, 0x80, 0x80, 0x80]);
  ipi(apics[2]!, 0xff, 0x4000 | 0x90); // physical broadcast
  assert.deepEqual(apics.map((a) => a.pendingVector()), [0x90, 0x90, 0x90, 0x90]);
});

test('lowest-priority delivery picks the APIC with the lowest task priority', () => {
  const { apics } = machine(3);
  for (const a of apics) enable(a);
  apics.forEach((a) => mmioWrite32(a, LDR, 0x01000000));
  mmioWrite32(apics[0]!, TPR, 0x30);
  mmioWrite32(apics[1]!, TPR, 0x10);
  mmioWrite32(apics[2]!, TPR, 0x20);
  ipi(apics[0]!, 0x01, 0x4000 | 0x800 | 0x100 | 0x45);
  assert.deepEqual(apics.map((a) => a.pendingVector()), [-1, 0x45, -1]);
});

test('INIT, INIT de-assert, SIPI and NMI reach the processor', () => {
  const { apics, cpus } = machine(2);
  const [a, b] = [apics[0]!, apics[1]!];
  enable(b);
  mmioWrite32(b, TPR, 0x20);
  ipi(a, 1, 0x00008500); // INIT level de-assert (trigger=level, level=0): no effect
  assert.equal(cpus[1]!.inits, 0);
  ipi(a, 1, 0x00004500); // INIT assert
  assert.equal(cpus[1]!.inits, 1);
  assert.equal(mmioRead32(b, SVR), 0xff, 'INIT resets the APIC registers');
  assert.equal(mmioRead32(b, TPR), 0);
  assert.equal(mmioRead32(b, ID), 1 << 24, 'but keeps the ID');
  ipi(a, 1, 0x00004600 | 0x9a); // STARTUP at 0x9a000
  assert.deepEqual(cpus[1]!.sipis, [0x9a]);
  ipi(a, 1, 0x00004400); // NMI
  assert.equal(cpus[1]!.nmis, 1);
});

test('illegal vectors set ESR send/receive bits, latched by an ESR write', () => {
  const { apics } = machine(1);
  const a = apics[0]!;
  enable(a);
  ipi(a, 0, 0x4005 | (1 << 18));
  assert.equal(mmioRead32(a, ESR), 0, 'ESR shows nothing until written');
  mmioWrite32(a, ESR, 0);
  assert.equal(mmioRead32(a, ESR), 1 << 5, 'send illegal vector');
  mmioWrite32(a, ESR, 0);
  assert.equal(mmioRead32(a, ESR), 0, 'a second write clears it');
});

test('error LVT raises an interrupt on a new error', () => {
  const { apics } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, LVT_ERROR, 0xfe);
  ipi(a, 0, 0x4003 | (1 << 18));
  assert.equal(a.pendingVector(), 0xfe);
});

test('one-shot timer: count follows bus clock / divider and fires once', () => {
  const { apics, clock } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, TDCR, 0x3); // divide by 16 (SDM fig. 11-10)
  mmioWrite32(a, LVT_TIMER, 0x40);
  mmioWrite32(a, TICR, 1000);
  clock.advance(1600); // 100 ticks of 16 ns
  assert.equal(mmioRead32(a, TCCR), 900);
  clock.runDue();
  assert.equal(a.pendingVector(), -1);
  clock.advance(16000 - 1600);
  clock.runDue();
  assert.equal(mmioRead32(a, TCCR), 0);
  assert.equal(a.pendingVector(), 0x40);
  a.acknowledge(); mmioWrite32(a, EOI, 0);
  clock.advance(100000); clock.runDue();
  assert.equal(a.pendingVector(), -1, 'one-shot does not re-arm');
});

test('divide value 0xB is divide-by-1', () => {
  const { apics, clock } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, TDCR, 0xb);
  mmioWrite32(a, TICR, 500);
  clock.advance(123);
  assert.equal(mmioRead32(a, TCCR), 377);
});

test('periodic timer reloads, and a long gap coalesces into one interrupt', () => {
  const { apics, clock } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, TDCR, 0xb);
  mmioWrite32(a, LVT_TIMER, 0x20041);
  mmioWrite32(a, TICR, 100);
  clock.advance(100); clock.runDue();
  assert.equal(a.acknowledge(), 0x41); mmioWrite32(a, EOI, 0);
  clock.advance(30);
  assert.equal(mmioRead32(a, TCCR), 70);
  clock.advance(70); clock.runDue();
  assert.equal(a.acknowledge(), 0x41); mmioWrite32(a, EOI, 0);
  clock.advance(1e9 + 50); // ten million periods missed
  clock.runDue();
  assert.equal(a.acknowledge(), 0x41);
  assert.equal(a.pendingVector(), -1);
  assert.ok(clock.nextDeadline() > clock.nowNs(), 'next deadline is in the future');
  assert.equal(mmioRead32(a, TCCR), 50);
});

test('TSC-deadline mode fires at the converted deadline and clears the MSR', () => {
  const { apics, clock } = machine(1, { tscToNs: (t) => Number(t) / 2 });
  const a = apics[0]!;
  enable(a);
  a.writeTscDeadline(1000n); // ignored outside TSC-deadline mode
  assert.equal(a.readTscDeadline(), 0n);
  mmioWrite32(a, LVT_TIMER, 0x40042);
  mmioWrite32(a, TICR, 5); // ignored in TSC-deadline mode
  assert.equal(mmioRead32(a, TICR), 0);
  a.writeTscDeadline(1000n);
  assert.equal(a.readTscDeadline(), 1000n);
  clock.advance(499); clock.runDue();
  assert.equal(a.pendingVector(), -1);
  clock.advance(1); clock.runDue();
  assert.equal(a.pendingVector(), 0x42);
  assert.equal(a.readTscDeadline(), 0n);
});

test('masked timer counts but does not interrupt', () => {
  const { apics, clock } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, TDCR, 0xb);
  mmioWrite32(a, LVT_TIMER, 0x10040);
  mmioWrite32(a, TICR, 10);
  clock.advance(20); clock.runDue();
  assert.equal(a.pendingVector(), -1);
});

test('EOI of a level-triggered vector is broadcast; edge vectors are not', () => {
  const { apics, bus } = machine(1);
  const a = apics[0]!;
  enable(a);
  const eois: number[] = [];
  bus.onEoi((v) => eois.push(v));
  bus.deliver(0, false, 0xff, 0, 0x61, true, true);
  bus.deliver(0, false, 0xff, 0, 0x51, false, true);
  assert.equal(mmioRead32(a, TMR + 0x30), 1 << 1, 'TMR bit 0x61');
  a.acknowledge(); a.acknowledge();
  mmioWrite32(a, EOI, 0); mmioWrite32(a, EOI, 0);
  assert.deepEqual(eois, [0x61]);
});

test('LINT0 ExtINT passes the 8259 vector through without IRR/ISR', () => {
  let pending = 0x08, acks = 0;
  const pic = { pendingVector: () => pending, acknowledge: () => { acks++; const v = pending; pending = -1; return v; } };
  const { apics } = machine(1, { extInt: pic });
  const a = apics[0]!;
  assert.equal(a.pendingVector(), 0x08, 'works before the guest enables the APIC (virtual wire)');
  assert.equal(a.acknowledge(), 0x08);
  assert.equal(acks, 1);
  assert.equal(mmioRead32(a, ISR), 0);
  pending = 0x09;
  mmioWrite32(a, LVT_LINT0, 0x10700);
  assert.equal(a.pendingVector(), -1, 'masked LINT0 blocks the PIC');
  a.writeApicBase(0xfee00000n | (1n << 8n)); // global disable: PIC wired straight to INTR
  assert.equal(a.pendingVector(), 0x09);
});

test('x2APIC: MSR interface, derived LDR, ICR as one 64-bit write, SELF IPI, illegal transitions', () => {
  const { apics } = machine(2, { x2apic: true });
  const [a, b] = [apics[0]!, apics[1]!];
  assert.equal(a.readMsr(0x802), undefined, 'MSRs #GP in xAPIC mode');
  assert.equal(a.writeApicBase(0xfee00000n | (1n << 10n)), false, 'EXTD without EN is invalid');
  for (const x of apics) assert.equal(x.writeApicBase(0xfee00000n | (3n << 10n)), true);
  assert.equal(b.readMsr(0x802), 1n);
  assert.equal(b.readMsr(0x80d), 0x00000002n, 'LDR = cluster (id>>4) << 16 | 1 << (id & 15)');
  assert.equal(b.readMsr(0x80e), undefined, 'no DFR in x2APIC mode');
  assert.equal(b.writeMsr(0x802, 5n), false, 'ID is read-only');
  assert.equal(b.writeMsr(0x80f, 0x1ffn), true);
  assert.equal(a.writeMsr(0x80f, 0x1ffn), true);
  assert.equal(a.writeMsr(0x830, (1n << 32n) | 0x4077n), true);
  assert.equal(b.pendingVector(), 0x77);
  assert.equal(a.writeMsr(0x83f, 0x66n), true);
  assert.equal(a.pendingVector(), 0x66);
  assert.equal(a.readMsr(0x83f), undefined, 'SELF IPI is write-only');
  assert.equal(a.writeMsr(0x80b, 1n), false, 'EOI takes only 0');
  assert.deepEqual(mmioRead32(a, ID), 0xffffffff, 'MMIO interface is off in x2APIC mode');
  assert.equal(a.writeApicBase(0xfee00000n | (1n << 11n)), false, 'x2APIC -> xAPIC must go through disabled');
  assert.equal(a.writeApicBase(0xfee00000n), true);
  assert.equal(a.writeApicBase(0xfee00000n | (1n << 11n)), true);
  assert.equal(mmioRead32(a, ID), 0);
});

test('APIC base relocation and reserved bits are refused; x2APIC refused when unsupported', () => {
  const { apics } = machine(1);
  const a = apics[0]!;
  assert.equal(a.writeApicBase(0xfed00000n | (1n << 11n)), false);
  assert.equal(a.writeApicBase(0xfee00000n | (1n << 11n) | 1n), false);
  assert.equal(a.writeApicBase(0xfee00000n | (3n << 10n)), false);
  assert.equal(a.writeApicBase(0xfee00000n | (1n << 11n)), true);
});

test('save/restore round-trips registers and a running timer; bad records change nothing', () => {
  const m1 = machine(1);
  const a = m1.apics[0]!;
  enable(a);
  mmioWrite32(a, TPR, 0x20);
  mmioWrite32(a, TDCR, 0xb);
  mmioWrite32(a, LVT_TIMER, 0x20044);
  mmioWrite32(a, TICR, 1000);
  ipi(a, 0, 0x4000 | 0x91 | (1 << 18));
  m1.clock.advance(250);
  const saved = a.save();

  const m2 = machine(1);
  m2.clock.setNow(250);
  const b = m2.apics[0]!;
  b.restore(saved);
  assert.equal(mmioRead32(b, TCCR), 750);
  assert.equal(mmioRead32(b, TPR), 0x20);
  assert.equal(b.pendingVector(), 0x91);
  b.acknowledge(); mmioWrite32(b, EOI, 0);
  m2.clock.advance(750); m2.clock.runDue();
  assert.equal(b.pendingVector(), 0x44);

  const before = JSON.stringify(b.save().data, (_k, v) => typeof v === 'bigint' ? v.toString() : v instanceof Uint32Array ? [...v] : v);
  const bad = { ...saved, data: { ...saved.data, irr: new Uint32Array(3) } };
  assert.throws(() => b.restore(bad), SavedStateError);
  assert.throws(() => b.restore({ ...saved, data: { ...saved.data, 'timer.mode': 7 } }), /timer mode/);
  assert.throws(() => b.restore({ ...saved, version: 9 }), /version 9/);
  const after = JSON.stringify(b.save().data, (_k, v) => typeof v === 'bigint' ? v.toString() : v instanceof Uint32Array ? [...v] : v);
  assert.equal(after, before);
});

test('LINT1 programmed as NMI raises NMI; clearing SVR.enable masks every LVT (SDM 11.4.7.2)', () => {
  const { apics, cpus } = machine(1);
  const a = apics[0]!;
  enable(a);
  mmioWrite32(a, LVT_LINT1, 0x400);
  a.raiseLint(1);
  assert.equal(cpus[0]!.nmis, 1);
  mmioWrite32(a, LVT_TIMER, 0x40);
  mmioWrite32(a, SVR, 0xff);
  for (const lvt of [LVT_TIMER, LVT_LINT0, LVT_LINT1, LVT_ERROR]) assert.equal(mmioRead32(a, lvt) & 0x10000, 0x10000);
  a.raiseLint(1);
  assert.equal(cpus[0]!.nmis, 1, 'masked LINT1 does nothing');
});
