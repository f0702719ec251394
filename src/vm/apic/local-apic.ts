/**
 * One virtual processor's local APIC (Intel SDM vol. 3A ch. 11): xAPIC MMIO registers, the x2APIC
 * MSR interface, IA32_APIC_BASE, priority logic, IPIs through the ApicBus, the LVT and the timer.
 * It is the processor's InterruptController: the CPU asks pendingVector() at instruction
 * boundaries and acknowledge() when it takes the interrupt.
 *
 * Departure from the SDM, taken from QEMU for compatibility: on power-up the BSP's LINT0 is ExtINT
 * and unmasked, so a guest that never touches the APIC still receives 8259 interrupts (virtual
 * wire). Once the guest writes the SVR with the enable bit clear, the SDM's masking applies.
 */
import type { InterruptController, VirtualProcessorEvents } from '../../hv/interrupts.js';
import type { MmioDevice } from '../bus/mmio-bus.js';
import type { VmClock } from '../time/vm-clock.js';
import { expectState, SavedStateError, stateBigInt, stateBool, stateNumber, type SavedState, type Saveable, type StateValue } from '../../common/saved-state.js';
import * as C from './apic-constants.js';
import type { ApicBus, ApicEndpoint } from './apic-bus.js';
import { ApicTimer } from './apic-timer.js';
import { clearBit, highestBit, setBit, testBit } from './vector-bits.js';

/** The 8259 PIC as seen through LINT0 in ExtINT mode. */
export interface ExtIntSource {
  pendingVector(): number;
  acknowledge(): number;
}

export interface LocalApicOptions {
  apicId: number;
  bsp: boolean;
  clock: VmClock;
  cpu: VirtualProcessorEvents;
  bus: ApicBus;
  /** Converts a guest TSC value to VM-clock nanoseconds (TSC-deadline mode). */
  tscToNs?: (tsc: bigint) => number;
  /** APIC bus clock period; 1 ns (1 GHz) as QEMU uses, unless given. */
  nsPerBusCycle?: number;
  extInt?: ExtIntSource;
  /** Whether IA32_APIC_BASE.EXTD may be set (CPUID advertises x2APIC). */
  x2apicSupported?: boolean;
}

const LVT_REGS = [C.REG_LVT_TIMER, C.REG_LVT_THERMAL, C.REG_LVT_PERF, C.REG_LVT_LINT0, C.REG_LVT_LINT1, C.REG_LVT_ERROR];
/** Writable bits of each LVT (timer mode incl. TSC-deadline; LINT polarity/trigger; delivery modes). */
const LVT_WRITABLE = [0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff];
const STATE_ID = 'vm.apic.local';

export class LocalApic implements InterruptController, ApicEndpoint, MmioDevice, Saveable {
  readonly apicId: number;
  private readonly bsp: boolean;
  private readonly cpu: VirtualProcessorEvents;
  private readonly bus: ApicBus;
  private readonly extInt: ExtIntSource | undefined;
  private readonly x2apicSupported: boolean;
  private readonly timer: ApicTimer;

  private base = BigInt(C.APIC_DEFAULT_BASE);
  private enabled = true;
  private x2apic = false;
  private idReg = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(C.LVT_COUNT);
  /** An ExtINT message (from the IOAPIC or MSI) is waiting for the PIC's vector. */
  private extIntMessage = false;

  constructor(o: LocalApicOptions) {
    if (!Number.isInteger(o.apicId) || o.apicId < 0 || o.apicId > 0xfe) throw new RangeError(`APIC id ${o.apicId} must be 0..254`);
    this.apicId = o.apicId;
    this.bsp = o.bsp;
    this.cpu = o.cpu;
    this.bus = o.bus;
    this.extInt = o.extInt;
    this.x2apicSupported = o.x2apicSupported ?? false;
    this.timer = new ApicTimer(o.clock, o.nsPerBusCycle ?? 1, o.tscToNs ?? ((t) => Number(t)), () => this.raiseLvt(C.LVT_TIMER));
    o.bus.attach(this);
    this.reset();
  }

