/**
 * The PC chipset around the processors: which device sits at which port, MMIO range and interrupt
 * line. ISA interrupts go to both the 8259 pair and the IOAPIC (IRQ0 arrives at IOAPIC pin 2, the
 * override the MADT declares); the PIC's INTR reaches the boot processor through LINT0 (ExtINT).
 * Layout facts the ACPI tables repeat are in docs/decisions/005-platform-layout.md.
 */
import type { GuestMemory } from '../../hv/memory/guest-memory.js';
import type { X86Processor } from '../../hv/cpu/x86/x86-processor.js';
import { PortIoBus } from '../bus/port-io-bus.js';
import { MmioBus } from '../bus/mmio-bus.js';
import { SharedIrqLine, type IrqLine } from '../bus/irq.js';
import type { VmClock } from '../time/vm-clock.js';
import { I8259Pic } from '../devices/i8259-pic.js';
import { I8254Pit } from '../devices/i8254-pit.js';
import { Mc146818Rtc } from '../devices/mc146818-rtc.js';
import { Uart16550, type SerialBackend } from '../devices/uart-16550.js';
import { I8042Controller } from '../devices/i8042-kbc.js';
import { SystemControlA } from '../devices/system-control-a.js';
import { PostPort } from '../devices/post-port.js';
import { DebugExit } from '../devices/debug-exit.js';
import { AcpiPm } from '../devices/acpi-pm.js';
import { ResetControl } from '../devices/reset-control.js';
import { Hpet, HPET_BASE, HPET_SIZE } from '../devices/hpet.js';
import type { PlatformControl } from '../devices/platform-control.js';
import { ApicBus } from '../apic/apic-bus.js';
import { LocalApic } from '../apic/local-apic.js';
import { IoApic, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE } from '../apic/ioapic.js';
import { ApicMmioWindow } from '../apic/apic-mmio-window.js';
import { APIC_DEFAULT_BASE, APIC_MMIO_SIZE } from '../apic/apic-constants.js';
import { PciRoot } from '../pci/pci-root.js';
import { PciIntxRouter, standardSwizzle } from '../pci/pci-intx.js';
import { PciConfigIo } from '../pci/pci-config-io.js';
import { PciEcam } from '../pci/pci-ecam.js';
import { createHostBridge } from '../pci/host-bridge.js';
import { FwCfg } from '../fwcfg/fw-cfg.js';
import { FW_CFG_PORT_SELECTOR } from '../fwcfg/fw-cfg-keys.js';
import type { GuestMemoryAccess } from '../fwcfg/guest-memory-access.js';
import { ECAM_BASE } from './memory-layout.js';
import type { Saveable } from '../../common/saved-state.js';
import { MSR_APIC_BASE, MSR_TSC_DEADLINE } from '../../hv/cpu/x86/msr.js';

export const ACPI_PM_BASE = 0x600;
/** SLP_TYP the DSDT's \_S5 package carries; the PM block powers off on it. */
export const S5_SLEEP_TYPE = 5;
export const ACPI_RESET_VALUE = 0x06;
export const SCI_IRQ = 9;

export interface BoardOptions {
  mem: GuestMemory;
  processors: X86Processor[];
  clock: VmClock;
  platform: PlatformControl;
  com1: SerialBackend;
  com2: SerialBackend;
  ramSize: number;
  /** Wall-clock time the RTC starts from (ms since the epoch). */
  rtcEpochMs: number;
  /** The processor whose access is being served (local APIC page is per processor). */
  currentCpu: () => number;
}

/** ISA IRQ → GSI, as the MADT's interrupt source overrides say. */
export function isaGsi(irq: number): number { return irq === 0 ? 2 : irq; }

