import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { Uart16550 } from '../../../src/vm/devices/uart-16550.js';
import { FakeIrq, hammerPorts } from './fakes.js';

const COM1 = 0x3f8;

function setup(): { clock: VmClock; irq: FakeIrq; uart: Uart16550; sent: number[] } {
  const clock = new VmClock('manual');
  const irq = new FakeIrq();
  const sent: number[] = [];
  const uart = new Uart16550(COM1, clock, irq, { write: (b) => sent.push(b) });
  return { clock, irq, uart, sent };
}

const r = (u: Uart16550, off: number): number => u.ioRead(COM1 + off, 1);
const w = (u: Uart16550, off: number, v: number): void => u.ioWrite(COM1 + off, 1, v);

test('divisor latch behind DLAB; LCR and scratch read back', () => {
  const { uart } = setup();
  w(uart, 3, 0x80);
  w(uart, 0, 0x01); w(uart, 1, 0x00);
  w(uart, 3, 0x03);
  w(uart, 1, 0x00);
  assert.equal(r(uart, 3), 0x03);
  w(uart, 3, 0x83);
  assert.equal(r(uart, 0), 0x01);
  assert.equal(r(uart, 1), 0x00);
  w(uart, 3, 0x03);
  w(uart, 7, 0xa5);
  assert.equal(r(uart, 7), 0xa5);
});

test('transmit goes to the backend at once; LSR shows THRE and TEMT', () => {
  const { uart, sent } = setup();
  for (const c of 'Hi\n') w(uart, 0, c.charCodeAt(0));
  assert.deepEqual(sent, [0x48, 0x69, 0x0a]);
  assert.equal(r(uart, 5), 0x60);
});

test('THRE interrupt: raised when ETBEI is enabled with THR empty, cleared by reading IIR, re-raised (new edge) by each write', () => {
  const { irq, uart } = setup();
  w(uart, 4, 0x0b); // DTR, RTS, OUT2
  assert.equal(r(uart, 2), 0x01, 'no interrupt pending');
  w(uart, 1, 0x02);
  assert.equal(irq.level, true);
  assert.equal(r(uart, 2), 0x02);
  assert.equal(irq.level, false, 'IIR read cleared the THRE interrupt');
  assert.equal(r(uart, 2), 0x01);
  w(uart, 0, 0x41);
  assert.equal(irq.level, true);
  assert.equal(irq.rises, 2);
  w(uart, 0, 0x42);
  assert.equal(irq.rises, 3, 'a write while THRE is pending still gives the controller a fresh edge');
  w(uart, 1, 0x00);
  assert.equal(irq.level, false);
});

test('OUT2 gates the interrupt output as on a PC', () => {
  const { irq, uart } = setup();
  w(uart, 4, 0x03);
  w(uart, 1, 0x02);
  assert.equal(r(uart, 2) & 0x0f, 0x02);
  w(uart, 1, 0x00); w(uart, 1, 0x02);
  assert.equal(irq.level, false);
  w(uart, 4, 0x0b);
  assert.equal(irq.level, true);
});

test('loopback: MSR reflects MCR (the 8250 driver probe), transmitted bytes come back, the backend sees nothing', () => {
  const { irq, uart, sent } = setup();
  w(uart, 4, 0x10 | 0x0a);
  assert.equal(r(uart, 6) & 0xf0, 0x90, 'RTS→CTS, OUT2→DCD');
  w(uart, 4, 0x1f);
  assert.equal(r(uart, 6) & 0xf0, 0xf0);
  w(uart, 1, 0x01);
  w(uart, 0, 0x55);
  assert.deepEqual(sent, []);
  assert.equal(r(uart, 5) & 0x01, 0x01);
  assert.equal(r(uart, 2) & 0x0f, 0x04);
  assert.equal(irq.level, false, 'no interrupt leaves the chip in loopback');
  assert.equal(r(uart, 0), 0x55);
  assert.equal(uart.receive(Uint8Array.of(1)), 0, 'external input is disconnected in loopback');
});

test('RX FIFO: data-available interrupt at the trigger level (14), IIR FIFO bits', () => {
  const { irq, uart } = setup();
  w(uart, 2, 0xc7);
  w(uart, 4, 0x08);
  w(uart, 1, 0x01);
  assert.equal(uart.receive(new Uint8Array(13).fill(0x61)), 13);
  assert.equal(r(uart, 2), 0xc1);
  assert.equal(irq.level, false);
  uart.receive(Uint8Array.of(0x62));
  assert.equal(r(uart, 2), 0xc4);
  assert.equal(irq.level, true);
  for (let i = 0; i < 13; i++) assert.equal(r(uart, 0), 0x61);
  assert.equal(r(uart, 2), 0xc1, 'below the trigger again');
  assert.equal(r(uart, 0), 0x62);
  assert.equal(r(uart, 5) & 1, 0);
});

