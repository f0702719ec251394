/**
 * `viridian vm console NAME`: the VM's serial console on this terminal. On a TTY the terminal is
 * put in raw mode and Ctrl-] detaches (as telnet and virsh do); with piped input, end of input
 * detaches. The session also ends when the VM's worker ends.
 */
import WebSocket from 'ws';
import type { ApiClient, ApiErrorBody } from './client.js';
import { ApiCallError } from './client.js';

const DETACH = 0x1d;

export function runConsole(client: ApiClient, name: string): Promise<number> {
  const { url, headers } = client.websocket(`/v1/vms/${encodeURIComponent(name)}/console`);
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    let opened = false;
    const restore = (): void => {
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      stdin.removeAllListeners('data');
      stdin.removeAllListeners('end');
    };
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let err: ApiErrorBody = { code: 'http', message: `the service refused the console (${res.statusCode ?? '?'})` };
        try {
          err = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: ApiErrorBody }).error ?? err;
        } catch {
          // Keep the generic message.
        }
        reject(new ApiCallError(res.statusCode ?? 0, err));
      });
    });
    ws.on('error', (e) => {
      if (!opened) reject(e);
    });
    ws.on('open', () => {
      opened = true;
      if (tty) {
        stdin.setRawMode(true);
        process.stderr.write(`connected to the console of '${name}'; Ctrl-] detaches\r\n`);
      }
      stdin.on('data', (d: Buffer) => {
        const i = tty ? d.indexOf(DETACH) : -1;
        if (i >= 0) {
          if (i > 0) ws.send(d.subarray(0, i));
          ws.close(1000, 'detached');
          return;
        }
        ws.send(d);
      });
      stdin.on('end', () => ws.close(1000, 'end of input'));
      stdin.resume();
    });
    ws.on('message', (data: Buffer) => process.stdout.write(data));
    ws.on('close', (_code, reason) => {
      restore();
      const why = reason.toString('utf8');
      if (why !== '' && why !== 'detached' && why !== 'end of input') process.stderr.write(`\r\nconsole closed: ${why}\r\n`);
      resolve(0);
    });
  });
}
