/**
 * Ethernet frames over a byte stream, QEMU's stream/socket netdev format: each frame is preceded
 * by its length as a 4-byte big-endian number, nothing else (no virtio header, no FCS).
 *
 * FrameDecoder turns arbitrary chunks back into frames. A frame that lies whole inside one chunk
 * is handed over as a view of that chunk (no copy); one split across chunks is assembled in a
 * buffer of MAX_FRAME bytes allocated once. A length outside MIN_FRAME..MAX_FRAME is reported and
 * its bytes skipped as they stream past, so the stream stays in step and nothing is buffered.
 *
 * FrameEncoder batches frames with their prefixes into one buffer so a burst of guest
 * transmissions costs one socket write.
 */
import { MAX_FRAME, MIN_FRAME } from './net-backend.js';

export const LENGTH_PREFIX = 4;

export class FrameDecoder {
  private readonly prefix = new Uint8Array(LENGTH_PREFIX);
  private prefixHave = 0;
  /** Length of the frame being assembled, or -1 while reading a prefix. */
  private frameLen = -1;
  private readonly frame = new Uint8Array(MAX_FRAME);
  private frameHave = 0;
  /** Bytes of a refused frame still to skip. */
  private skip = 0;

  /** `deliver` gets each good frame (valid during the call); `refuse` each bad length. */
  constructor(
    private readonly deliver: (frame: Uint8Array) => void,
    private readonly refuse: (length: number) => void,
  ) {}

  /** True between frames: no partial prefix, frame or skip pending. */
  get idle(): boolean { return this.prefixHave === 0 && this.frameLen < 0 && this.skip === 0; }

  reset(): void { this.prefixHave = 0; this.frameLen = -1; this.frameHave = 0; this.skip = 0; }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.frameLen < 0) {
        let len: number;
        if (this.prefixHave === 0 && end - pos >= LENGTH_PREFIX) {
          len = ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16) | (chunk[pos + 2]! << 8) | chunk[pos + 3]!) >>> 0;
          pos += LENGTH_PREFIX;
        } else {
          this.prefix[this.prefixHave++] = chunk[pos++]!;
          if (this.prefixHave < LENGTH_PREFIX) continue;
          const p = this.prefix;
          len = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
          this.prefixHave = 0;
        }
        if (len < MIN_FRAME || len > MAX_FRAME) { this.refuse(len); this.skip = len; continue; }
        this.frameLen = len;
        this.frameHave = 0;
        continue;
      }
      const want = this.frameLen - this.frameHave;
      if (this.frameHave === 0 && end - pos >= want) {
        this.frameLen = -1;
        this.deliver(chunk.subarray(pos, pos + want));
        pos += want;
        continue;
      }
      const n = Math.min(want, end - pos);
      this.frame.set(chunk.subarray(pos, pos + n), this.frameHave);
      this.frameHave += n;
      pos += n;
      if (this.frameHave === this.frameLen) {
        const len = this.frameLen;
        this.frameLen = -1;
        this.deliver(this.frame.subarray(0, len));
      }
    }
  }
}

export class FrameEncoder {
  private buf: Uint8Array;
  private used = 0;

  constructor(initialBytes = 256 * 1024) {
    this.buf = new Uint8Array(Math.max(initialBytes, LENGTH_PREFIX + MAX_FRAME));
  }

  /** Bytes waiting in the batch. */
  get pending(): number { return this.used; }
  /** True when another frame of `length` bytes fits in the batch without growing it. */
  fits(length: number): boolean { return this.used + LENGTH_PREFIX + length <= this.buf.length; }

  /** Appends one frame with its prefix; the caller checked fits() (or flushed) first. */
  append(frame: Uint8Array): void {
    const at = this.used, n = frame.length;
    const b = this.buf;
    b[at] = n >>> 24; b[at + 1] = (n >>> 16) & 0xff; b[at + 2] = (n >>> 8) & 0xff; b[at + 3] = n & 0xff;
    b.set(frame, at + LENGTH_PREFIX);
    this.used = at + LENGTH_PREFIX + n;
  }

  /** The batch as a new buffer (the stream keeps it until written) and an empty batch. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.used);
    out.set(this.buf.subarray(0, this.used));
    this.used = 0;
    return out;
  }

  clear(): void { this.used = 0; }
}