  /** Power-up / RESET state (SDM 11.4.7.1). */
  reset(): void {
    this.base = BigInt(C.APIC_DEFAULT_BASE);
    this.enabled = true;
    this.x2apic = false;
    this.resetRegisters();
    if (this.bsp) this.lvt[C.LVT_LINT0] = C.DM_EXTINT << 8;
  }

  /** INIT and global disable: everything back to power-up values except ID and APIC_BASE. */
  private resetRegisters(): void {
    this.idReg = this.x2apic ? this.apicId : this.apicId << 24;
    this.tpr = 0;
    this.ldr = this.x2apic ? this.x2apicLdr() : 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.isr.fill(0); this.tmr.fill(0); this.irr.fill(0);
    this.esr = 0; this.esrPending = 0;
    this.icrLow = 0; this.icrHigh = 0;
    this.lvt.fill(C.LVT_MASKED);
    this.extIntMessage = false;
    this.timer.reset();
  }

  private x2apicLdr(): number { return (((this.apicId >>> 4) << 16) | (1 << (this.apicId & 15))) >>> 0; }
  private softwareEnabled(): boolean { return (this.svr & C.SVR_APIC_ENABLED) !== 0; }
  isX2apic(): boolean { return this.x2apic; }
  isEnabled(): boolean { return this.enabled; }

  // ---- InterruptController ----

  private extIntReady(): boolean {
    if (this.extInt === undefined) return false;
    if (!this.enabled) return true;
    const l0 = this.lvt[C.LVT_LINT0]!;
    return this.extIntMessage || ((l0 & C.LVT_MASKED) === 0 && ((l0 >>> 8) & 7) === C.DM_EXTINT);
  }

