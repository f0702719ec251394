/**
 * virtio-net numbers (virtio 1.2, 5.1): feature bits, the device configuration space
 * (struct virtio_net_config through mtu), the packet header and the control-queue classes.
 *
 * With VERSION_1 the header in front of every packet is struct virtio_net_hdr_v1, 12 bytes,
 * num_buffers included whether or not MRG_RXBUF was negotiated (Linux sizes it the same way).
 */
import { featureBit } from '../virtio-constants.js';

export const NET_F_MTU = 3;
export const NET_F_MAC = 5;
export const NET_F_MRG_RXBUF = 15;
export const NET_F_STATUS = 16;
export const NET_F_CTRL_VQ = 17;
export const NET_F_CTRL_RX = 18;
export const NET_F_GUEST_ANNOUNCE = 21;
export const NET_F_CTRL_MAC_ADDR = 23;

/** Feature bits that only make sense with the control queue (spec 5.1.3.1). */
export const NEEDS_CTRL_VQ = [NET_F_CTRL_RX, NET_F_GUEST_ANNOUNCE, NET_F_CTRL_MAC_ADDR] as const;

export const NET_S_LINK_UP = 1;
export const NET_S_ANNOUNCE = 2;

/** Bytes of struct virtio_net_hdr_v1. */
export const NET_HDR_SIZE = 12;
export const HDR_FLAGS = 0;
export const HDR_GSO_TYPE = 1;
export const HDR_NUM_BUFFERS = 10;
export const HDR_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;

/** Queue indices with one queue pair: receiveq1, transmitq1, controlq. */
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const CTRL_QUEUE = 2;

/** Configuration space: mac[6], status, max_virtqueue_pairs, mtu. */
export const NET_CONFIG_SIZE = 12;
export const CFG_MAC = 0;
export const CFG_STATUS = 6;
export const CFG_MAX_PAIRS = 8;
export const CFG_MTU = 10;

/** Control queue (spec 5.1.6.5). */
export const CTRL_RX = 0;
export const CTRL_RX_PROMISC = 0;
export const CTRL_RX_ALLMULTI = 1;
export const CTRL_MAC = 1;
export const CTRL_MAC_TABLE_SET = 0;
export const CTRL_MAC_ADDR_SET = 1;
export const CTRL_ANNOUNCE = 3;
export const CTRL_ANNOUNCE_ACK = 0;
export const CTRL_OK = 0;
export const CTRL_ERR = 1;

/** Smallest MTU Linux accepts from the MTU feature (ETH_MIN_MTU). */
export const MIN_MTU = 68;

export interface NetFeatureChoice { mtu: boolean; ctrl: boolean }

export function netFeatures(c: NetFeatureChoice): bigint {
  let f = featureBit(NET_F_MAC) | featureBit(NET_F_STATUS) | featureBit(NET_F_MRG_RXBUF);
  if (c.mtu) f |= featureBit(NET_F_MTU);
  if (c.ctrl) f |= featureBit(NET_F_CTRL_VQ) | featureBit(NET_F_CTRL_RX) | featureBit(NET_F_GUEST_ANNOUNCE) | featureBit(NET_F_CTRL_MAC_ADDR);
  return f;
}

export function has(features: bigint, bit: number): boolean { return (features & featureBit(bit)) !== 0n; }
