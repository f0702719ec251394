/**
 * COM1 on the host terminal. On a TTY, stdin is switched to raw mode so every key reaches the
 * guest; Ctrl-A x ends the VM, Ctrl-A Ctrl-A sends one Ctrl-A and Ctrl-A h prints help (the same
 * escape QEMU's -nographic console uses). Without a TTY, stdin is forwarded as is and its end
 * stops forwarding but not the VM. Output is buffered per burst of guest execution.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { UserError } from '../../common/errors.js';
import type { SerialBackend } from '../../vm/devices/uart-16550.js';

const CTRL_A = 0x01;

export type SerialTarget = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

export function parseSerialTarget(text: string): SerialTarget {
  if (text === 'stdio') return { kind: 'stdio' };
  if (text === 'none') return { kind: 'none' };
  if (text.startsWith('file:') && text.length > 5) return { kind: 'file', path: text.slice(5) };
  throw new UserError(`--serial: '${text}' is not stdio, none or file:PATH`);
}

export class SerialConsole implements SerialBackend {
  private out: number[] = [];
  private readonly fd: number | undefined;
  private escape = false;
  private pendingInput: Buffer[] = [];
  private rawMode = false;
  /** Set by the caller: deliver host input to the guest UART (returns bytes taken). */
  deliver: ((bytes: Uint8Array) => number) | undefined;
  /** Called when the operator asks to end the VM (Ctrl-A x). */
  onQuit: (() => void) | undefined;
  /** Called when new input is waiting (wake an idle VM). */
  onInput: (() => void) | undefined;
  /** Called once if the output side goes away (EPIPE): nobody can see the console any more. */
  onOutputClosed: (() => void) | undefined;
  private outputClosed = false;

  constructor(private readonly target: SerialTarget) {
    if (target.kind === 'file') {
      try { this.fd = openSync(target.path, 'w'); } catch (e) {
        throw new UserError(`--serial: cannot open ${target.path} for writing: ${(e as Error).message}`);
      }
    }
  }

  write(byte: number): void { if (this.target.kind !== 'none') this.out.push(byte); }

  /** Writes what the guest sent since the last flush. */
  flush(): void {
    if (this.out.length === 0) return;
    const buf = Buffer.from(this.out);
    this.out = [];
    if (this.outputClosed) return;
    try {
      if (this.fd !== undefined) writeAll(this.fd, buf);
      else if (this.target.kind === 'stdio') writeAll(1, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      this.outputClosed = true;
      this.onOutputClosed?.();
    }
  }

  /** Starts reading the host's stdin (stdio target only). */
  attachStdin(): void {
    if (this.target.kind !== 'stdio') return;
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.rawMode = true;
      process.stderr.write('viridian: console on COM1; press Ctrl-A x to end the VM, Ctrl-A h for help\r\n');
    }
    stdin.on('data', (chunk: Buffer) => this.onData(chunk));
    stdin.on('error', () => { /* a closed stdin just stops input */ });
    stdin.resume();
  }

  private onData(chunk: Buffer): void {
    const pass: number[] = [];
    for (const b of chunk) {
      if (!this.rawMode) { pass.push(b); continue; }
      if (this.escape) {
        this.escape = false;
        if (b === 0x78 || b === 0x58) { this.onQuit?.(); return; }
        if (b === CTRL_A) pass.push(CTRL_A);
        else if (b === 0x68 || b === 0x48) process.stderr.write('\r\nCtrl-A x  end the VM\r\nCtrl-A Ctrl-A  send Ctrl-A\r\n');
        continue;
      }
      if (b === CTRL_A) { this.escape = true; continue; }
      pass.push(b);
    }
    if (pass.length > 0) { this.pendingInput.push(Buffer.from(pass)); this.onInput?.(); }
  }

  /** Feeds waiting input into the UART as far as its FIFO takes it (called once per burst). */
  pump(): void {
    while (this.pendingInput.length > 0 && this.deliver !== undefined) {
      const head = this.pendingInput[0]!;
      const taken = this.deliver(head);
      if (taken >= head.length) this.pendingInput.shift();
      else { this.pendingInput[0] = head.subarray(taken); return; }
    }
  }

  close(): void {
    this.flush();
    if (this.rawMode) { process.stdin.setRawMode(false); this.rawMode = false; }
    process.stdin.pause();
    process.stdin.removeAllListeners('data');
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try { off += writeSync(fd, buf, off); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}
