import test from 'node:test';
import assert from 'node:assert/strict';
import { I8259Pic } from '../../../src/vm/devices/i8259-pic.js';
import { hammerPorts } from './fakes.js';

/** The BIOS/Linux initialisation: vectors 0x08 and 0x70, slave on IR2, 8086 mode. */
function makePic(icw4 = 0x01): { pic: I8259Pic; intr: boolean[] } {
  const intr: boolean[] = [];
  const pic = new I8259Pic((l) => intr.push(l));
  for (const [base, vec, icw3] of [[0x20, 0x08, 0x04], [0xa0, 0x70, 0x02]] as const) {
    pic.ioWrite(base, 1, 0x11);
    pic.ioWrite(base + 1, 1, vec);
    pic.ioWrite(base + 1, 1, icw3);
    pic.ioWrite(base + 1, 1, icw4);
  }
  return { pic, intr };
}

const readIsr = (pic: I8259Pic, base: number): number => { pic.ioWrite(base, 1, 0x0b); return pic.ioRead(base, 1); };
const readIrr = (pic: I8259Pic, base: number): number => { pic.ioWrite(base, 1, 0x0a); return pic.ioRead(base, 1); };

test('ICW1 clears the mask; an edge on IRQ0 raises INTR, INTA gives vector 8 and moves it to ISR, EOI clears it', () => {
  const { pic, intr } = makePic();
  assert.equal(pic.ioRead(0x21, 1), 0, 'IMR cleared by initialisation');
  pic.ioWrite(0x21, 1, 0xfe);
  assert.equal(pic.ioRead(0x21, 1), 0xfe);
  pic.irq(0).set(true);
  assert.deepEqual(intr, [true]);
  assert.equal(readIrr(pic, 0x20), 0x01);
  assert.equal(pic.pendingVector(), 0x08);
  assert.equal(pic.acknowledge(), 0x08);
  assert.deepEqual(intr, [true, false]);
  assert.equal(readIsr(pic, 0x20), 0x01);
  assert.equal(readIrr(pic, 0x20), 0x00, 'edge request cleared from IRR by INTA');
  pic.ioWrite(0x20, 1, 0x20); // non-specific EOI
  assert.equal(readIsr(pic, 0x20), 0);
  // The line is still high: edge mode needs a new rising edge.
  assert.equal(pic.pendingVector(), -1);
  pic.irq(0).set(false);
  pic.irq(0).set(true);
  assert.equal(pic.pendingVector(), 0x08);
});

test('masked requests wait in IRR and are delivered on unmask', () => {
  const { pic } = makePic();
  pic.ioWrite(0x21, 1, 0x02);
  pic.irq(1).pulse();
  assert.equal(pic.pendingVector(), -1);
  assert.equal(readIrr(pic, 0x20), 0x02);
  pic.ioWrite(0x21, 1, 0x00);
  assert.equal(pic.pendingVector(), 0x09);
});

test('fixed priority: IRQ1 before IRQ3; IRQ0 nests over IRQ1 in service, IRQ3 waits for the EOI', () => {
  const { pic } = makePic();
  pic.irq(3).pulse();
  pic.irq(1).pulse();
  assert.equal(pic.acknowledge(), 0x09);
  assert.equal(pic.pendingVector(), -1, 'IRQ3 is lower than IRQ1 in service');
  pic.irq(0).pulse();
  assert.equal(pic.acknowledge(), 0x08);
  assert.equal(readIsr(pic, 0x20), 0x03);
  pic.ioWrite(0x20, 1, 0x20); // EOI ends the highest in service: IRQ0
  assert.equal(readIsr(pic, 0x20), 0x02);
  assert.equal(pic.pendingVector(), -1);
  pic.ioWrite(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x0b);
});

test('specific EOI clears only the named level', () => {
  const { pic } = makePic();
  pic.irq(4).pulse(); pic.acknowledge();
  pic.irq(0).pulse(); pic.acknowledge();
  pic.ioWrite(0x20, 1, 0x64); // specific EOI for IR4
  assert.equal(readIsr(pic, 0x20), 0x01);
});

test('cascade: IRQ10 arrives as vector 0x72 with master IR2 and slave IR2 in service; EOIs to both', () => {
  const { pic, intr } = makePic();
  pic.irq(10).pulse();
  assert.deepEqual(intr, [true]);
  assert.equal(pic.pendingVector(), 0x72);
  assert.equal(pic.acknowledge(), 0x72);
  assert.equal(readIsr(pic, 0x20), 0x04);
  assert.equal(readIsr(pic, 0xa0), 0x04);
  pic.irq(11).pulse();
  assert.equal(pic.pendingVector(), -1, 'master IR2 in service blocks the slave without special fully nested mode');
  pic.ioWrite(0xa0, 1, 0x20);
  pic.ioWrite(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x73);
});

test('special fully nested mode lets a higher slave request through while the cascade is in service', () => {
  const { pic } = makePic(0x11);
  pic.irq(11).pulse();
  assert.equal(pic.acknowledge(), 0x73);
  pic.irq(10).pulse();
  assert.equal(pic.pendingVector(), 0x72);
});

