/**
 * What platform devices ask of the machine around them: resets (port 0x92, 0xCF9, the i8042, the
 * ACPI reset register), power-off (ACPI S5), the debug-exit port used by test guests, and the A20
 * gate. The VM implements it; devices never reach further than this.
 */
export interface PlatformControl {
  requestReset(reason: string): void;
  requestPowerOff(): void;
  /** Ends the VM with this exit status (the debug-exit device passes (value << 1) | 1). */
  requestExit(status: number): void;
  setA20(enabled: boolean): void;
}
