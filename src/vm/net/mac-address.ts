/**
 * MAC addresses as the CLI and the devices see them: six bytes, written as "52:54:00:12:34:56".
 * A NIC's own address must be unicast (bit 0 of the first octet clear); generated addresses are
 * locally administered (bit 1 set) under QEMU's 52:54:00 prefix, which guests and tools already
 * recognise as a virtual NIC.
 */
import { randomBytes } from 'node:crypto';
import { UserError } from '../../common/errors.js';

export const MAC_BYTES = 6;

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-'); throws a UserError naming what is wrong. */
export function parseMac(text: string, what = 'MAC address'): Uint8Array {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== MAC_BYTES || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new UserError(`${what} '${text}' is not six hex byte pairs like 52:54:00:12:34:56`);
  }
  const mac = Uint8Array.from(parts.map((p) => parseInt(p, 16)));
  if ((mac[0]! & 1) !== 0) throw new UserError(`${what} '${text}' is a multicast address; a NIC needs a unicast one (first byte even)`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, MAC_BYTES), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A fresh locally administered unicast address, 52:54:00:xx:xx:xx. */
export function randomMac(): Uint8Array {
  const tail = randomBytes(3);
  return Uint8Array.of(0x52, 0x54, 0x00, tail[0]!, tail[1]!, tail[2]!);
}

/** Accepts either form, checks it, and returns a private copy. */
export function macBytes(mac: Uint8Array | string, what = 'MAC address'): Uint8Array {
  if (typeof mac === 'string') return parseMac(mac, what);
  if (mac.length !== MAC_BYTES) throw new UserError(`${what} has ${mac.length} bytes, not ${MAC_BYTES}`);
  return parseMac(formatMac(mac), what);
}
