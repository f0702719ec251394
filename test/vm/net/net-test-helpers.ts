/**
 * Helpers for network backend tests: a recording sink, temporary directories for socket paths,
 * waiting on real I/O (sockets and timers need host time to pass; the limit only bounds a hang
 * and is never asserted), and a raw length-prefixed peer standing in for QEMU's stream netdev.
 */
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetFrameSink } from '../../../src/vm/net/net-backend.js';

export class RecordingSink implements NetFrameSink {
  readonly frames: Uint8Array[] = [];
  readonly links: boolean[] = [];
  writables = 0;
  receiveFrame(f: Uint8Array): void { this.frames.push(new Uint8Array(f)); }
  linkChanged(up: boolean): void { this.links.push(up); }
  writable(): void { this.writables++; }
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'viridian-net-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function waitFor(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const step = 5;
  for (let waited = 0; waited < limitMs; waited += step) {
    if (cond()) return;
    await new Promise<void>((r) => setTimeout(r, step));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export function prefixed(...frames: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(f.length);
    parts.push(p, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

export function testFrame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 13 + seed * 101) & 0xff;
  f[0] = 0x52; // a unicast destination
  return f;
}

/** A plain listening socket collecting every byte its (single) peer sends. */
export class RawPeer {
  readonly server: net.Server;
  socket: net.Socket | undefined;
  received = Buffer.alloc(0);
  connections = 0;

  private constructor() {
    this.server = net.createServer((s) => {
      this.socket = s;
      this.connections++;
      s.on('data', (b: Buffer) => { this.received = Buffer.concat([this.received, b]); });
      s.on('error', () => { /* the test looks at what arrived */ });
    });
  }

  static listen(path: string): Promise<RawPeer> {
    const p = new RawPeer();
    return new Promise((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(path, () => resolve(p));
    });
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
