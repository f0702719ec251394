/**
 * The same boot-sector guests (guests/*.asm) run under QEMU, the peer, and on Viridian's engine
 * with these devices wired as on a PC. They check datasheet behaviour of the PIC, PIT, RTC, UART
 * and i8042 and their interrupt wiring from inside a guest, and report through the debug-exit
 * port (status 1 = all checks passed, else (check << 1) | 1). Passing under QEMU shows the guest's expectations are
 * those of a real implementation; passing here shows ours meet them.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleFile } from '../../helpers/nasm.js';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { CS } from '../../../src/hv/cpu/x86/constants.js';
import { EXIT_HALT, EXIT_SHUTDOWN, EXIT_STOPPED } from '../../../src/hv/processor.js';
import { VmClock } from '../../../src/vm/time/vm-clock.js';
import { PortIoBus } from '../../../src/vm/bus/port-io-bus.js';
import { I8259Pic } from '../../../src/vm/devices/i8259-pic.js';
import { I8254Pit } from '../../../src/vm/devices/i8254-pit.js';
import { Mc146818Rtc } from '../../../src/vm/devices/mc146818-rtc.js';
import { Uart16550 } from '../../../src/vm/devices/uart-16550.js';
import { I8042Controller } from '../../../src/vm/devices/i8042-kbc.js';
import { DebugExit } from '../../../src/vm/devices/debug-exit.js';
import { SystemControlA } from '../../../src/vm/devices/system-control-a.js';
import type { PlatformControl } from '../../../src/vm/devices/platform-control.js';

const GUEST_DIR = join(process.cwd(), 'test', 'vm', 'devices', 'guests');
const GUESTS = readdirSync(GUEST_DIR).filter((f) => f.endsWith('.asm')).sort();
/** Virtual time per guest instruction: the engine's clock in deterministic mode. */
const NS_PER_INSN = 10;

function runOnViridian(image: Uint8Array): { status: number | undefined; end: string } {
  const mem = new GuestMemory();
  mem.addRegion(0, 2 * 1024 * 1024);
  mem.writeBytes(0x7c00, image);
  const clock = new VmClock('manual');
  const bus = new PortIoBus();
  let status: number | undefined;
  let vp: X86Processor | undefined;
  const platform: PlatformControl = {
    requestReset: () => { status = -1; vp?.requestStop(); },
    requestPowerOff: () => { status = -2; vp?.requestStop(); },
    requestExit: (s) => { status = s; vp?.requestStop(); },
    setA20: () => {},
  };
  const pic = new I8259Pic((level) => { if (level) vp?.notifyInterrupt(); });
  const pit = new I8254Pit(clock, pic.irq(0));
  bus.register(0x20, 2, pic, 'pic-master');
  bus.register(0xa0, 2, pic, 'pic-slave');
  bus.register(0x40, 4, pit, 'pit');
  bus.register(0x61, 1, pit, 'port61');
  bus.register(0x70, 4, new Mc146818Rtc(clock, pic.irq(8), Date.UTC(2025, 5, 1, 12)), 'rtc');
  bus.register(0x3f8, 8, new Uart16550(0x3f8, clock, pic.irq(4), { write: () => {} }), 'com1');
  const kbc = new I8042Controller(platform, pic.irq(1), pic.irq(12));
  bus.register(0x60, 1, kbc, 'kbd-data');
  bus.register(0x64, 1, kbc, 'kbd-cmd');
  bus.register(0x92, 1, new SystemControlA(platform), 'port92');
  bus.register(0xf4, 1, new DebugExit(platform), 'debug-exit');
  vp = new X86Processor(mem, { ioRead: (p, s) => bus.read(p, s), ioWrite: (p, s, v) => bus.write(p, s, v) });
  vp.setInterruptController(pic);
  const c = vp.cpu;
  c.segSel[CS] = 0; c.segBase[CS] = 0;
  c.rip = 0x7c00;
  c.updateMode();
  const budget = 20_000_000;
  while (c.icount < budget) {
    const before = c.icount;
    const r = vp.run(Math.min(2000, budget - c.icount));
    clock.advance((c.icount - before) * NS_PER_INSN);
    if (r === EXIT_HALT) {
      const next = clock.nextDeadline();
      if (next === Infinity) return { status, end: 'halt with no timer' };
      clock.advance(next - clock.nowNs());
    }
    clock.runDue();
    if (r === EXIT_STOPPED && status !== undefined) return { status, end: 'debug-exit' };
    if (r === EXIT_SHUTDOWN) return { status, end: 'shutdown' };
  }
  return { status, end: 'budget' };
}

const describe = (s: number | undefined): string => (s === undefined ? 'no status' : s === 1 ? 'all passed' : `check ${(s - 1) / 2} failed`);

test('the guest directory holds the ISA guests', () => {
  assert.ok(GUESTS.includes('isa-devices.asm') && GUESTS.includes('isa-interrupts.asm'), GUESTS.join(', '));
});

for (const name of GUESTS) {
  const image = (): Uint8Array => assembleFile(join(GUEST_DIR, name));

  test(`${name} passes on Viridian`, () => {
    const r = runOnViridian(image());
    assert.equal(r.end, 'debug-exit', `guest ended by ${r.end} (${describe(r.status)})`);
    assert.equal(r.status, 1, describe(r.status));
  });

  test(`${name} passes under QEMU (the peer)`, () => {
    const probe = spawnSync('qemu-system-x86_64', ['--version']);
    assert.equal(probe.status, 0, 'qemu-system-x86_64 is required (Debian package qemu-system-x86)');
    const dir = mkdtempSync(join(tmpdir(), 'viridian-isa-'));
    try {
      const img = join(dir, 'guest.img');
      writeFileSync(img, image());
      let code = 0;
      try {
        execFileSync('qemu-system-x86_64', [
          '-display', 'none', '-serial', 'null', '-monitor', 'none', '-parallel', 'none', '-no-reboot',
          '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x01', '-drive', `format=raw,file=${img},if=floppy`, '-boot', 'a',
        ], { stdio: 'ignore', timeout: 60_000 });
      } catch (e) {
        code = (e as { status?: number }).status ?? -1;
      }
      assert.equal(code, 1, describe(code));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
