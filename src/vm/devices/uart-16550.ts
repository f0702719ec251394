/**
 * NS16550A UART (COM1 0x3F8/IRQ4, COM2 0x2F8/IRQ3, ...). Transmission is immediate: a byte written
 * to THR goes to the backend at once and THR is empty again, but the THRE interrupt is dropped and
 * re-raised around it so an edge-triggered controller sees a fresh edge, as the 8250 driver needs.
 * Reception goes through a 16-byte FIFO with trigger levels and the character-timeout interrupt
 * (four character times at the programmed baud rate, on the VM clock).
 *
 * As on a PC, MCR.OUT2 gates the interrupt output; in loopback mode the output pins, OUT2 among
 * them, are disconnected, so no interrupt leaves the chip.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { expectState, SavedStateError, stateBool, stateBytes, type Saveable, type SavedState } from '../../common/saved-state.js';
import { readBytes, writeBytes } from './io-width.js';
import { stateInt } from './state-fields.js';

export interface SerialBackend {
  write(byte: number): void;
}

const ID = 'pc.uart16550';
const FIFO_SIZE = 16;
const UART_CLOCK_HZ = 1_843_200;
const IER_RDA = 1, IER_THRE = 2, IER_RLS = 4, IER_MSR = 8;
const LSR_DR = 1, LSR_OE = 2, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const MCR_DTR = 1, MCR_RTS = 2, MCR_OUT1 = 4, MCR_OUT2 = 8, MCR_LOOP = 0x10;
const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
const TRIGGER = [1, 4, 8, 14] as const;

export class Uart16550 implements PortIoDevice, Saveable {
  /** The PC's standard ports and ISA IRQs. */
  static readonly COM1 = { base: 0x3f8, irq: 4 } as const;
  static readonly COM2 = { base: 0x2f8, irq: 3 } as const;
  static readonly PORT_COUNT = 8;

  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private lsrErrors = 0; // OE; parity, framing and break never arise from a byte stream
  private scr = 0;
  private fcr = 0;
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private thrPending = false;
  private timeoutPending = false;
  /** Modem status inputs from the host side (CTS, DSR, RI, DCD in MSR bit positions). */
  private lines = MSR_CTS | MSR_DSR | MSR_DCD;
  private msrDelta = 0;
  private irqHigh = false;
  private timer: TimerHandle | undefined;
  private readonly onTimeout = (): void => { this.timer = undefined; if (this.rxCount > 0) { this.timeoutPending = true; this.updateIrq(); } };

  constructor(
    readonly base: number,
    private readonly clock: VmClock,
    private readonly irq: IrqLine,
    private readonly backend: SerialBackend,
  ) {}

  /** Host input. Bytes that find the FIFO (or, FIFOs off, the holding register) full are lost and set OE. Returns how many were taken. */
  receive(bytes: Uint8Array): number {
    if (this.mcr & MCR_LOOP) return 0; // the serial input pin is disconnected in loopback
    let taken = 0;
    for (const b of bytes) if (this.push(b)) taken++;
    this.afterReceive();
    return taken;
  }

  /** Free receive space, for a backend that prefers flow control to overruns. */
  rxSpace(): number { return this.rxCapacity() - this.rxCount; }

  /** Host-side modem inputs (CTS/DSR/RI/DCD) as MSR bits 4..7. */
  setModemLines(msrBits: number): void {
    const v = msrBits & 0xf0;
    if (!(this.mcr & MCR_LOOP)) this.noteMsrChange(this.lines, v);
    this.lines = v;
    this.updateIrq();
  }

  ioRead(port: number, size: IoSize): number {
    return size === 1 ? this.readByte(port) : readBytes(port, size, (p) => this.readByte(p));
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (size === 1) this.writeByte(port, value & 0xff);
    else writeBytes(port, size, value, (p, v) => this.writeByte(p, v));
  }

  private fifoOn(): boolean { return (this.fcr & 1) !== 0; }
  private rxCapacity(): number { return this.fifoOn() ? FIFO_SIZE : 1; }
  private dlab(): boolean { return (this.lcr & 0x80) !== 0; }

  private push(b: number): boolean {
    if (this.rxCount >= this.rxCapacity()) { this.lsrErrors |= LSR_OE; return false; }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = b;
    this.rxCount++;
    return true;
  }

  private afterReceive(): void {
    this.timeoutPending = false;
    this.armTimeout();
    this.updateIrq();
  }

  /** Four character times at the current line settings; restarted by every receive and read. */
  private armTimeout(): void {
    this.clock.cancel(this.timer);
    this.timer = undefined;
    if (!this.fifoOn() || this.rxCount === 0) return;
    const divisor = (this.dlm << 8) | this.dll || 0x10000;
    const bits = 1 + (5 + (this.lcr & 3)) + (this.lcr & 8 ? 1 : 0) + (this.lcr & 4 ? 2 : 1);
    const ns = Math.ceil((4 * bits * divisor * 16 * 1e9) / UART_CLOCK_HZ);
    this.timer = this.clock.schedule(this.clock.nowNs() + ns, this.onTimeout);
  }

  private msr(): number {
    if (this.mcr & MCR_LOOP) {
      const m = this.mcr;
      return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0) | this.msrDelta;
    }
    return this.lines | this.msrDelta;
  }

  /** Delta bits: DCTS, DDSR, TERI (RI falling), DDCD. */
  private noteMsrChange(oldLines: number, newLines: number): void {
    const ch = oldLines ^ newLines;
    if (ch & MSR_CTS) this.msrDelta |= 1;
    if (ch & MSR_DSR) this.msrDelta |= 2;
    if ((oldLines & MSR_RI) && !(newLines & MSR_RI)) this.msrDelta |= 4;
    if (ch & MSR_DCD) this.msrDelta |= 8;
  }

  private lsr(): number {
    return (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** Highest-priority pending interrupt as IIR bits 3..0 (1 = none). */
  private interruptId(): number {
    if ((this.ier & IER_RLS) && this.lsrErrors) return 0x6;
    if (this.ier & IER_RDA) {
      if (this.rxCount > 0 && (!this.fifoOn() || this.rxCount >= TRIGGER[this.fcr >> 6]!)) return 0x4;
      if (this.timeoutPending) return 0xc;
    }
    if ((this.ier & IER_THRE) && this.thrPending) return 0x2;
    if ((this.ier & IER_MSR) && this.msrDelta) return 0x0;
    return 0x1;
  }

  private updateIrq(): void {
    const level = this.interruptId() !== 1 && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqHigh) { this.irqHigh = level; this.irq.set(level); }
  }

  private readByte(port: number): number {
    switch ((port - this.base) & 7) {
      case 0: {
        if (this.dlab()) return this.dll;
        let b = 0;
        if (this.rxCount > 0) {
          b = this.rx[this.rxHead]!;
          this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
          this.rxCount--;
        }
        this.timeoutPending = false;
        this.armTimeout();
        this.updateIrq();
        return b;
      }
      case 1: return this.dlab() ? this.dlm : this.ier;
      case 2: {
        const id = this.interruptId();
        if (id === 0x2) { this.thrPending = false; this.updateIrq(); } // reading IIR clears a THRE interrupt it reports
        return id | (this.fifoOn() ? 0xc0 : 0);
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: {
        const v = this.lsr();
        this.lsrErrors = 0;
        this.updateIrq();
        return v;
      }
      case 6: {
        const v = this.msr();
        this.msrDelta = 0;
        this.updateIrq();
        return v;
      }
      default: return this.scr;
    }
  }

  private writeByte(port: number, v: number): void {
    switch ((port - this.base) & 7) {
      case 0:
        if (this.dlab()) { this.dll = v; return; }
        this.transmit(v);
        return;
      case 1: {
        if (this.dlab()) { this.dlm = v; return; }
        const old = this.ier;
        this.ier = v & 0x0f;
        // Enabling the THRE interrupt while THR is empty raises it at once (Linux tests this).
        if ((this.ier & IER_THRE) && !(old & IER_THRE)) this.thrPending = true;
        this.updateIrq();
        return;
      }
      case 2: this.writeFcr(v); return;
      case 3: this.lcr = v; return;
      case 4: {
        const oldMsr = this.msr() & 0xf0;
        const oldLoop = (this.mcr & MCR_LOOP) !== 0;
        this.mcr = v & 0x1f;
        const newMsr = this.msr() & 0xf0;
        if (oldLoop || (this.mcr & MCR_LOOP)) this.noteMsrChange(oldMsr, newMsr);
        this.updateIrq();
        return;
      }
      case 5: case 6: return; // LSR and MSR are read-only (factory test writes are not modelled)
      default: this.scr = v;
    }
  }

  private writeFcr(v: number): void {
    const enable = (v & 1) !== 0;
    if (enable !== this.fifoOn() || (v & 2)) { this.rxCount = 0; this.rxHead = 0; this.timeoutPending = false; }
    this.fcr = enable ? v & 0xc9 : 0;
    this.armTimeout();
    this.updateIrq();
  }

  private transmit(b: number): void {
    this.thrPending = false;
    this.updateIrq();
    if (this.mcr & MCR_LOOP) {
      this.push(b);
      this.afterReceive();
    } else {
      this.backend.write(b);
    }
    this.thrPending = true;
    this.updateIrq();
  }

  save(): SavedState {
    const rx = new Uint8Array(this.rxCount);
    for (let i = 0; i < this.rxCount; i++) rx[i] = this.rx[(this.rxHead + i) % FIFO_SIZE]!;
    return {
      id: ID, version: 1,
      data: {
        dll: this.dll, dlm: this.dlm, ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, scr: this.scr,
        fcr: this.fcr, rx, thrPending: this.thrPending, timeoutPending: this.timeoutPending, lines: this.lines,
        msrDelta: this.msrDelta, irqHigh: this.irqHigh,
      },
    };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const n = (f: string, max: number): number => stateInt(ID, d, f, 0, max);
    const v = {
      dll: n('dll', 0xff), dlm: n('dlm', 0xff), ier: n('ier', 0x0f), lcr: n('lcr', 0xff), mcr: n('mcr', 0x1f),
      lsrErrors: n('lsrErrors', LSR_OE), scr: n('scr', 0xff), fcr: n('fcr', 0xc9), lines: n('lines', 0xf0), msrDelta: n('msrDelta', 0x0f),
    };
    const rx = stateBytes(ID, d, 'rx');
    if (rx.length > FIFO_SIZE) throw new SavedStateError(ID, `field 'rx' holds ${rx.length} bytes, more than the ${FIFO_SIZE}-byte FIFO`);
    const thrPending = stateBool(ID, d, 'thrPending');
    const timeoutPending = stateBool(ID, d, 'timeoutPending');
    const irqHigh = stateBool(ID, d, 'irqHigh');
    Object.assign(this, v);
    this.rx.fill(0); this.rx.set(rx); this.rxHead = 0; this.rxCount = rx.length;
    this.thrPending = thrPending; this.timeoutPending = timeoutPending;
    this.irqHigh = irqHigh;
    this.irq.set(irqHigh);
    this.armTimeout();
    this.updateIrq();
  }
}
