/**
 * Conversion between seconds since 1970 (UTC-based arithmetic, no time zone, no wall clock) and the
 * MC146818's time/date registers in BCD or binary, 12- or 24-hour form.
 */
export interface RtcFormat { binary: boolean; hours24: boolean }

export function encodeField(v: number, binary: boolean): number {
  return binary ? v & 0xff : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** Hostile nibbles above 9 decode at face value, giving a defined (if odd) number. */
export function decodeField(v: number, binary: boolean): number {
  return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

export function encodeHour(h: number, f: RtcFormat): number {
  if (f.hours24) return encodeField(h, f.binary);
  return encodeField(h % 12 || 12, f.binary) | (h >= 12 ? 0x80 : 0);
}

export function decodeHour(v: number, f: RtcFormat): number {
  if (f.hours24) return decodeField(v, f.binary);
  const h = decodeField(v & 0x7f, f.binary) % 12;
  return (v & 0x80) !== 0 ? h + 12 : h;
}

/** Registers 0,2,4,6,7,8,9 and the century byte, indexed by their CMOS offsets. */
export interface RtcTimeRegs { sec: number; min: number; hour: number; wday: number; mday: number; month: number; year: number; century: number }

export function secondsToRegs(seconds: number, f: RtcFormat): RtcTimeRegs {
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  return {
    sec: encodeField(d.getUTCSeconds(), f.binary),
    min: encodeField(d.getUTCMinutes(), f.binary),
    hour: encodeHour(d.getUTCHours(), f),
    wday: encodeField(d.getUTCDay() + 1, f.binary),
    mday: encodeField(d.getUTCDate(), f.binary),
    month: encodeField(d.getUTCMonth() + 1, f.binary),
    year: encodeField(((year % 100) + 100) % 100, f.binary),
    century: encodeField(Math.floor(year / 100) % 100, f.binary),
  };
}

/** Seconds since 1970 for the register values, or NaN when they name no representable date. */
export function regsToSeconds(r: RtcTimeRegs, f: RtcFormat): number {
  const year = decodeField(r.century, f.binary) * 100 + decodeField(r.year, f.binary);
  const d = new Date(0);
  // Out-of-range fields (month 0x99, day 0) roll over the way Date arithmetic does: defined, not exact.
  d.setUTCFullYear(year, decodeField(r.month, f.binary) - 1, decodeField(r.mday, f.binary));
  d.setUTCHours(decodeHour(r.hour, f), decodeField(r.min, f.binary), decodeField(r.sec, f.binary), 0);
  const ms = d.getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
}
