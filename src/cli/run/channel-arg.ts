/**
 * `--channel unix:PATH[,name=NAME]`: a named virtio-console port (an agent channel, the guest's
 * /dev/virtio-ports/NAME) whose host end is a Unix socket `viridian run` listens on — QEMU's
 * `-chardev socket,server=on` plus `-device virtserialport`. Unnamed channels are called
 * org.viridian.agent.N, N counting from 0 in command-line order.
 */
import { UserError } from '../../common/errors.js';

export interface ChannelArg { socket: string; name: string }

/** Console port names as Linux accepts them: printable ASCII without spaces or '/'. */
const PORT_NAME = /^[\x21-\x7e]{1,127}$/;

export function parseChannelArg(text: string, index: number): ChannelArg {
  const parts = text.split(',');
  const first = parts[0]!;
  if (!first.startsWith('unix:') || first.length === 'unix:'.length) throw new UserError(`--channel: '${text}' must start with unix:PATH (a socket viridian listens on)`);
  let name = `org.viridian.agent.${index}`;
  for (const part of parts.slice(1)) {
    if (part.startsWith('name=') && part.length > 5) name = part.slice(5);
    else throw new UserError(`--channel: '${part}' in '${text}' is not name=NAME`);
  }
  if (!PORT_NAME.test(name) || name.includes('/')) throw new UserError(`--channel: port name '${name}' must be 1..127 printable ASCII characters without spaces or '/'`);
  return { socket: first.slice(5), name };
}

/** Parses every --channel in order and checks that names and paths are not used twice. */
export function parseChannelArgs(texts: string[]): ChannelArg[] {
  const out = texts.map((t, i) => parseChannelArg(t, i));
  const names = new Set<string>(), paths = new Set<string>();
  for (const c of out) {
    if (names.has(c.name)) throw new UserError(`--channel: port name '${c.name}' is given twice`);
    if (paths.has(c.socket)) throw new UserError(`--channel: socket ${c.socket} is given twice`);
    names.add(c.name);
    paths.add(c.socket);
  }
  return out;
}
