/**
 * One 8259A programmable interrupt controller: the register state and priority logic of a single
 * chip. The master/slave pair, ports and cascade live in i8259-pair.ts.
 */
export class I8259Chip {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Pin levels as last driven, for edge detection. */
  pins = 0;
  /** Edge/level control (ELCR bits; a 1 makes the pin level-triggered). */
  elcr = 0;
  /** IR line with the highest priority is (priorityBase) & 7; rotation moves it. */
  priorityBase = 0;
  vectorBase = 0;
  /** 0 = operational; 1..3 = expecting ICW2..ICW4. */
  initStep = 0;
  icw4Needed = false;
  single = false;
  levelMode = false; // ICW1.LTIM: every pin level-triggered
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  specialMask = false;
  readIsr = false;
  poll = false;

  constructor(readonly isMaster: boolean) {}

  private isLevel(mask: number): boolean { return this.levelMode || (this.elcr & mask) !== 0; }

  setPin(pin: number, level: boolean): void {
    const mask = 1 << pin;
    if (this.isLevel(mask)) {
      if (level) { this.irr |= mask; this.pins |= mask; } else { this.irr &= ~mask; this.pins &= ~mask; }
      return;
    }
    if (level) {
      if ((this.pins & mask) === 0) this.irr |= mask;
      this.pins |= mask;
    } else {
      this.pins &= ~mask;
    }
  }

  /** Priority rank (0 = highest) of the best bit in `mask`, or 8 for none. */
  private rank(mask: number): number {
    if ((mask & 0xff) === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityBase) & 7))) === 0) p++;
    return p;
  }

  /** The IR line this chip would present now, or -1. */
  pending(): number {
    const req = this.rank(this.irr & ~this.imr);
    if (req === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested: a further request on the cascade line may interrupt one in service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return req < this.rank(inService) ? (req + this.priorityBase) & 7 : -1;
  }

  /** INTA for line `irq`: move it from IRR to ISR (unless auto-EOI). */
  acknowledge(irq: number): void {
    const mask = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityBase = (irq + 1) & 7;
    } else {
      this.isr |= mask;
    }
    // A level-triggered request stays in IRR while the pin is held.
    if (!this.isLevel(mask)) this.irr &= ~mask;
  }

  writeCommand(v: number): void {
    if (v & 0x10) { this.icw1(v); return; }
    if (v & 0x08) { this.ocw3(v); return; }
    this.ocw2(v);
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 0: this.imr = v; return;
      case 1:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.icw4Needed ? 3 : 0) : 2;
        return;
      case 2: // ICW3: the cascade wiring is fixed (slave on IR2), so the value is only consumed
        this.initStep = this.icw4Needed ? 3 : 0;
        return;
      default:
        this.autoEoi = (v & 2) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initStep = 0;
    }
  }

  readCommand(): number { return this.readIsr ? this.isr : this.irr; }

  private icw1(v: number): void {
    // Initialisation clears the mask, priorities, special modes and the edge-sense latches,
    // so a line already high must go low and high again to request.
    this.imr = 0;
    this.isr = 0;
    this.irr = 0;
    this.priorityBase = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.rotateOnAutoEoi = false;
    this.autoEoi = false;
    this.specialFullyNested = false;
    this.icw4Needed = (v & 1) !== 0;
    this.single = (v & 2) !== 0;
    this.levelMode = (v & 8) !== 0;
    if (this.levelMode) this.irr = this.pins;
    else this.irr = this.pins & this.elcr;
    this.initStep = 1;
  }

  private ocw2(v: number): void {
    const cmd = v >> 5;
    switch (cmd) {
      case 0: this.rotateOnAutoEoi = false; return;
      case 4: this.rotateOnAutoEoi = true; return;
      case 1: case 5: { // non-specific EOI (5: and rotate)
        const r = this.rank(this.isr);
        if (r === 8) return;
        const irq = (r + this.priorityBase) & 7;
        this.isr &= ~(1 << irq);
        if (cmd === 5) this.priorityBase = (irq + 1) & 7;
        return;
      }
      case 3: this.isr &= ~(1 << (v & 7)); return;
      case 7: this.isr &= ~(1 << (v & 7)); this.priorityBase = ((v & 7) + 1) & 7; return;
      case 6: this.priorityBase = ((v & 7) + 1) & 7; return;
      default: return; // 2: no operation
    }
  }

  private ocw3(v: number): void {
    if (v & 4) this.poll = true;
    if (v & 2) this.readIsr = (v & 1) !== 0;
    if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
  }
}
