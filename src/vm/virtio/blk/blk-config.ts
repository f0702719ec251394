/**
 * virtio-blk feature bits, request types, status codes and the device configuration space
 * (struct virtio_blk_config, virtio 1.2 5.2.4) for a given disk. The configuration is fixed
 * for the life of the device: capacity changes would need a configuration interrupt.
 */
import { featureBit } from '../virtio-constants.js';

export const BLK_F_SIZE_MAX = 1;
export const BLK_F_SEG_MAX = 2;
export const BLK_F_RO = 5;
export const BLK_F_BLK_SIZE = 6;
export const BLK_F_FLUSH = 9;
export const BLK_F_TOPOLOGY = 10;
export const BLK_F_MQ = 12;
export const BLK_F_DISCARD = 13;
export const BLK_F_WRITE_ZEROES = 14;

export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_T_FLUSH = 4;
export const BLK_T_GET_ID = 8;
export const BLK_T_DISCARD = 11;
export const BLK_T_WRITE_ZEROES = 13;

export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;

/** Bytes of the request header (type, reserved, sector) and of one discard / write-zeroes segment. */
export const BLK_HEADER = 16;
export const BLK_SEGMENT = 16;
export const BLK_ID_BYTES = 20;
export const DWZ_F_UNMAP = 1;

/** Limits advertised to the driver. */
export const SIZE_MAX = 1 << 20;
export const MAX_DWZ_SECTORS = 1 << 16;
export const MAX_DWZ_SEGMENTS = 32;
/** Through write_zeroes_may_unmap and its padding; secure erase and zoned fields are not offered. */
export const BLK_CONFIG_SIZE = 60;

export interface BlkGeometry {
  sizeBytes: number;
  sectorSize: number;
  physicalSectorSize: number;
  readOnly: boolean;
  queues: number;
  queueSize: number;
}

export function blkFeatures(g: BlkGeometry): bigint {
  let f = featureBit(BLK_F_SIZE_MAX) | featureBit(BLK_F_SEG_MAX) | featureBit(BLK_F_BLK_SIZE) | featureBit(BLK_F_FLUSH) | featureBit(BLK_F_TOPOLOGY);
  if (g.queues > 1) f |= featureBit(BLK_F_MQ);
  if (g.readOnly) f |= featureBit(BLK_F_RO);
  else f |= featureBit(BLK_F_DISCARD) | featureBit(BLK_F_WRITE_ZEROES);
  return f;
}

export function blkConfigSpace(g: BlkGeometry): Uint8Array {
  const b = new Uint8Array(BLK_CONFIG_SIZE);
  const v = new DataView(b.buffer);
  const sectors = Math.floor(g.sizeBytes / 512);
  v.setUint32(0, sectors % 2 ** 32, true);
  v.setUint32(4, Math.floor(sectors / 2 ** 32), true);
  v.setUint32(8, SIZE_MAX, true);
  v.setUint32(12, g.queueSize - 2, true); // seg_max: the header and the status take a descriptor each
  v.setUint32(20, g.sectorSize, true);
  const perPhysical = Math.max(1, g.physicalSectorSize / g.sectorSize);
  v.setUint8(24, Math.log2(perPhysical));
  v.setUint16(26, perPhysical, true); // min_io_size, in logical blocks
  v.setUint16(34, g.queues, true);
  if (!g.readOnly) {
    v.setUint32(36, MAX_DWZ_SECTORS, true);
    v.setUint32(40, MAX_DWZ_SEGMENTS, true);
    v.setUint32(44, g.sectorSize / 512, true);
    v.setUint32(48, MAX_DWZ_SECTORS, true);
    v.setUint32(52, MAX_DWZ_SEGMENTS, true);
    v.setUint8(56, 1); // write zeroes may unmap: the backend's discard reads back as zeros
  }
  return b;
}
