/** GUIDs as MS-VHDX stores them: 16 bytes, the first three fields little-endian (Windows layout). */
import { randomBytes } from 'node:crypto';

export type Guid = Uint8Array;

export function parseGuid(text: string): Guid {
  const hex = text.replace(/[{}]/g, '');
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(hex)) {
    throw new Error(`not a GUID: ${text}`);
  }
  const p = hex.split('-');
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, parseInt(p[0]!, 16), true);
  dv.setUint16(4, parseInt(p[1]!, 16), true);
  dv.setUint16(6, parseInt(p[2]!, 16), true);
  const rest = p[3]! + p[4]!;
  for (let i = 0; i < 8; i++) out[8 + i] = parseInt(rest.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function formatGuid(g: Uint8Array, off = 0): string {
  const dv = new DataView(g.buffer, g.byteOffset + off, 16);
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  let tail = '';
  for (let i = 8; i < 16; i++) tail += h(g[off + i]!, 2);
  return `${h(dv.getUint32(0, true), 8)}-${h(dv.getUint16(4, true), 4)}-${h(dv.getUint16(6, true), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

export function randomGuid(): Guid {
  const g = new Uint8Array(randomBytes(16));
  g[7] = (g[7]! & 0x0f) | 0x40; // version 4 lives in the high nibble of Data3 (byte 7 in LE layout)
  g[8] = (g[8]! & 0x3f) | 0x80;
  return g;
}

export function guidEquals(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

export function isZeroGuid(g: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (g[i] !== 0) return false;
  return true;
}
