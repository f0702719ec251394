import test from 'node:test';
import assert from 'node:assert/strict';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { PortIoBus } from '../../../src/vm/bus/port-io-bus.js';
import { I8259Pic } from '../../../src/vm/devices/i8259-pic.js';
import { I8254Pit } from '../../../src/vm/devices/i8254-pit.js';
import { Mc146818Rtc } from '../../../src/vm/devices/mc146818-rtc.js';
import { Uart16550 } from '../../../src/vm/devices/uart-16550.js';
import { I8042Controller } from '../../../src/vm/devices/i8042-kbc.js';
import { SystemControlA } from '../../../src/vm/devices/system-control-a.js';
import { PostPort } from '../../../src/vm/devices/post-port.js';
import { DebugExit } from '../../../src/vm/devices/debug-exit.js';
import { AcpiPm } from '../../../src/vm/devices/acpi-pm.js';
import { FakePlatform } from './fakes.js';

/** A PC's ISA devices on one port bus, interrupts into the PIC, as the VM will wire them. */
function buildPc(): { clock: VmClock; bus: PortIoBus; pic: I8259Pic; serial: number[]; platform: FakePlatform } {
  const clock = new VmClock('manual');
  const bus = new PortIoBus();
  const platform = new FakePlatform();
  const pic = new I8259Pic(() => {});
  const serial: number[] = [];
  const pit = new I8254Pit(clock, pic.irq(0));
  bus.register(0x20, 2, pic, 'pic-master');
  bus.register(0xa0, 2, pic, 'pic-slave');
  bus.register(0x4d0, 2, pic, 'elcr');
  bus.register(0x40, 4, pit, 'pit');
  bus.register(0x61, 1, pit, 'port61');
  bus.register(0x70, 4, new Mc146818Rtc(clock, pic.irq(8), Date.UTC(2025, 0, 1)), 'rtc');
  bus.register(0x3f8, 8, new Uart16550(0x3f8, clock, pic.irq(4), { write: (b) => serial.push(b) }), 'com1');
  bus.register(0x2f8, 8, new Uart16550(0x2f8, clock, pic.irq(3), { write: () => {} }), 'com2');
  const kbc = new I8042Controller(platform, pic.irq(1), pic.irq(12));
  bus.register(0x60, 1, kbc, 'kbd-data');
  bus.register(0x64, 1, kbc, 'kbd-cmd');
  bus.register(0x92, 1, new SystemControlA(platform), 'port92');
  bus.register(0x80, 1, new PostPort(), 'post');
  bus.register(0xf4, 1, new DebugExit(platform), 'debug-exit');
  bus.register(0x600, AcpiPm.LENGTH, new AcpiPm(clock, pic.irq(9), platform, { s5SleepType: 0 }), 'acpi-pm');
  return { clock, bus, pic, serial, platform };
}

function initPic(bus: PortIoBus): void {
  for (const [base, vec, icw3] of [[0x20, 0x20, 0x04], [0xa0, 0x28, 0x02]] as const) {
    bus.write(base, 1, 0x11); bus.write(base + 1, 1, vec); bus.write(base + 1, 1, icw3); bus.write(base + 1, 1, 0x01);
  }
}

test('the ISA devices fit the port map without overlaps', () => {
  const { bus } = buildPc();
  assert.equal(bus.ownerOf(0x61), 'port61');
  assert.equal(bus.ownerOf(0x62), undefined);
  assert.equal(bus.read(0x62, 1), 0xff);
});

test('PIT mode 2 at 100 Hz through the PIC: one vector 0x20 per period, EOI by EOI', () => {
  const { clock, bus, pic } = buildPc();
  initPic(bus);
  bus.write(0x21, 1, 0xfe);
  bus.write(0x43, 1, 0x34);
  bus.write(0x40, 1, 11932 & 0xff); bus.write(0x40, 1, 11932 >> 8);
  let taken = 0;
  for (let i = 0; i < 1000; i++) { // 1 s in 1 ms steps
    clock.advance(1_000_000); clock.runDue();
    if (pic.pendingVector() >= 0) {
      assert.equal(pic.acknowledge(), 0x20);
      bus.write(0x20, 1, 0x20);
      taken++;
    }
  }
  assert.equal(taken, 99, '1 s / 10.0002 ms: the 100th period ends just after 1 s');
});

test('UART THRE interrupts reach the PIC as fresh edges while the guest keeps writing (IRQ4, vector 0x24)', () => {
  const { bus, pic, serial } = buildPc();
  initPic(bus);
  bus.write(0x21, 1, 0xef);
  bus.write(0x3fc, 1, 0x0b);
  bus.write(0x3f9, 1, 0x02);
  for (const ch of 'ok') {
    assert.equal(pic.acknowledge(), 0x24);
    assert.equal(bus.read(0x3fa, 1) & 0x0f, 0x02);
    bus.write(0x3f8, 1, ch.charCodeAt(0));
    bus.write(0x20, 1, 0x20);
  }
  assert.deepEqual(serial, [0x6f, 0x6b]);
  assert.equal(pic.pendingVector(), 0x24, 'THR empty again after the last byte');
});

test('debug exit through the bus', () => {
  const { bus, platform } = buildPc();
  bus.write(0xf4, 1, 0x31);
  assert.deepEqual(platform.exits, [0x63]);
});
