/**
 * virtio-console numbers (virtio 1.2, 5.3): features, the configuration space, queue numbering
 * and the control messages (struct virtio_console_control: le32 id, le16 event, le16 value,
 * then event-specific bytes — a port's name follows PORT_NAME, unterminated).
 */

export const CONSOLE_F_SIZE = 0;
export const CONSOLE_F_MULTIPORT = 1;
export const CONSOLE_F_EMERG_WRITE = 2;

/** Configuration space: cols, rows, max_nr_ports, emerg_wr. */
export const CONSOLE_CONFIG_SIZE = 12;
export const CFG_MAX_NR_PORTS = 4;
export const CFG_EMERG_WR = 8;

export const CONTROL_RX_QUEUE = 2;
export const CONTROL_TX_QUEUE = 3;
export const CONTROL_HEADER = 8;

export const EV_DEVICE_READY = 0;
export const EV_DEVICE_ADD = 1;
export const EV_DEVICE_REMOVE = 2;
export const EV_PORT_READY = 3;
export const EV_CONSOLE_PORT = 4;
export const EV_RESIZE = 5;
export const EV_PORT_OPEN = 6;
export const EV_PORT_NAME = 7;

/** The name the guest agent's port carries (/dev/virtio-ports/org.viridian.agent.0). */
export const AGENT_PORT_NAME = 'org.viridian.agent.0';
/** Ports a device may have: Linux sizes its queue arrays by max_nr_ports; 31 keeps 64 queues. */
export const MAX_PORTS = 31;

/** Receive queue of port `id` (data to the guest). */
export function portRxQueue(id: number): number { return id === 0 ? 0 : 2 + 2 * id; }
/** Transmit queue of port `id` (data from the guest). */
export function portTxQueue(id: number): number { return id === 0 ? 1 : 3 + 2 * id; }

/** Which port a data queue belongs to, and its direction; undefined for the control queues. */
export function queuePort(index: number): { port: number; rx: boolean } | undefined {
  if (index < 2) return { port: 0, rx: index === 0 };
  if (index < 4) return undefined;
  return { port: (index - 2) >> 1, rx: (index & 1) === 0 };
}

export function controlMessage(id: number, event: number, value: number, extra?: Uint8Array): Uint8Array {
  const m = new Uint8Array(CONTROL_HEADER + (extra?.length ?? 0));
  const v = new DataView(m.buffer);
  v.setUint32(0, id, true);
  v.setUint16(4, event, true);
  v.setUint16(6, value, true);
  if (extra !== undefined) m.set(extra, CONTROL_HEADER);
  return m;
}
