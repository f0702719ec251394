/**
 * The PC's cascaded 8259A pair: master at 0x20/0x21, slave at 0xA0/0xA1 on master IR2, and the
 * PIIX/ICH edge/level control registers (ELCR) at 0x4D0/0x4D1. Used as the processor's interrupt
 * controller while the local APIC is not in use.
 *
 * Wide port accesses are split into byte accesses at consecutive ports. Poll mode is per chip:
 * a poll of the master that finds IR2 acknowledges the cascade line, not the slave's request.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { InterruptController } from '../../hv/interrupts.js';
import { expectState, stateBool, type Saveable, type SavedState, type StateValue } from '../../common/saved-state.js';
import { I8259Chip } from './i8259-chip.js';
import { readBytes, writeBytes } from './io-width.js';
import { stateInt, stateRecordList } from './state-fields.js';

const ID = 'pc.pic';
/** IRQ0-2 (timer, keyboard, cascade) and IRQ8/13 (RTC, FPU) are edge-only on PIIX/ICH. */
const ELCR_MASK = [0xf8, 0xde] as const;

class PicInput implements IrqLine {
  constructor(private readonly pic: I8259Pic, private readonly n: number) {}
  set(level: boolean): void { this.pic.setIrq(this.n, level); }
  pulse(): void { this.pic.setIrq(this.n, true); this.pic.setIrq(this.n, false); }
}

export class I8259Pic implements PortIoDevice, InterruptController, Saveable {
  static readonly MASTER_PORT = 0x20;
  static readonly SLAVE_PORT = 0xa0;
  static readonly ELCR_PORT = 0x4d0;

  readonly master = new I8259Chip(true);
  readonly slave = new I8259Chip(false);
  private readonly inputs: PicInput[] = [];
  private intr = false;

  /** `output` is told whenever the INTR line to the processor changes. */
  constructor(private readonly output: (level: boolean) => void) {
    for (let i = 0; i < 16; i++) this.inputs.push(new PicInput(this, i));
  }

  irq(n: number): IrqLine {
    const line = this.inputs[n];
    if (line === undefined) throw new RangeError(`8259 PIC has inputs 0..15, not ${n}`);
    return line;
  }

  setIrq(n: number, level: boolean): void {
    if (n < 8) this.master.setPin(n, level); else this.slave.setPin(n - 8, level);
    this.update();
  }

  /** INTR level now. */
  intrAsserted(): boolean { return this.intr; }

  private update(): void {
    this.master.setPin(2, this.slave.pending() >= 0);
    const level = this.master.pending() >= 0;
    if (level !== this.intr) {
      this.intr = level;
      this.output(level);
    }
  }

  pendingVector(): number {
    const irq = this.master.pending();
    if (irq < 0) return -1;
    if (irq !== 2) return this.master.vectorBase + irq;
    const s = this.slave.pending();
    return this.slave.vectorBase + (s < 0 ? 7 : s);
  }

  acknowledge(): number {
    const irq = this.master.pending();
    let vector: number;
    if (irq < 0) {
      vector = this.master.vectorBase + 7; // spurious IRQ7: nothing enters service
    } else {
      this.master.acknowledge(irq);
      if (irq === 2) {
        const s = this.slave.pending();
        if (s >= 0) { this.slave.acknowledge(s); vector = this.slave.vectorBase + s; }
        else vector = this.slave.vectorBase + 7; // spurious IRQ15
      } else {
        vector = this.master.vectorBase + irq;
      }
    }
    this.update();
    return vector;
  }

  getTpr(): number { return 0; }
  setTpr(_value: number): void {}

  ioRead(port: number, size: IoSize): number {
    return size === 1 ? this.readByte(port) : readBytes(port, size, (p) => this.readByte(p));
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (size === 1) this.writeByte(port, value & 0xff);
    else writeBytes(port, size, value, (p, v) => this.writeByte(p, v));
  }

  private chipAt(port: number): I8259Chip | undefined {
    const p = port & 0xffff;
    if (p === 0x20 || p === 0x21) return this.master;
    if (p === 0xa0 || p === 0xa1) return this.slave;
    return undefined;
  }

  private readByte(port: number): number {
    if (port === 0x4d0) return this.master.elcr;
    if (port === 0x4d1) return this.slave.elcr;
    const chip = this.chipAt(port);
    if (chip === undefined) return 0xff;
    if (chip.poll) {
      chip.poll = false;
      const irq = chip.pending();
      if (irq < 0) return 0;
      chip.acknowledge(irq);
      this.update();
      return 0x80 | irq;
    }
    return port & 1 ? chip.imr : chip.readCommand();
  }

  private writeByte(port: number, v: number): void {
    if (port === 0x4d0 || port === 0x4d1) {
      const chip = port === 0x4d0 ? this.master : this.slave;
      chip.elcr = v & ELCR_MASK[port - 0x4d0]!;
      // A pin switched to level mode requests while high; one switched to edge keeps its latch.
      chip.irr = (chip.irr & ~chip.elcr) | (chip.pins & chip.elcr);
      this.update();
      return;
    }
    const chip = this.chipAt(port);
    if (chip === undefined) return;
    if (port & 1) chip.writeData(v); else chip.writeCommand(v);
    this.update();
  }

  save(): SavedState {
    return { id: ID, version: 1, data: { chips: [saveChip(this.master), saveChip(this.slave)], intr: this.intr } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const [m, s] = stateRecordList(ID, d, 'chips', 2);
    const intr = stateBool(ID, d, 'intr');
    const mc = loadChip(m!, true);
    const sc = loadChip(s!, false);
    Object.assign(this.master, mc);
    Object.assign(this.slave, sc);
    this.intr = intr;
    this.update();
    this.output(this.intr); // the processor side starts from the restored INTR level
  }
}

const CHIP_BYTES = ['irr', 'isr', 'imr', 'pins', 'elcr', 'vectorBase'] as const;
const CHIP_FLAGS = ['icw4Needed', 'single', 'levelMode', 'autoEoi', 'rotateOnAutoEoi', 'specialFullyNested', 'specialMask', 'readIsr', 'poll'] as const;

function saveChip(c: I8259Chip): { [key: string]: StateValue } {
  const out: { [key: string]: StateValue } = { priorityBase: c.priorityBase, initStep: c.initStep };
  for (const k of CHIP_BYTES) out[k] = c[k];
  for (const k of CHIP_FLAGS) out[k] = c[k];
  return out;
}

function loadChip(d: { [key: string]: StateValue }, master: boolean): I8259Chip {
  const c = new I8259Chip(master);
  for (const k of CHIP_BYTES) c[k] = stateInt(ID, d, k, 0, 0xff);
  for (const k of CHIP_FLAGS) c[k] = stateBool(ID, d, k);
  c.priorityBase = stateInt(ID, d, 'priorityBase', 0, 7);
  c.initStep = stateInt(ID, d, 'initStep', 0, 3);
  c.elcr &= ELCR_MASK[master ? 0 : 1];
  c.vectorBase &= 0xf8;
  return c;
}
