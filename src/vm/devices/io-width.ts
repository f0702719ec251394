/**
 * Access-width rules shared by the byte-wide ISA devices. A 16/32-bit access to a one-byte register
 * behaves as on an ISA bus: the register supplies the low byte and the remaining byte lanes float
 * high; the devices that span several ports split wide accesses into byte accesses instead.
 */
import type { IoSize } from '../bus/port-io-bus.js';

export const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

export function widenByte(byte: number, size: IoSize): number {
  if (size === 1) return byte & 0xff;
  return ((SIZE_MASK[size] & ~0xff) | (byte & 0xff)) >>> 0;
}

/** Reads `size` consecutive byte ports through `readByte`, little-endian. */
export function readBytes(port: number, size: IoSize, readByte: (port: number) => number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= (readByte(port + i) & 0xff) << (8 * i);
  return v >>> 0;
}

/** Writes `size` consecutive byte ports through `writeByte`, low byte first. */
export function writeBytes(port: number, size: IoSize, value: number, writeByte: (port: number, value: number) => void): void {
  for (let i = 0; i < size; i++) writeByte(port + i, (value >>> (8 * i)) & 0xff);
}
