/**
 * ACPI fixed hardware in one I/O block: PM1a event and control blocks, the PM timer, a reset
 * register and GPE0. The layout follows QEMU's ICH9 power-management block so that firmware tables
 * written for it fit (offsets from `base`, default 0x600):
 *   +0x00 PM1a_STS (2)  +0x02 PM1a_EN (2)  +0x04 PM1a_CNT (2)  +0x08 PM_TMR (4)
 *   +0x0C reset register (1; the FADT's RESET_REG, writing `resetValue` resets)
 *   +0x20 GPE0_STS (4)  +0x24 GPE0_EN (4)          — 0x30 ports in all.
 * The SCI is level-triggered: held while SCI_EN is set and any enabled status bit is set.
 * SCI_EN starts as `sciEnabledAtReset` (default true): with no SMI handler, a FADT with SMI_CMD = 0
 * tells the OS the machine is already in ACPI mode.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import type { IrqLine } from '../bus/irq.js';
import type { TimerHandle, VmClock } from '../time/vm-clock.js';
import { expectState, stateBool, stateNumber, type Saveable, type SavedState } from '../../common/saved-state.js';
import type { PlatformControl } from './platform-control.js';
import { nsToTicks, ticksToNs } from './ticks.js';
import { stateInt } from './state-fields.js';

const ID = 'pc.acpi-pm';
export const PM_TIMER_HZ = 3_579_545;
export const PM1_TMR_STS = 0x0001, PM1_PWRBTN_STS = 0x0100, PM1_WAK_STS = 0x8000;
const STS_BITS = 0x8731; // TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK
const EN_BITS = 0x0721; // TMR, GBL, PWRBTN, SLPBTN, RTC
const CNT_SCI_EN = 1, CNT_SLP_EN = 0x2000;

export interface AcpiPmOptions {
  /** First port of the block (default 0x600). */
  base?: number;
  /** SLP_TYP value of \_S5 in the DSDT; SLP_EN with this type powers off. */
  s5SleepType: number;
  /** 32-bit PM timer (FADT TMR_VAL_EXT) rather than 24-bit. Default false. */
  timer32?: boolean;
  /** Value written to the reset register that resets (FADT RESET_VALUE). Default 0x06. */
  resetValue?: number;
  sciEnabledAtReset?: boolean;
}

export class AcpiPm implements PortIoDevice, Saveable {
  static readonly LENGTH = 0x30;
  readonly base: number;
  private readonly s5: number;
  private readonly tmrBit: number;
  private readonly resetValue: number;
  private sts = 0;
  private en = 0;
  private cnt: number;
  private gpeSts = 0;
  private gpeEn = 0;
  /** PM timer ticks at the last TMR_STS check. */
  private seenTicks = 0;
  private sci = false;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (now: number): void => { this.timer = undefined; this.catchUp(now); this.update(now); };

  constructor(private readonly clock: VmClock, private readonly sciLine: IrqLine, private readonly platform: PlatformControl, options: AcpiPmOptions) {
    this.base = options.base ?? 0x600;
    if (!Number.isInteger(this.base) || this.base < 0 || this.base + AcpiPm.LENGTH > 0x10000) throw new RangeError(`ACPI PM base ${this.base} does not fit in the I/O space`);
    this.s5 = options.s5SleepType & 7;
    this.tmrBit = options.timer32 ? 31 : 23;
    this.resetValue = (options.resetValue ?? 0x06) & 0xff;
    this.cnt = options.sciEnabledAtReset === false ? 0 : CNT_SCI_EN;
    this.seenTicks = nsToTicks(clock.nowNs(), PM_TIMER_HZ);
  }

  /** The power button: sets PWRBTN_STS and raises the SCI if enabled. */
  pressPowerButton(): void { this.sts |= PM1_PWRBTN_STS; this.update(this.clock.nowNs()); }

