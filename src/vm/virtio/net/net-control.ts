/**
 * The receive filter and the control-queue commands that program it (virtio 1.2, 5.1.6.5):
 * promiscuous and all-multicast modes (VIRTIO_NET_F_CTRL_RX), the unicast and multicast MAC
 * tables, the primary address (VIRTIO_NET_F_CTRL_MAC_ADDR) and the announce acknowledgement.
 *
 * Until a driver programs it the filter is promiscuous, as QEMU's is: a driver without CTRL_RX
 * never asks for anything and must still receive every frame. Tables hold 64 entries each;
 * a longer list sets that table's overflow flag, which accepts the whole class (what a NIC does
 * when its exact-match filter runs out).
 */
import { MAC_BYTES } from '../../net/mac-address.js';
import {
  CTRL_ANNOUNCE, CTRL_ANNOUNCE_ACK, CTRL_ERR, CTRL_MAC, CTRL_MAC_ADDR_SET, CTRL_MAC_TABLE_SET, CTRL_OK, CTRL_RX,
  CTRL_RX_ALLMULTI, CTRL_RX_PROMISC, has, NET_F_CTRL_MAC_ADDR, NET_F_CTRL_RX, NET_F_GUEST_ANNOUNCE,
} from './net-config.js';

export const MAC_TABLE_ENTRIES = 64;
/** Longest command the device reads (class, command and data). */
export const MAX_CTRL_COMMAND = 64 * 1024;

export class MacTable {
  readonly bytes = new Uint8Array(MAC_TABLE_ENTRIES * MAC_BYTES);
  count = 0;
  overflow = false;

  clear(): void { this.count = 0; this.overflow = false; }

  /** True when the 6 bytes at frame[0..6) are in the table. */
  has(frame: Uint8Array): boolean {
    const t = this.bytes;
    for (let i = 0, o = 0; i < this.count; i++, o += MAC_BYTES) {
      if (t[o] === frame[0] && t[o + 1] === frame[1] && t[o + 2] === frame[2] && t[o + 3] === frame[3] && t[o + 4] === frame[4] && t[o + 5] === frame[5]) return true;
    }
    return false;
  }

  /** Loads `n` addresses from data[at..]; more than the table holds sets overflow. */
  load(data: Uint8Array, at: number, n: number): void {
    this.overflow = n > MAC_TABLE_ENTRIES;
    this.count = this.overflow ? 0 : n;
    if (!this.overflow) this.bytes.set(data.subarray(at, at + n * MAC_BYTES));
  }
}

export class RxFilter {
  promisc = true;
  allmulti = false;
  /** The primary address: the configuration space shows it, unicast frames to it pass. */
  readonly mac = new Uint8Array(MAC_BYTES);
  readonly unicast = new MacTable();
  readonly multicast = new MacTable();
  /** Set by the host's announce(), cleared by the driver's VIRTIO_NET_CTRL_ANNOUNCE_ACK. */
  announcePending = false;

  reset(mac: Uint8Array): void {
    this.promisc = true;
    this.allmulti = false;
    this.mac.set(mac);
    this.unicast.clear();
    this.multicast.clear();
    this.announcePending = false;
  }

  /** Would the guest's NIC take this frame (destination address at bytes 0..5)? */
  accepts(frame: Uint8Array): boolean {
    if (this.promisc) return true;
    if ((frame[0]! & 1) !== 0) {
      if ((frame[0]! & frame[1]! & frame[2]! & frame[3]! & frame[4]! & frame[5]!) === 0xff) return true;
      return this.allmulti || this.multicast.overflow || this.multicast.has(frame);
    }
    const m = this.mac;
    if (m[0] === frame[0] && m[1] === frame[1] && m[2] === frame[2] && m[3] === frame[3] && m[4] === frame[4] && m[5] === frame[5]) return true;
    return this.unicast.overflow || this.unicast.has(frame);
  }

  /**
   * Runs one control command: cmd[0] class, cmd[1] command, then its data, `len` bytes in all.
   * Returns VIRTIO_NET_OK or VIRTIO_NET_ERR (unknown, not negotiated, or malformed).
   */
  execute(cmd: Uint8Array, len: number, features: bigint): number {
    const cls = cmd[0]!, op = cmd[1]!, dataLen = len - 2;
    if (cls === CTRL_RX && has(features, NET_F_CTRL_RX)) {
      if (dataLen !== 1 || (op !== CTRL_RX_PROMISC && op !== CTRL_RX_ALLMULTI)) return CTRL_ERR;
      if (op === CTRL_RX_PROMISC) this.promisc = cmd[2] !== 0; else this.allmulti = cmd[2] !== 0;
      return CTRL_OK;
    }
    if (cls === CTRL_MAC && op === CTRL_MAC_TABLE_SET && has(features, NET_F_CTRL_RX)) return this.setTables(cmd, len);
    if (cls === CTRL_MAC && op === CTRL_MAC_ADDR_SET && has(features, NET_F_CTRL_MAC_ADDR)) {
      if (dataLen !== MAC_BYTES || (cmd[2]! & 1) !== 0) return CTRL_ERR;
      this.mac.set(cmd.subarray(2, 2 + MAC_BYTES));
      return CTRL_OK;
    }
    if (cls === CTRL_ANNOUNCE && op === CTRL_ANNOUNCE_ACK && has(features, NET_F_GUEST_ANNOUNCE)) {
      if (dataLen !== 0) return CTRL_ERR;
      this.announcePending = false;
      return CTRL_OK;
    }
    return CTRL_ERR;
  }

  /** Two tables back to back: le32 entries, then entries * 6 address bytes, unicast first. */
  private setTables(cmd: Uint8Array, len: number): number {
    const v = new DataView(cmd.buffer, cmd.byteOffset, len);
    let at = 2;
    if (at + 4 > len) return CTRL_ERR;
    const uc = v.getUint32(at, true);
    const ucAt = at + 4;
    at = ucAt + uc * MAC_BYTES;
    if (at + 4 > len) return CTRL_ERR;
    const mc = v.getUint32(at, true);
    const mcAt = at + 4;
    if (mcAt + mc * MAC_BYTES !== len) return CTRL_ERR;
    this.unicast.load(cmd, ucAt, uc);
    this.multicast.load(cmd, mcAt, mc);
    return CTRL_OK;
  }
}