  pendingVector(): number {
    if (this.extIntReady()) {
      const v = this.extInt!.pendingVector();
      if (v >= 0) return v;
    }
    if (!this.enabled || !this.softwareEnabled()) return -1;
    const v = highestBit(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr() & 0xf0)) return -1;
    return v;
  }

  acknowledge(): number {
    if (this.extIntReady() && this.extInt!.pendingVector() >= 0) {
      this.extIntMessage = false;
      return this.extInt!.acknowledge();
    }
    const v = this.pendingVector();
    // SDM 11.9: an interrupt that vanished between INTR and INTA yields the spurious vector.
    if (v < 0) return this.svr & 0xff;
    clearBit(this.irr, v);
    setBit(this.isr, v);
    return v;
  }

  getTpr(): number { return this.tpr; }
  setTpr(value: number): void { this.tpr = value & 0xff; this.cpu.notifyInterrupt(); }

  ppr(): number {
    const isrv = Math.max(highestBit(this.isr), 0);
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  private apr(): number {
    const irrv = Math.max(highestBit(this.irr), 0);
    const isrv = Math.max(highestBit(this.isr), 0);
    if ((this.tpr & 0xf0) >= (irrv & 0xf0) && (this.tpr & 0xf0) > (isrv & 0xf0)) return this.tpr;
    return Math.max(this.tpr & 0xf0, isrv & 0xf0, irrv & 0xf0);
  }

  // ---- ApicEndpoint (messages from the bus) ----

  acceptsDestination(dest: number, logical: boolean, broadcastId: number): boolean {
    if (!this.enabled) return false;
    if (dest === broadcastId) return true;
    if (!logical) return dest === (this.x2apic ? this.apicId : this.idReg >>> 24);
    if (this.x2apic) return (dest >>> 16) === (this.ldr >>> 16) && (dest & this.ldr & 0xffff) !== 0;
    const d = dest & 0xff, l = this.ldr >>> 24;
    if (d === 0xff) return true;
    if ((this.dfr >>> 28) === 0xf) return (d & l) !== 0;
    return (d >>> 4) === (l >>> 4) && (d & l & 0xf) !== 0;
  }

  arbitrationPriority(): number { return this.apr(); }

  receive(deliveryMode: number, vector: number, levelTriggered: boolean, assert: boolean): void {
    if (!this.enabled) return;
    switch (deliveryMode) {
      case C.DM_FIXED: case C.DM_LOWEST: this.acceptFixed(vector, levelTriggered); return;
      case C.DM_NMI: this.cpu.raiseNmi(); return;
      case C.DM_INIT:
        if (levelTriggered && !assert) return; // INIT level de-assert: arbitration-ID sync, a no-op on xAPIC
        this.resetRegisters();
        this.cpu.init();
        return;
      case C.DM_STARTUP: this.cpu.sipi(vector & 0xff); return;
      case C.DM_EXTINT: this.extIntMessage = true; this.cpu.notifyInterrupt(); return;
      default: return; // SMI and reserved modes: no SMM in this platform
    }
  }

  private acceptFixed(vector: number, levelTriggered: boolean): void {
    if (vector < 16) { this.signalError(C.ESR_RECEIVE_ILLEGAL_VECTOR); return; }
    setBit(this.irr, vector);
    if (levelTriggered) setBit(this.tmr, vector); else clearBit(this.tmr, vector);
    this.cpu.notifyInterrupt();
  }

  private signalError(bits: number): void {
    const fresh = (this.esrPending & bits) !== bits;
    this.esrPending |= bits;
    if (fresh) this.raiseLvt(C.LVT_ERROR);
  }

  /** A local interrupt source fires through its LVT entry. */
  private raiseLvt(index: number): void {
    const e = this.lvt[index]!;
    if (!this.enabled || (e & C.LVT_MASKED) !== 0) return;
    const mode = index === C.LVT_TIMER || index === C.LVT_ERROR ? C.DM_FIXED : (e >>> 8) & 7;
    const level = (index === C.LVT_LINT0 || index === C.LVT_LINT1) && (e & 0x8000) !== 0 && mode === C.DM_FIXED;
    if (mode === C.DM_FIXED && (e & 0xff) < 16) {
      // An illegal LVT vector reports the error but must not recurse through the error LVT forever.
      if (index !== C.LVT_ERROR) this.signalError(C.ESR_RECEIVE_ILLEGAL_VECTOR); else this.esrPending |= C.ESR_RECEIVE_ILLEGAL_VECTOR;
      return;
    }
    if (mode === C.DM_EXTINT) { this.cpu.notifyInterrupt(); return; }
    this.receive(mode, e & 0xff, level, true);
  }

  /** LINT0/LINT1 pin asserted by the platform (e.g. the legacy NMI line on LINT1). */
  raiseLint(pin: 0 | 1): void { this.raiseLvt(pin === 0 ? C.LVT_LINT0 : C.LVT_LINT1); }

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    clearBit(this.isr, v);
    if (testBit(this.tmr, v)) this.bus.broadcastEoi(v);
    this.cpu.notifyInterrupt();
  }

  // ---- IPIs ----

  private sendIpi(): void {
    const lo = this.icrLow;
    const vector = lo & 0xff, mode = (lo >>> 8) & 7, logical = (lo & 0x800) !== 0;
    const assert = (lo & 0x4000) !== 0, level = (lo & 0x8000) !== 0, shorthand = (lo >>> 18) & 3;
    if ((mode === C.DM_FIXED || mode === C.DM_LOWEST) && vector < 16) { this.signalError(C.ESR_SEND_ILLEGAL_VECTOR); return; }
    if (mode === C.DM_EXTINT || mode === 3 || mode === C.DM_SMI) return;
    if (mode === C.DM_INIT && level && !assert) return;
    if ((mode === C.DM_INIT || mode === C.DM_STARTUP) && shorthand === C.SH_SELF) return;
    const dest = this.x2apic ? this.icrHigh >>> 0 : this.icrHigh >>> 24;
    this.bus.deliver(dest, logical, this.x2apic ? 0xffffffff : 0xff, mode, vector, mode === C.DM_FIXED || mode === C.DM_LOWEST ? level : false, true, shorthand, this);
  }

  // ---- register file (shared by MMIO and MSR paths) ----

  /** Register value, or undefined when the register does not exist in the current mode. */
  readRegister(offset: number): number | undefined {
    if (offset >= C.REG_ISR && offset < C.REG_ISR + 0x80) return this.isr[(offset - C.REG_ISR) >>> 4]!;
    if (offset >= C.REG_TMR && offset < C.REG_TMR + 0x80) return this.tmr[(offset - C.REG_TMR) >>> 4]!;
    if (offset >= C.REG_IRR && offset < C.REG_IRR + 0x80) return this.irr[(offset - C.REG_IRR) >>> 4]!;
    const li = LVT_REGS.indexOf(offset);
    if (li >= 0) return this.lvt[li]!;
    switch (offset) {
      case C.REG_ID: return this.idReg;
      case C.REG_VERSION: return C.APIC_VERSION_VALUE;
      case C.REG_TPR: return this.tpr;
      case C.REG_APR: return this.x2apic ? undefined : this.apr();
      case C.REG_PPR: return this.ppr();
      case C.REG_EOI: return this.x2apic ? undefined : 0;
      case C.REG_RRD: return this.x2apic ? undefined : 0;
      case C.REG_LDR: return this.ldr;
      case C.REG_DFR: return this.x2apic ? undefined : this.dfr;
      case C.REG_SVR: return this.svr;
      case C.REG_ESR: return this.esr;
      case C.REG_ICR_LOW: return this.icrLow;
      case C.REG_ICR_HIGH: return this.x2apic ? undefined : this.icrHigh;
      case C.REG_TIMER_INITIAL: return this.timer.getInitialCount();
      case C.REG_TIMER_CURRENT: return this.timer.currentCount();
      case C.REG_TIMER_DIVIDE: return this.timer.getDivideConfig();
      default: return this.x2apic ? undefined : 0;
    }
  }

  /** Returns false when the register cannot be written in the current mode (x2APIC: #GP). */
  writeRegister(offset: number, value: number): boolean {
    value >>>= 0;
    const li = LVT_REGS.indexOf(offset);
    if (li >= 0) { this.writeLvt(li, value); return true; }
    switch (offset) {
      case C.REG_ID: if (this.x2apic) return false; this.idReg = value & 0xff000000; return true;
      case C.REG_TPR: this.setTpr(value); return true;
      case C.REG_EOI: if (this.x2apic && value !== 0) return false; this.eoi(); return true;
      case C.REG_LDR: if (this.x2apic) return false; this.ldr = value & 0xff000000; return true;
      case C.REG_DFR: if (this.x2apic) return false; this.dfr = (value | 0x0fffffff) >>> 0; return true;
      case C.REG_SVR: this.writeSvr(value); return true;
      case C.REG_ESR: if (this.x2apic && value !== 0) return false; this.esr = this.esrPending; this.esrPending = 0; return true;
      case C.REG_ICR_LOW: this.icrLow = value & 0x000ccfff; this.sendIpi(); return true;
      case C.REG_ICR_HIGH: if (this.x2apic) return false; this.icrHigh = value & 0xff000000; return true;
      case C.REG_TIMER_INITIAL: this.timer.writeInitialCount(value); return true;
      case C.REG_TIMER_DIVIDE: this.timer.writeDivideConfig(value); return true;
      case C.REG_SELF_IPI:
        if (!this.x2apic) return true;
        if ((value & 0xff) < 16) { this.signalError(C.ESR_SEND_ILLEGAL_VECTOR); return true; }
        this.acceptFixed(value & 0xff, false);
        return true;
      default:
        // Read-only and reserved registers: ignored in xAPIC mode (the SDM leaves MMIO writes to them undefined).
        if (!this.x2apic) return true;
        return false;
    }
  }

  private writeSvr(value: number): void {
    this.svr = value & 0x3ff;
    if (!this.softwareEnabled()) for (let i = 0; i < C.LVT_COUNT; i++) this.lvt[i]! |= C.LVT_MASKED;
    this.cpu.notifyInterrupt();
  }

  private writeLvt(index: number, value: number): void {
    let v = value & LVT_WRITABLE[index]!;
    if (!this.softwareEnabled()) v |= C.LVT_MASKED;
    // Remote IRR (bit 14) of LINT entries is read-only: keep it.
    v |= this.lvt[index]! & 0x4000;
    this.lvt[index] = v;
    if (index === C.LVT_TIMER) this.timer.setMode((v >>> 17) & 3);
    if (index === C.LVT_LINT0) this.cpu.notifyInterrupt();
  }

  // ---- xAPIC MMIO (per processor; the VM routes each CPU's accesses to its own APIC) ----

  mmioRead(offset: number, data: Uint8Array): void {
    if (!this.enabled || this.x2apic) { data.fill(0xff); return; }
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      const byteInReg = o & 15;
      if (byteInReg >= 4) { data[i] = 0; continue; }
      const r = this.readRegister(o & 0xff0) ?? 0;
      data[i] = (r >>> (byteInReg * 8)) & 0xff;
    }
  }

  /** Registers take aligned 32-bit writes only (SDM 11.4.1); anything else is dropped. */
  mmioWrite(offset: number, data: Uint8Array): void {
    if (!this.enabled || this.x2apic || (offset & 15) !== 0 || data.length < 4) return;
    const value = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
    this.writeRegister(offset & 0xff0, value);
  }

  // ---- x2APIC MSRs 0x800-0x8FF ----

  /** Value of an x2APIC MSR, or undefined when the access must raise #GP. */
  readMsr(index: number): bigint | undefined {
    if (!this.x2apic || index < 0x800 || index > 0x8ff) return undefined;
    const offset = (index - 0x800) << 4;
    if (offset === C.REG_ICR_LOW) return (BigInt(this.icrHigh >>> 0) << 32n) | BigInt(this.icrLow >>> 0);
    if (offset === C.REG_SELF_IPI) return undefined;
    const v = this.readRegister(offset);
    return v === undefined ? undefined : BigInt(v >>> 0);
  }

  /** Returns false when the access must raise #GP. */
  writeMsr(index: number, value: bigint): boolean {
    if (!this.x2apic || index < 0x800 || index > 0x8ff) return false;
    const offset = (index - 0x800) << 4;
    const v = BigInt.asUintN(64, value);
    if (offset === C.REG_ICR_LOW) {
      this.icrHigh = Number(v >> 32n) >>> 0;
      this.icrLow = Number(v & 0xffffffffn) & 0x000ccfff;
      this.sendIpi();
      return true;
    }
    if (v >> 32n !== 0n) return false;
    if (offset === C.REG_ID || offset === C.REG_VERSION || offset === C.REG_PPR || offset === C.REG_LDR || offset === C.REG_TIMER_CURRENT) return false;
    if (offset >= C.REG_ISR && offset < C.REG_ESR) return false;
    return this.writeRegister(offset, Number(v));
  }

  // ---- IA32_APIC_BASE (MSR 0x1B) ----

  readApicBase(): bigint {
    return this.base | (this.enabled ? C.APIC_BASE_ENABLE : 0n) | (this.x2apic ? C.APIC_BASE_EXTD : 0n) | (this.bsp ? C.APIC_BASE_BSP : 0n);
  }

  /**
   * Returns false (the CPU raises #GP) for reserved bits, x2APIC without support, the invalid
   * EXTD-without-EN state, x2APIC→xAPIC without passing through disabled, and any relocation of
   * the base: this platform keeps the APIC at its architectural address.
   */
  writeApicBase(value: bigint): boolean {
    const v = BigInt.asUintN(64, value);
    if ((v & ~0x000ffffffffffd00n) !== 0n) return false;
    const en = (v & C.APIC_BASE_ENABLE) !== 0n, extd = (v & C.APIC_BASE_EXTD) !== 0n;
    if ((v & 0x000ffffffffff000n) !== this.base) return false;
    if (extd && !this.x2apicSupported) return false;
    if (extd && !en) return false;
    if (this.x2apic && en && !extd) return false;
    if (!en) {
      if (this.enabled) { this.x2apic = false; this.resetRegisters(); this.enabled = false; this.cpu.notifyInterrupt(); }
      return true;
    }
    if (!this.enabled) { this.enabled = true; this.x2apic = extd; this.resetRegisters(); this.cpu.notifyInterrupt(); return true; }
    if (extd && !this.x2apic) { this.x2apic = true; this.idReg = this.apicId; this.ldr = this.x2apicLdr(); }
    return true;
  }

  // ---- TSC deadline (IA32_TSC_DEADLINE, MSR 0x6E0) ----

  writeTscDeadline(tsc: bigint): void { this.timer.writeTscDeadline(tsc); }
  readTscDeadline(): bigint { return this.timer.getTscDeadline(); }

  // ---- saved state ----

  save(): SavedState {
    const data: { [key: string]: StateValue } = {
      apicId: this.apicId, base: this.base, enabled: this.enabled, x2apic: this.x2apic, idReg: this.idReg,
      tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr,
      isr: this.isr.slice(), tmr: this.tmr.slice(), irr: this.irr.slice(),
      esr: this.esr, esrPending: this.esrPending, icrLow: this.icrLow, icrHigh: this.icrHigh,
      lvt: this.lvt.slice(), extIntMessage: this.extIntMessage,
    };
    for (const [k, v] of Object.entries(this.timer.save())) data['timer.' + k] = v;
    return { id: STATE_ID, version: 1, data };
  }

  restore(state: SavedState): void {
    const d = expectState(state, STATE_ID, 1);
    const u32 = (f: string): number => {
      const v = stateNumber(STATE_ID, d, f);
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SavedStateError(STATE_ID, `field '${f}' must be a 32-bit unsigned integer`);
      return v;
    };
    const words = (f: string, n: number): Uint32Array => {
      const v = d[f];
      if (!(v instanceof Uint32Array) || v.length !== n) throw new SavedStateError(STATE_ID, `field '${f}' must be ${n} 32-bit words`);
      return v;
    };
    if (u32('apicId') !== this.apicId) throw new SavedStateError(STATE_ID, `record is for APIC id ${String(d['apicId'])}, not ${this.apicId}`);
    const base = stateBigInt(STATE_ID, d, 'base');
    if (base !== BigInt(C.APIC_DEFAULT_BASE)) throw new SavedStateError(STATE_ID, 'field \'base\' must be the architectural APIC base 0xfee00000');
    const enabled = stateBool(STATE_ID, d, 'enabled'), x2apic = stateBool(STATE_ID, d, 'x2apic');
    if (x2apic && (!enabled || !this.x2apicSupported)) throw new SavedStateError(STATE_ID, 'x2APIC mode saved, but this APIC is disabled or lacks x2APIC support');
    const fields = ['idReg', 'tpr', 'ldr', 'dfr', 'svr', 'esr', 'esrPending', 'icrLow', 'icrHigh'].map(u32);
    const isr = words('isr', 8), tmr = words('tmr', 8), irr = words('irr', 8), lvt = words('lvt', C.LVT_COUNT);
    const extIntMessage = stateBool(STATE_ID, d, 'extIntMessage');
    this.timer.restore(STATE_ID, d); // validates before changing anything it owns
    this.base = base; this.enabled = enabled; this.x2apic = x2apic;
    [this.idReg, this.tpr, this.ldr, this.dfr, this.svr, this.esr, this.esrPending, this.icrLow, this.icrHigh] = fields as [number, number, number, number, number, number, number, number, number];
    this.tpr &= 0xff; this.svr &= 0x3ff;
    this.isr.set(isr); this.tmr.set(tmr); this.irr.set(irr);
    for (let i = 0; i < C.LVT_COUNT; i++) this.lvt[i] = lvt[i]! & (LVT_WRITABLE[i]! | 0x4000);
    this.extIntMessage = extIntMessage;
  }
}