export class PcBoard {
  readonly ports = new PortIoBus();
  readonly mmio = new MmioBus();
  readonly apicBus = new ApicBus();
  readonly apics: LocalApic[];
  readonly pic: I8259Pic;
  readonly ioapic: IoApic;
  readonly pit: I8254Pit;
  readonly rtc: Mc146818Rtc;
  readonly com1: Uart16550;
  readonly com2: Uart16550;
  readonly kbc: I8042Controller;
  readonly acpiPm: AcpiPm;
  readonly hpet: Hpet;
  readonly pci: PciRoot;
  readonly pciConfig: PciConfigIo;
  readonly resetControl: ResetControl;
  readonly fwcfg: FwCfg;
  readonly port92: SystemControlA;
  readonly post = new PostPort();
  readonly debugExit: DebugExit;
  /** The IOAPIC's ID (after the local APIC IDs 0..n-1); the MADT repeats it. */
  readonly ioapicId: number;
  private readonly isa: IrqLine[] = [];

  constructor(o: BoardOptions) {
    const { clock, platform, processors } = o;
    this.ioapicId = processors.length;
    this.ioapic = new IoApic(this.apicBus, this.ioapicId);
    this.pic = new I8259Pic((level) => { if (level) processors[0]?.notifyInterrupt(); });
    for (let irq = 0; irq < 16; irq++) this.isa.push(new SharedIrqLine([this.pic.irq(irq), this.ioapic.pin(isaGsi(irq))]));
    this.apics = processors.map((p, i) => new LocalApic({
      apicId: i, bsp: i === 0, clock, cpu: p, bus: this.apicBus,
      extInt: i === 0 ? this.pic : undefined,
      tscToNs: (tsc) => Number(tsc) - p.cpu.tscOffset,
    }));
    processors.forEach((p, i) => {
      const apic = this.apics[i]!;
      p.setInterruptController(apic);
      p.cpu.platformMsr = apicMsrs(apic);
      p.cpu.cpuCount = processors.length;
      // The TSC runs at the advertised 1 GHz on the VM clock, so it agrees with every other timer.
      p.cpu.tscSource = () => clock.nowNs();
    });

    this.pit = new I8254Pit(clock, this.isa[0]!);
    this.rtc = new Mc146818Rtc(clock, this.isa[8]!, o.rtcEpochMs);
    this.com1 = new Uart16550(Uart16550.COM1.base, clock, this.isa[Uart16550.COM1.irq]!, o.com1);
    this.com2 = new Uart16550(Uart16550.COM2.base, clock, this.isa[Uart16550.COM2.irq]!, o.com2);
    this.kbc = new I8042Controller(platform, this.isa[1]!, this.isa[12]!);
    this.port92 = new SystemControlA(platform);
    this.debugExit = new DebugExit(platform);
    this.acpiPm = new AcpiPm(clock, this.isa[SCI_IRQ]!, platform, { base: ACPI_PM_BASE, s5SleepType: S5_SLEEP_TYPE, resetValue: ACPI_RESET_VALUE });
    this.resetControl = new ResetControl(platform);
    this.hpet = new Hpet(clock, (pin) => (pin === 2 ? this.isa[0]! : pin === 8 ? this.isa[8]! : this.ioapic.pin(pin)));
    this.pci = new PciRoot(new PciIntxRouter(standardSwizzle, (gsi) => this.ioapic.pin(gsi)));
    this.pci.add(0, 0, 0, createHostBridge());
    this.pciConfig = new PciConfigIo(this.pci, (port, size, value) => { if (port === ResetControl.PORT && size === 1) this.resetControl.ioWrite(port, size, value); });
    this.fwcfg = new FwCfg({ ramSize: o.ramSize, cpus: processors.length, memory: guestMemoryAccess(o.mem) });

    const p = this.ports;
    p.register(I8259Pic.MASTER_PORT, 2, this.pic, 'pic-master');
    p.register(I8259Pic.SLAVE_PORT, 2, this.pic, 'pic-slave');
    p.register(I8259Pic.ELCR_PORT, 2, this.pic, 'elcr');
    p.register(I8254Pit.PORT, 4, this.pit, 'pit');
    p.register(I8254Pit.NMI_SC_PORT, 1, this.pit, 'port61');
    p.register(Mc146818Rtc.PORT, 2, this.rtc, 'rtc');
    p.register(Uart16550.COM1.base, Uart16550.PORT_COUNT, this.com1, 'com1');
    p.register(Uart16550.COM2.base, Uart16550.PORT_COUNT, this.com2, 'com2');
    p.register(I8042Controller.DATA_PORT, 1, this.kbc, 'i8042-data');
    p.register(I8042Controller.COMMAND_PORT, 1, this.kbc, 'i8042-command');
    p.register(SystemControlA.PORT, 1, this.port92, 'port92');
    p.register(PostPort.PORT, 1, this.post, 'post');
    p.register(DebugExit.PORT, 1, this.debugExit, 'debug-exit');
    p.register(ACPI_PM_BASE, AcpiPm.LENGTH, this.acpiPm, 'acpi-pm');
    for (const r of PciConfigIo.ports()) p.register(r.base, r.length, this.pciConfig, 'pci-config');
    p.register(FW_CFG_PORT_SELECTOR, 12, this.fwcfg, 'fw-cfg');

    const m = this.mmio;
    m.register(APIC_DEFAULT_BASE, APIC_MMIO_SIZE, new ApicMmioWindow(() => this.apics[o.currentCpu()]), 'local-apic');
    m.register(IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, this.ioapic, 'ioapic');
    m.register(HPET_BASE, HPET_SIZE, this.hpet, 'hpet');
    const ecam = new PciEcam(this.pci);
    m.register(ECAM_BASE, ecam.size, ecam, 'pci-ecam');
  }

