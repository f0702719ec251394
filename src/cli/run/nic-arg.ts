/** `--nic socket=PATH[,mac=M]`: a virtio-net NIC joined to other VMs through a Unix stream socket. */
import { UserError } from '../../common/errors.js';
import { parseMac } from '../../vm/net/mac-address.js';

export interface NicArg { socket: string; mac?: Uint8Array }

export function parseNicArg(text: string): NicArg {
  let socket: string | undefined;
  let mac: Uint8Array | undefined;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq), value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'socket' && value !== '') socket = value;
    else if (key === 'mac' && value !== '') mac = parseMac(value, `--nic ${text}: mac`);
    else throw new UserError(`--nic: '${part}' in '${text}' is not socket=PATH or mac=MAC`);
  }
  if (socket === undefined) throw new UserError(`--nic: '${text}' needs socket=PATH (the only backend so far)`);
  return mac === undefined ? { socket } : { socket, mac };
}
