/**
 * Exact conversion between VM-clock nanoseconds and the tick counts of fixed-frequency hardware
 * counters (PIT 1.193182 MHz, ACPI PM timer 3.579545 MHz, RTC 32.768 kHz). Splitting off whole
 * seconds keeps every product below 2^53, so results are exact for any time a VM can reach.
 */
const NS_PER_S = 1_000_000_000;

/** Whole ticks elapsed in `ns` nanoseconds at `hz`. */
export function nsToTicks(ns: number, hz: number): number {
  if (!(ns > 0)) return 0;
  const s = Math.floor(ns / NS_PER_S);
  const rem = ns - s * NS_PER_S;
  return s * hz + Math.floor((rem * hz) / NS_PER_S);
}

/** The first nanosecond at which `ticks` ticks have elapsed (inverse of nsToTicks). */
export function ticksToNs(ticks: number, hz: number): number {
  if (!(ticks > 0)) return 0;
  const q = Math.floor(ticks / hz);
  const r = ticks - q * hz;
  return q * NS_PER_S + Math.ceil((r * NS_PER_S) / hz);
}
