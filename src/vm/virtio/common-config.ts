/**
 * The common configuration structure (struct virtio_pci_common_cfg, spec 4.1.4.3) as registers:
 * any access size at any offset works byte by byte over the fields, a partial write merges into
 * the field's current value, and 64-bit fields are two independent 32-bit halves as the spec says.
 * The values and their effects live in the transport; this file only maps offsets to fields.
 */
import { NO_VECTOR } from './virtio-constants.js';
import { COMMON_CFG_SIZE } from './virtio-pci-layout.js';
import type { Virtqueue } from './virtqueue.js';

/** What the register file needs from the transport. */
export interface CommonConfigTarget {
  deviceFeatureSelect: number;
  driverFeatureSelect: number;
  queueSelect: number;
  readonly configVector: number;
  readonly status: number;
  readonly generation: number;
  readonly queueCount: number;
  offeredWord(index: number): number;
  driverWord(index: number): number;
  writeDriverFeatures(word: number, value: number): void;
  setConfigVector(v: number): void;
  writeStatus(v: number): void;
  selectedQueue(): Virtqueue | undefined;
  /** A queue whose size and addresses may still change (exists, not enabled). */
  configurableQueue(): Virtqueue | undefined;
  setQueueVector(q: Virtqueue, v: number): void;
  enableQueue(q: Virtqueue): void;
}

const FIELDS: readonly (readonly [number, number])[] = [
  [0x00, 4], [0x04, 4], [0x08, 4], [0x0c, 4], [0x10, 2], [0x12, 2], [0x14, 1], [0x15, 1], [0x16, 2],
  [0x18, 2], [0x1a, 2], [0x1c, 2], [0x1e, 2], [0x20, 4], [0x24, 4], [0x28, 4], [0x2c, 4], [0x30, 4], [0x34, 4],
];
/** Byte offset → offset of the field holding it. */
const FIELD_START = new Uint8Array(COMMON_CFG_SIZE);
const FIELD_SIZE = new Uint8Array(COMMON_CFG_SIZE);
for (const [off, size] of FIELDS) for (let i = 0; i < size; i++) { FIELD_START[off + i] = off; FIELD_SIZE[off + i] = size; }

function readField(t: CommonConfigTarget, f: number): number {
  switch (f) {
    case 0x00: return t.deviceFeatureSelect;
    case 0x04: return t.offeredWord(t.deviceFeatureSelect);
    case 0x08: return t.driverFeatureSelect;
    case 0x0c: return t.driverWord(t.driverFeatureSelect);
    case 0x10: return t.configVector;
    case 0x12: return t.queueCount;
    case 0x14: return t.status;
    case 0x15: return t.generation;
    case 0x16: return t.queueSelect;
    default: {
      const q = t.selectedQueue();
      if (q === undefined) return f === 0x1a ? NO_VECTOR : 0;
      switch (f) {
        case 0x18: return q.size;
        case 0x1a: return q.msixVector;
        case 0x1c: return q.enabled ? 1 : 0;
        case 0x1e: return q.index; // queue_notify_off: one notify slot per queue
        default: return q.addrs[(f - 0x20) >>> 2]!;
      }
    }
  }
}

function writeField(t: CommonConfigTarget, f: number, v: number): void {
  switch (f) {
    case 0x00: t.deviceFeatureSelect = v; return;
    case 0x08: t.driverFeatureSelect = v; return;
    case 0x0c: t.writeDriverFeatures(t.driverFeatureSelect, v); return;
    case 0x10: t.setConfigVector(v & 0xffff); return;
    case 0x14: t.writeStatus(v & 0xff); return;
    case 0x16: t.queueSelect = v & 0xffff; return;
    case 0x1a: { const q = t.selectedQueue(); if (q !== undefined) t.setQueueVector(q, v & 0xffff); return; }
    case 0x1c: { const q = t.selectedQueue(); if (q !== undefined && (v & 0xffff) === 1) t.enableQueue(q); return; }
    case 0x18: { const q = t.configurableQueue(); if (q !== undefined) q.size = v & 0xffff; return; }
    case 0x20: case 0x24: case 0x28: case 0x2c: case 0x30: case 0x34: {
      const q = t.configurableQueue();
      if (q !== undefined) q.addrs[(f - 0x20) >>> 2] = v;
      return;
    }
    default: return; // read-only fields: device_feature, num_queues, config_generation, queue_notify_off
  }
}

export function readCommonConfig(t: CommonConfigTarget, offset: number, data: Uint8Array): void {
  let field = -1, value = 0;
  for (let i = 0; i < data.length; i++) {
    const o = offset + i;
    if (o < 0 || o >= COMMON_CFG_SIZE) { data[i] = 0; continue; }
    const f = FIELD_START[o]!;
    if (f !== field) { field = f; value = readField(t, f); }
    data[i] = (value >>> ((o - f) * 8)) & 0xff;
  }
}

export function writeCommonConfig(t: CommonConfigTarget, offset: number, data: Uint8Array): void {
  let i = 0;
  while (i < data.length) {
    const o = offset + i;
    if (o < 0 || o >= COMMON_CFG_SIZE) { i++; continue; }
    const f = FIELD_START[o]!, end = f + FIELD_SIZE[o]!;
    let v = readField(t, f);
    for (; i < data.length && offset + i < end; i++) {
      const shift = (offset + i - f) * 8;
      v = ((v & ~(0xff << shift)) | (data[i]! << shift)) >>> 0;
    }
    writeField(t, f, v);
  }
}