  /** Every stateful device, in a fixed order, for save/restore. */
  saveables(): { name: string; device: Saveable }[] {
    return [
      { name: 'pic', device: this.pic }, { name: 'ioapic', device: this.ioapic }, { name: 'pit', device: this.pit },
      { name: 'rtc', device: this.rtc }, { name: 'com1', device: this.com1 }, { name: 'com2', device: this.com2 },
      { name: 'i8042', device: this.kbc }, { name: 'port92', device: this.port92 }, { name: 'post', device: this.post },
      { name: 'debug-exit', device: this.debugExit }, { name: 'acpi-pm', device: this.acpiPm }, { name: 'rcr', device: this.resetControl },
      { name: 'hpet', device: this.hpet }, { name: 'pci-config', device: this.pciConfig }, { name: 'fw-cfg', device: this.fwcfg },
      ...this.apics.map((a, i) => ({ name: `apic${i}`, device: a })),
      ...this.pci.list().map((f) => ({ name: `pci-${f.bdf.toString(16)}`, device: f.fn })),
    ];
  }
}

/** The MSRs a local APIC owns: IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range. */
function apicMsrs(apic: LocalApic): { read(index: number): bigint | undefined; write(index: number, value: bigint): boolean } {
  return {
    read(index) {
      if (index === MSR_APIC_BASE) return apic.readApicBase();
      if (index === MSR_TSC_DEADLINE) return apic.readTscDeadline();
      return apic.readMsr(index);
    },
    write(index, value) {
      if (index === MSR_APIC_BASE) return apic.writeApicBase(value);
      if (index === MSR_TSC_DEADLINE) { apic.writeTscDeadline(BigInt.asUintN(64, value)); return true; }
      return apic.writeMsr(index, value);
    },
  };
}

/** DMA for fw_cfg: only whole ranges of guest RAM, never MMIO. */
function guestMemoryAccess(mem: GuestMemory): GuestMemoryAccess {
  return {
    read(addr, len) {
      if (!mem.isRam(addr, Math.max(1, len))) return undefined;
      const out = new Uint8Array(len);
      mem.readBytes(addr, out);
      return out;
    },
    write(addr, bytes) {
      if (!mem.isRam(addr, Math.max(1, bytes.length))) return false;
      mem.writeBytes(addr, bytes);
      return true;
    },
  };
}