test('character timeout after four character times with data below the trigger level', () => {
  const { clock, irq, uart } = setup();
  w(uart, 3, 0x80); w(uart, 0, 1); w(uart, 1, 0); w(uart, 3, 0x03); // 115200 8N1: 10 bits per char
  w(uart, 2, 0xc1);
  w(uart, 4, 0x08);
  w(uart, 1, 0x01);
  uart.receive(Uint8Array.of(1, 2, 3));
  clock.advance(340_000); clock.runDue(); // 4 chars = 40 bits = 347.2 µs
  assert.equal(r(uart, 2), 0xc1);
  clock.advance(10_000); clock.runDue();
  assert.equal(r(uart, 2), 0xcc);
  assert.equal(irq.level, true);
  assert.equal(r(uart, 0), 1);
  assert.equal(r(uart, 2), 0xc1, 'reading RBR clears the timeout and restarts it');
  clock.advance(350_000); clock.runDue();
  assert.equal(r(uart, 2), 0xcc);
});

test('overrun: bytes beyond the holding register (FIFO off) are lost, OE set, RLS interrupt has top priority', () => {
  const { irq, uart } = setup();
  w(uart, 4, 0x08);
  w(uart, 1, 0x07); // RLS, THRE, RDA
  r(uart, 2); // consume the THRE interrupt
  assert.equal(uart.receive(Uint8Array.of(0x31, 0x32)), 1);
  assert.equal(r(uart, 2), 0x06, 'RLS before RDA');
  assert.equal(irq.level, true);
  assert.equal(r(uart, 5) & 0x03, 0x03, 'DR and OE');
  assert.equal(r(uart, 5) & 0x02, 0, 'OE cleared by the LSR read');
  assert.equal(r(uart, 2), 0x04);
  assert.equal(r(uart, 0), 0x31);
  assert.equal(r(uart, 2), 0x01);
  w(uart, 2, 0x01);
  assert.equal(uart.rxSpace(), 16);
  assert.equal(uart.receive(new Uint8Array(20)), 16);
});

test('modem status interrupt on a line change, with delta bits cleared by reading MSR', () => {
  const { irq, uart } = setup();
  w(uart, 4, 0x08);
  w(uart, 1, 0x08);
  assert.equal(r(uart, 6), 0xb0);
  uart.setModemLines(0x30); // DCD drops
  assert.equal(r(uart, 2), 0x00);
  assert.equal(irq.level, true);
  assert.equal(r(uart, 6), 0x38, 'CTS, DSR, DDCD');
  assert.equal(r(uart, 2), 0x01);
  assert.equal(irq.level, false);
});

test('FCR reset clears the RX FIFO; disabling FIFOs drops the IIR FIFO bits', () => {
  const { uart } = setup();
  w(uart, 2, 0x01);
  uart.receive(Uint8Array.of(1, 2, 3));
  w(uart, 2, 0x03);
  assert.equal(r(uart, 5) & 1, 0);
  w(uart, 2, 0x00);
  assert.equal(r(uart, 2), 0x01);
});

test('save → restore keeps FIFO contents, settings and pending interrupts', () => {
  const a = setup();
  w(a.uart, 2, 0x81); w(a.uart, 4, 0x0b); w(a.uart, 1, 0x03); w(a.uart, 7, 0x42);
  a.uart.receive(Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1));
  r(a.uart, 0);
  const state = a.uart.save();
  const b = setup();
  b.uart.restore(state);
  assert.equal(b.irq.level, a.irq.level);
  const trace = (x: ReturnType<typeof setup>): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 10; i++) out.push(r(x.uart, 2), r(x.uart, 5), r(x.uart, 0), r(x.uart, 7), x.irq.level ? 1 : 0);
    return out;
  };
  assert.deepEqual(trace(b), trace(a));
  assert.throws(() => b.uart.restore({ ...state, data: { ...state.data, rx: new Uint8Array(17) } }), /rx/);
});

test('hostile: random values at every UART register, any size, never throw', () => {
  const { clock, uart } = setup();
  hammerPorts(uart, COM1, COM1 + 7, 8000, 21, () => { uart.receive(Uint8Array.of(1, 2, 3, 4, 5)); clock.advance(100_000); clock.runDue(); });
});