test('ELCR makes a pin level-triggered: a held line re-requests after EOI; the edge-only pins are not writable', () => {
  const { pic } = makePic();
  pic.ioWrite(0x4d0, 1, 0xff);
  pic.ioWrite(0x4d1, 1, 0xff);
  assert.equal(pic.ioRead(0x4d0, 1), 0xf8);
  assert.equal(pic.ioRead(0x4d1, 1), 0xde);
  assert.equal(pic.ioRead(0x4d0, 2), 0xdef8);
  pic.ioWrite(0x4d0, 2, 0x0200); // only IRQ9 level
  pic.irq(9).set(true);
  assert.equal(pic.acknowledge(), 0x71);
  pic.ioWrite(0xa0, 1, 0x20); pic.ioWrite(0x20, 1, 0x20);
  assert.equal(pic.pendingVector(), 0x71, 'still high: requests again');
  pic.irq(9).set(false);
  // The cascade input latched its edge when the slave re-requested; with the request gone the
  // slave answers INTA with its default IR7.
  assert.equal(pic.acknowledge(), 0x77);
  pic.ioWrite(0x20, 1, 0x20);
  assert.equal(pic.pendingVector(), -1);
});

test('spurious IRQ7 and IRQ15: a request withdrawn before INTA yields base+7 with nothing in service', () => {
  const { pic } = makePic();
  pic.ioWrite(0x4d0, 1, 0x20); // IRQ5 level
  pic.irq(5).set(true);
  pic.irq(5).set(false);
  assert.equal(pic.acknowledge(), 0x0f);
  assert.equal(readIsr(pic, 0x20), 0);
  pic.ioWrite(0x4d1, 1, 0x08); // IRQ11 level
  pic.irq(11).set(true);
  assert.equal(pic.pendingVector(), 0x73);
  // The slave's request disappears after the master has raised INTR for the cascade.
  pic.slave.setPin(3, false);
  assert.equal(pic.acknowledge(), 0x77);
  assert.equal(readIsr(pic, 0xa0), 0);
});

test('auto-EOI (ICW4 bit 1): acknowledged interrupts do not enter service', () => {
  const { pic } = makePic(0x03);
  pic.irq(3).pulse();
  assert.equal(pic.acknowledge(), 0x0b);
  assert.equal(readIsr(pic, 0x20), 0);
  pic.irq(4).pulse();
  assert.equal(pic.pendingVector(), 0x0c);
});

test('rotation: set-priority makes IR(L+1) highest; rotate-on-EOI makes the serviced level lowest', () => {
  const { pic } = makePic();
  pic.ioWrite(0x20, 1, 0xc2); // lowest = 2, so order 3,4,5,6,7,0,1,2
  pic.irq(1).pulse();
  pic.irq(4).pulse();
  assert.equal(pic.acknowledge(), 0x0c);
  pic.ioWrite(0x20, 1, 0xa0); // rotate on non-specific EOI: IR4 lowest, order 5,6,7,0,1,2,3,4
  pic.irq(4).pulse();
  pic.irq(6).pulse();
  assert.equal(pic.acknowledge(), 0x0e);
  pic.ioWrite(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x09, 'IR1 before IR4 now');
  pic.ioWrite(0x20, 1, 0xe1); // specific EOI + rotate on IR1
  assert.equal(pic.acknowledge(), 0x0c);
});

test('poll mode: OCW3 poll returns 0x80|level and puts it in service; 0 when nothing pending', () => {
  const { pic } = makePic();
  pic.irq(6).pulse();
  pic.ioWrite(0x20, 1, 0x0c);
  assert.equal(pic.ioRead(0x20, 1), 0x86);
  assert.equal(readIsr(pic, 0x20), 0x40);
  pic.ioWrite(0x20, 1, 0x0c);
  assert.equal(pic.ioRead(0x20, 1), 0x00);
});

test('special mask mode lets lower levels through while a masked higher one is in service', () => {
  const { pic } = makePic();
  pic.irq(1).pulse(); pic.acknowledge();
  pic.irq(5).pulse();
  assert.equal(pic.pendingVector(), -1);
  pic.ioWrite(0x21, 1, 0x02);
  pic.ioWrite(0x20, 1, 0x68); // set special mask
  assert.equal(pic.pendingVector(), 0x0d);
});

test('PIC interface: TPR is a no-op', () => {
  const { pic } = makePic();
  pic.setTpr(15);
  assert.equal(pic.getTpr(), 0);
});

test('save → restore into a fresh PIC continues identically', () => {
  const { pic } = makePic();
  pic.ioWrite(0x4d1, 1, 0x02);
  pic.irq(9).set(true);
  pic.irq(3).pulse();
  pic.irq(12).pulse();
  pic.acknowledge();
  pic.ioWrite(0x20, 1, 0xc5);
  const state = pic.save();
  const copy = new I8259Pic(() => {});
  copy.restore(state);
  const trace = (p: I8259Pic): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 6; i++) {
      out.push(p.acknowledge(), readIsr(p, 0x20), readIsr(p, 0xa0));
      p.ioWrite(0xa0, 1, 0x20); p.ioWrite(0x20, 1, 0x20);
      p.irq(i).pulse();
    }
    return out;
  };
  assert.deepEqual(trace(copy), trace(pic));
  assert.throws(() => copy.restore({ ...state, version: 9 }), /version 9/);
  const bad = pic.save();
  (bad.data['chips'] as { [k: string]: unknown }[])[0]!['imr'] = 300;
  assert.throws(() => copy.restore(bad), /imr/);
});

test('hostile: random values at every PIC port, any size, never throw', () => {
  const { pic } = makePic();
  hammerPorts(pic, 0x20, 0x21, 3000, 1, () => { pic.irq(3).pulse(); pic.acknowledge(); });
  hammerPorts(pic, 0xa0, 0xa1, 3000, 2, () => { pic.irq(12).set(true); pic.pendingVector(); });
  hammerPorts(pic, 0x4d0, 0x4d1, 500, 3);
  const v = pic.acknowledge();
  assert.ok(v >= 0 && v <= 0xff);
});
