/**
 * i8042 keyboard controller at 0x60 (data) / 0x64 (status and command), with a PS/2 keyboard and a
 * minimal PS/2 mouse behind it: enough of the mouse's command set to ACK Linux's probe, no motion.
 *
 * The controller has one output buffer; bytes wait in two bounded queues: replies (controller,
 * keyboard and mouse responses, delivered even while the keyboard clock is disabled) and host key
 * input (delivered only while the keyboard interface is enabled and scanning). Host scan codes are
 * injected exactly as the guest should read them: with command-byte bit 6 (translation) set, which
 * is what BIOSes leave, that means set-1 codes; the controller does not translate.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import { expectState, SavedStateError, stateBool, stateBytes, type Saveable, type SavedState } from '../../common/saved-state.js';
import type { PlatformControl } from './platform-control.js';
import { widenByte } from './io-width.js';
import { stateInt } from './state-fields.js';

const ID = 'pc.i8042';
const QUEUE_MAX = 64;
const ACK = 0xfa, RESEND = 0xfe;
const ST_OBF = 1, ST_SYS = 4, ST_CMD = 8, ST_NOT_INHIBITED = 0x10, ST_AUX_OBF = 0x20;
const CB_KBD_INT = 1, CB_AUX_INT = 2, CB_SYS = 4, CB_KBD_OFF = 0x10, CB_AUX_OFF = 0x20, CB_TRANSLATE = 0x40;
const AUX = 0x100; // tag bit in queued entries: the byte comes from the mouse

export class I8042Controller implements PortIoDevice, Saveable {
  static readonly DATA_PORT = 0x60;
  static readonly COMMAND_PORT = 0x64;

  private readonly ram = new Uint8Array(32);
  private sys = false;
  private lastWasCommand = false;
  private outPort = 0x03; // reset line deasserted, A20 on
  private pendingCmd = -1;
  private obf = false;
  private obByte = 0;
  private obAux = false;
  /** Replies and host keys as entries (byte | AUX for mouse bytes). */
  private replies: number[] = [];
  private keys: number[] = [];
  private kbdScanning = true;
  private kbdPendingArg = -1;
  private kbdLeds = 0;
  private kbdScanSet = 2;
  private kbdLast = 0;
  private auxPendingArg = -1;
  private auxReporting = false;
  private auxRate = 100;
  private auxResolution = 2;
  private irq1High = false;
  private irq12High = false;

  constructor(private readonly platform: PlatformControl, private readonly irq1: IrqLine, private readonly irq12: IrqLine) {
    this.ram[0] = CB_KBD_INT | CB_AUX_INT | CB_TRANSLATE;
  }

  /** Host keyboard input, in the form the guest reads at port 0x60. Returns how many bytes were queued. */
  injectScanCodes(bytes: Uint8Array): number {
    let n = 0;
    for (const b of bytes) {
      if (this.keys.length >= QUEUE_MAX) break;
      this.keys.push(b & 0xff);
      n++;
    }
    this.refill();
    return n;
  }

  keyboardLeds(): number { return this.kbdLeds; }

  ioRead(port: number, size: IoSize): number {
    if (port === 0x60) return widenByte(this.readData(), size);
    if (port === 0x64) return widenByte(this.status(), size);
    return widenByte(0xff, size);
  }

  ioWrite(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    if (port === 0x60) { this.lastWasCommand = false; this.writeData(v); }
    else if (port === 0x64) { this.lastWasCommand = true; this.writeCommand(v); }
  }

  private cmdByte(): number { return this.ram[0]!; }

  private status(): number {
    return (this.obf ? ST_OBF : 0) | (this.sys || (this.cmdByte() & CB_SYS) ? ST_SYS : 0) | (this.lastWasCommand ? ST_CMD : 0)
      | ST_NOT_INHIBITED | (this.obf && this.obAux ? ST_AUX_OBF : 0);
  }

  private readData(): number {
    const b = this.obByte;
    if (this.obf) {
      this.obf = false;
      this.updateIrqs();
      this.refill();
    }
    return b;
  }

  private reply(b: number, aux = false): void {
    if (this.replies.length < QUEUE_MAX) this.replies.push((b & 0xff) | (aux ? AUX : 0));
  }

  private refill(): void {
    if (this.obf) return;
    let e: number | undefined;
    if (this.replies.length > 0) e = this.replies.shift();
    else if (this.keys.length > 0 && this.kbdScanning && !(this.cmdByte() & CB_KBD_OFF)) e = this.keys.shift();
    if (e === undefined) return;
    this.obf = true;
    this.obByte = e & 0xff;
    this.obAux = (e & AUX) !== 0;
    if (!this.obAux) this.kbdLast = this.obByte;
    this.updateIrqs();
  }

  private updateIrqs(): void {
    const cb = this.cmdByte();
    const k = this.obf && !this.obAux && (cb & CB_KBD_INT) !== 0;
    const a = this.obf && this.obAux && (cb & CB_AUX_INT) !== 0;
    if (k !== this.irq1High) { this.irq1High = k; this.irq1.set(k); }
    if (a !== this.irq12High) { this.irq12High = a; this.irq12.set(a); }
  }

  private writeOutputPort(v: number): void {
    const old = this.outPort;
    this.outPort = v & 0xcf; // bits 4/5 mirror the output-buffer interrupts and are not stored
    if ((old ^ v) & 2) this.platform.setA20((v & 2) !== 0);
    if ((v & 1) === 0) this.platform.requestReset('i8042 output port reset line');
  }

  private writeCommand(v: number): void {
    this.pendingCmd = -1;
    if (v >= 0x20 && v <= 0x3f) { this.reply(this.ram[v - 0x20]!); this.refill(); return; }
    if ((v >= 0x60 && v <= 0x7f) || v === 0xd1 || v === 0xd2 || v === 0xd3 || v === 0xd4) { this.pendingCmd = v; return; }
    if (v >= 0xf0) { if ((v & 1) === 0) this.platform.requestReset('i8042 pulse reset line'); return; }
    switch (v) {
      case 0xa7: this.ram[0] |= CB_AUX_OFF; break;
      case 0xa8: this.ram[0] &= ~CB_AUX_OFF; break;
      case 0xa9: this.reply(0x00); break; // aux interface test: no error
      case 0xaa: this.sys = true; this.reply(0x55); break;
      case 0xab: this.reply(0x00); break;
      case 0xad: this.ram[0] |= CB_KBD_OFF; break;
      case 0xae: this.ram[0] &= ~CB_KBD_OFF; break;
      case 0xc0: this.reply(0x80); break; // input port: keyboard not inhibited
      case 0xd0: this.reply(this.outPort | (this.obf && !this.obAux ? 0x10 : 0) | (this.obf && this.obAux ? 0x20 : 0)); break;
      case 0xdd: this.writeOutputPort(this.outPort & ~2); break;
      case 0xdf: this.writeOutputPort(this.outPort | 2); break;
      case 0xe0: this.reply(0x00); break;
      default: break; // unknown commands are ignored, as controllers do
    }
    this.updateIrqs();
    this.refill();
  }

  private writeData(v: number): void {
    const cmd = this.pendingCmd;
    this.pendingCmd = -1;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.ram[cmd - 0x60] = v;
      if (cmd === 0x60 && (v & CB_SYS)) this.sys = true;
    } else if (cmd === 0xd1) this.writeOutputPort(v);
    else if (cmd === 0xd2) this.reply(v);
    else if (cmd === 0xd3) this.reply(v, true);
    else if (cmd === 0xd4) this.aux(v);
    else this.keyboard(v);
    this.updateIrqs();
    this.refill();
  }

  private keyboard(v: number): void {
    const arg = this.kbdPendingArg;
    if (arg >= 0 && v < 0xed) {
      this.kbdPendingArg = -1;
      if (arg === 0xed) { this.kbdLeds = v & 7; this.reply(ACK); }
      else if (arg === 0xf0) {
        if (v === 0) { this.reply(ACK); this.reply(this.kbdScanSet); }
        else if (v <= 3) { this.kbdScanSet = v; this.reply(ACK); }
        else this.reply(RESEND);
      } else this.reply(ACK); // 0xf3 typematic rate
      return;
    }
    this.kbdPendingArg = -1;
    switch (v) {
      case 0xff: this.keys = []; this.kbdScanning = true; this.kbdLeds = 0; this.kbdScanSet = 2; this.reply(ACK); this.reply(0xaa); return;
      case 0xfe: this.reply(this.kbdLast); return;
      case 0xf6: this.kbdScanning = true; this.kbdScanSet = 2; this.reply(ACK); return;
      case 0xf5: this.kbdScanning = false; this.kbdScanSet = 2; this.reply(ACK); return;
      case 0xf4: this.kbdScanning = true; this.reply(ACK); return;
      case 0xf2: this.reply(ACK); this.reply(0xab); this.reply(this.cmdByte() & CB_TRANSLATE ? 0x41 : 0x83); return;
      case 0xee: this.reply(0xee); return;
      case 0xed: case 0xf0: case 0xf3: this.kbdPendingArg = v; this.reply(ACK); return;
      default:
        if (v >= 0xf7 && v <= 0xfd) this.reply(ACK); else this.reply(RESEND);
    }
  }

  private aux(v: number): void {
    const arg = this.auxPendingArg;
    if (arg >= 0) {
      this.auxPendingArg = -1;
      if (arg === 0xf3) this.auxRate = v; else this.auxResolution = v & 3;
      this.reply(ACK, true);
      return;
    }
    switch (v) {
      case 0xff: this.auxReporting = false; this.auxRate = 100; this.auxResolution = 2; this.reply(ACK, true); this.reply(0xaa, true); this.reply(0x00, true); return;
      case 0xf2: this.reply(ACK, true); this.reply(0x00, true); return;
      case 0xf3: case 0xe8: this.auxPendingArg = v; this.reply(ACK, true); return;
      case 0xe9: this.reply(ACK, true); this.reply(this.auxReporting ? 0x20 : 0, true); this.reply(this.auxResolution, true); this.reply(this.auxRate, true); return;
      case 0xeb: this.reply(ACK, true); for (let i = 0; i < 3; i++) this.reply(i === 0 ? 0x08 : 0, true); return;
      case 0xf4: this.auxReporting = true; this.reply(ACK, true); return;
      case 0xf5: this.auxReporting = false; this.reply(ACK, true); return;
      case 0xf6: this.auxRate = 100; this.auxResolution = 2; this.reply(ACK, true); return;
      case 0xe6: case 0xe7: case 0xea: case 0xec: case 0xee: case 0xf0: this.reply(ACK, true); return;
      default: this.reply(RESEND, true);
    }
  }

  save(): SavedState {
    return {
      id: ID, version: 1,
      data: {
        ram: this.ram.slice(), sys: this.sys, lastWasCommand: this.lastWasCommand, outPort: this.outPort, pendingCmd: this.pendingCmd,
        obf: this.obf, obByte: this.obByte, obAux: this.obAux,
        replies: Uint32Array.from(this.replies), keys: Uint8Array.from(this.keys),
        kbdScanning: this.kbdScanning, kbdPendingArg: this.kbdPendingArg, kbdLeds: this.kbdLeds, kbdScanSet: this.kbdScanSet, kbdLast: this.kbdLast,
        auxPendingArg: this.auxPendingArg, auxReporting: this.auxReporting, auxRate: this.auxRate, auxResolution: this.auxResolution,
        irq1High: this.irq1High, irq12High: this.irq12High,
      },
    };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const ram = stateBytes(ID, d, 'ram', 32);
    const repliesV = d['replies'];
    if (!(repliesV instanceof Uint32Array) || repliesV.length > QUEUE_MAX || repliesV.some((e) => e > 0x1ff)) {
      throw new SavedStateError(ID, `field 'replies' must be up to ${QUEUE_MAX} queued bytes`);
    }
    const keys = stateBytes(ID, d, 'keys');
    if (keys.length > QUEUE_MAX) throw new SavedStateError(ID, `field 'keys' holds more than ${QUEUE_MAX} bytes`);
    const b = (f: string): boolean => stateBool(ID, d, f);
    const n = (f: string, min: number, max: number): number => stateInt(ID, d, f, min, max);
    const pendingCmd = n('pendingCmd', -1, 0xff);
    const v = {
      sys: b('sys'), lastWasCommand: b('lastWasCommand'), outPort: n('outPort', 0, 0xff), obf: b('obf'), obByte: n('obByte', 0, 0xff),
      obAux: b('obAux'), kbdScanning: b('kbdScanning'), kbdPendingArg: n('kbdPendingArg', -1, 0xff), kbdLeds: n('kbdLeds', 0, 7),
      kbdScanSet: n('kbdScanSet', 1, 3), kbdLast: n('kbdLast', 0, 0xff), auxPendingArg: n('auxPendingArg', -1, 0xff),
      auxReporting: b('auxReporting'), auxRate: n('auxRate', 0, 0xff), auxResolution: n('auxResolution', 0, 3),
      irq1High: b('irq1High'), irq12High: b('irq12High'),
    };
    this.ram.set(ram);
    Object.assign(this, v);
    this.pendingCmd = pendingCmd;
    this.replies = Array.from(repliesV);
    this.keys = Array.from(keys);
    this.irq1.set(this.irq1High);
    this.irq12.set(this.irq12High);
    this.updateIrqs();
  }
}