  /** Sets GPE0 status bit `n` (0..31), e.g. for a hotplug notification. */
  raiseGpe(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 31) throw new RangeError(`GPE0 has events 0..31, not ${n}`);
    this.gpeSts = (this.gpeSts | (1 << n)) >>> 0;
    this.update(this.clock.nowNs());
  }

  sciAsserted(): boolean { return this.sci; }

  timerValue(now: number): number {
    const t = nsToTicks(now, PM_TIMER_HZ);
    return this.tmrBit === 31 ? t % 0x100000000 : t % 0x1000000;
  }

  ioRead(port: number, size: IoSize): number {
    const now = this.clock.nowNs();
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(port + i - this.base, now) << (8 * i);
    return v >>> 0;
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    const now = this.clock.nowNs();
    for (let i = 0; i < size; i++) this.writeByte(port + i - this.base, (value >>> (8 * i)) & 0xff, now);
    this.update(now);
  }

  private readByte(off: number, now: number): number {
    const shiftOf = (o: number): number => 8 * (off - o);
    if (off === 0 || off === 1) { this.catchUp(now); return (this.sts >> shiftOf(0)) & 0xff; }
    if (off === 2 || off === 3) return (this.en >> shiftOf(2)) & 0xff;
    if (off === 4 || off === 5) return (this.cnt >> shiftOf(4)) & 0xff;
    if (off >= 8 && off <= 11) return (this.timerValue(now) >>> shiftOf(8)) & 0xff;
    if (off >= 0x20 && off <= 0x23) return (this.gpeSts >>> shiftOf(0x20)) & 0xff;
    if (off >= 0x24 && off <= 0x27) return (this.gpeEn >>> shiftOf(0x24)) & 0xff;
    return off >= 0 && off < AcpiPm.LENGTH ? 0 : 0xff;
  }

  private writeByte(off: number, v: number, now: number): void {
    const sh = (o: number): number => 8 * (off - o);
    if (off === 0 || off === 1) { this.catchUp(now); this.sts &= ~((v << sh(0)) & STS_BITS); return; }
    if (off === 2 || off === 3) { this.en = (this.en & ~(0xff << sh(2))) | ((v << sh(2)) & EN_BITS); return; }
    if (off === 4) { this.cnt = (this.cnt & 0xff00) | (v & 0x07); return; }
    if (off === 5) {
      this.cnt = (this.cnt & 0x00ff) | ((v << 8) & 0x1c00); // SLP_EN is write-only
      if ((v << 8) & CNT_SLP_EN && ((this.cnt >> 10) & 7) === this.s5) this.platform.requestPowerOff();
      return;
    }
    if (off === 0x0c) { if (v === this.resetValue) this.platform.requestReset('ACPI reset register'); return; }
    if (off >= 0x20 && off <= 0x23) { this.gpeSts = (this.gpeSts & ~(v << sh(0x20))) >>> 0; return; }
    if (off >= 0x24 && off <= 0x27) { this.gpeEn = ((this.gpeEn & ~(0xff << sh(0x24))) | (v << sh(0x24))) >>> 0; }
  }

  /** TMR_STS is set each time the timer's top bit (23 or 31) changes. */
  private catchUp(now: number): void {
    const t = nsToTicks(now, PM_TIMER_HZ);
    const span = 2 ** this.tmrBit;
    if (Math.floor(t / span) !== Math.floor(this.seenTicks / span)) this.sts |= PM1_TMR_STS;
    this.seenTicks = t;
  }

  private update(now: number): void {
    const level = (this.cnt & CNT_SCI_EN) !== 0 && ((this.sts & this.en & EN_BITS) !== 0 || (this.gpeSts & this.gpeEn) !== 0);
    if (level !== this.sci) { this.sci = level; this.sciLine.set(level); }
    this.clock.cancel(this.timer);
    this.timer = undefined;
    if (this.en & PM1_TMR_STS) {
      const span = 2 ** this.tmrBit;
      const next = (Math.floor(nsToTicks(now, PM_TIMER_HZ) / span) + 1) * span;
      this.timer = this.clock.schedule(ticksToNs(next, PM_TIMER_HZ), this.onTimer);
    }
  }

  save(): SavedState {
    return { id: ID, version: 1, data: { sts: this.sts, en: this.en, cnt: this.cnt, gpeSts: this.gpeSts, gpeEn: this.gpeEn, seenTicks: this.seenTicks, sci: this.sci } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const sts = stateInt(ID, d, 'sts', 0, 0xffff) & STS_BITS;
    const en = stateInt(ID, d, 'en', 0, 0xffff) & EN_BITS;
    const cnt = stateInt(ID, d, 'cnt', 0, 0xffff) & 0x1c07;
    const gpeSts = stateInt(ID, d, 'gpeSts', 0, 0xffffffff);
    const gpeEn = stateInt(ID, d, 'gpeEn', 0, 0xffffffff);
    const seenTicks = stateNumber(ID, d, 'seenTicks');
    const sci = stateBool(ID, d, 'sci');
    Object.assign(this, { sts, en, cnt, gpeSts, gpeEn, seenTicks, sci });
    this.sciLine.set(sci);
    this.update(this.clock.nowNs());
  }
}
