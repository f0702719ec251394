/**
 * Framing of the worker channel (a Unix stream socket): [u32 big-endian length][u8 kind][payload],
 * where length counts kind + payload. Kinds: JSON messages and raw console bytes in each direction,
 * so console traffic costs no encoding. The decoder bounds frame size: the other end may be buggy
 * or compromised (the guest runs in the worker), and a bad frame must not exhaust the service.
 */

export const FRAME_JSON = 1;
export const FRAME_CONSOLE_OUT = 2;
export const FRAME_CONSOLE_IN = 3;
export type FrameKind = typeof FRAME_JSON | typeof FRAME_CONSOLE_OUT | typeof FRAME_CONSOLE_IN;

export const MAX_FRAME = 1 << 20;

export class FrameError extends Error {
  constructor(message: string) {
    super(`worker channel: ${message}`);
    this.name = 'FrameError';
  }
}

export function encodeFrame(kind: FrameKind, payload: Uint8Array): Buffer {
  if (payload.length + 1 > MAX_FRAME) throw new FrameError(`frame of ${payload.length} bytes exceeds ${MAX_FRAME}`);
  const b = Buffer.allocUnsafe(5 + payload.length);
  b.writeUInt32BE(payload.length + 1, 0);
  b[4] = kind;
  b.set(payload, 5);
  return b;
}

export function encodeJson(msg: unknown): Buffer {
  return encodeFrame(FRAME_JSON, Buffer.from(JSON.stringify(msg), 'utf8'));
}

/** Accumulates stream chunks and yields whole frames; throws FrameError on a malformed stream. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (kind: FrameKind, payload: Buffer) => void): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len < 1 || len > MAX_FRAME) throw new FrameError(`frame length ${len} is out of range 1..${MAX_FRAME}`);
      if (this.buf.length < 4 + len) break;
      const kind = this.buf[4]!;
      if (kind !== FRAME_JSON && kind !== FRAME_CONSOLE_OUT && kind !== FRAME_CONSOLE_IN) throw new FrameError(`unknown frame kind ${kind}`);
      const payload = this.buf.subarray(5, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      onFrame(kind, payload);
    }
  }
}
