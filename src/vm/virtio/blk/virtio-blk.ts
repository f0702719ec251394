/**
 * virtio-blk (device type 2) over any BlockDevice. Requests run asynchronously and complete in
 * whatever order the backend finishes them; each goes into the used ring when done. A FLUSH waits
 * for every write submitted before it; without the FLUSH feature negotiated every write is
 * flushed before it completes (the spec's writethrough rule).
 *
 * Reset and restore start a new epoch: requests of an older epoch finish against the disk but
 * never touch guest memory or the rings again, and requests of the new epoch wait until the
 * older ones have settled, so an old write cannot land after a newer one.
 *
 * Saved state lists the chains in flight (queue, head) in submission order; restore re-takes
 * them from the restored rings and submits them again (decision 008: re-running a read, write,
 * flush, discard or write-zeroes gives the same result, and the guest cannot have touched the
 * buffers of a request it has not seen completed). drain() waits instead, for callers that hand
 * the disk to another process.
 */
import type { BlockDevice } from '../../../storage/block-device.js';
import type { GuestMemory } from '../../../hv/memory/guest-memory.js';
import { errorMessage } from '../../../common/errors.js';
import { expectState, SavedStateError, type SavedState } from '../../../common/saved-state.js';
import { DEVICE_BLOCK, featureBit } from '../virtio-constants.js';
import type { VirtioDevice, VirtioDeviceHost } from '../virtio-device.js';
import {
  BLK_CONFIG_SIZE, BLK_F_DISCARD, BLK_F_FLUSH, BLK_F_WRITE_ZEROES, BLK_HEADER, BLK_ID_BYTES, BLK_S_IOERR, BLK_T_FLUSH,
  blkConfigSpace, blkFeatures,
} from './blk-config.js';
import { BlkRequest, executeBlk, type BlkContext } from './blk-request.js';

const ID = 'vm.virtio.blk';
const NO_WRITES: readonly Promise<void>[] = [];
const SETTLED: Promise<void> = Promise.resolve();

export interface VirtioBlkOptions {
  disk: BlockDevice;
  /** GET_ID answer: printable ASCII, at most 20 characters. */
  serial?: string;
  /** Request queues (VIRTIO_BLK_F_MQ when more than one); default 1. */
  queues?: number;
  /** Entries per queue, a power of two; default 256. */
  queueSize?: number;
  /** Present the disk read-only even if the backend is writable. */
  readOnly?: boolean;
}

function serialBytes(serial: string): Uint8Array {
  if (serial.length > BLK_ID_BYTES || !/^[\x20-\x7e]*$/.test(serial)) throw new RangeError(`virtio-blk serial '${serial}' must be at most ${BLK_ID_BYTES} printable ASCII characters`);
  const b = new Uint8Array(BLK_ID_BYTES);
  for (let i = 0; i < serial.length; i++) b[i] = serial.charCodeAt(i);
  return b;
}

export class VirtioBlk implements VirtioDevice, BlkContext {
  readonly deviceType = DEVICE_BLOCK;
  readonly pciClassCode = 0x010000;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = BLK_CONFIG_SIZE;
  readonly disk: BlockDevice;
  readonly readOnly: boolean;
  readonly serial: Uint8Array;
  writeThrough = false;
  discard = false;
  writeZeroes = false;
  /** The last backend error turned into VIRTIO_BLK_S_IOERR, for diagnostics. */
  lastIoError: string | undefined;
  private readonly config: Uint8Array;
  private hostRef: VirtioDeviceHost | undefined;
  private epoch = 0;
  private readonly inflight = new Map<BlkRequest, Promise<void>>();
  private readonly writes = new Map<BlkRequest, Promise<void>>();
  private barrier: Promise<void> | undefined;
  private readonly free: BlkRequest[] = [];
  private readonly statusByte = new Uint8Array(1);

  constructor(o: VirtioBlkOptions) {
    const queues = o.queues ?? 1, queueSize = o.queueSize ?? 256;
    if (!Number.isInteger(queues) || queues < 1 || queues > 64) throw new RangeError(`virtio-blk: ${queues} queues; 1..64 are supported`);
    if (!Number.isInteger(queueSize) || queueSize < 4 || queueSize > 32768 || (queueSize & (queueSize - 1)) !== 0) throw new RangeError(`virtio-blk: queue size ${queueSize} must be a power of two in 4..32768`);
    this.disk = o.disk;
    this.readOnly = o.readOnly === true || o.disk.readOnly;
    this.serial = serialBytes(o.serial ?? '');
    const g = { sizeBytes: o.disk.sizeBytes, sectorSize: o.disk.sectorSize, physicalSectorSize: o.disk.physicalSectorSize, readOnly: this.readOnly, queues, queueSize };
    this.features = blkFeatures(g);
    this.config = blkConfigSpace(g);
    this.queueMaxSizes = new Array<number>(queues).fill(queueSize);
  }

  private get host(): VirtioDeviceHost {
    if (this.hostRef === undefined) throw new Error('virtio-blk used before it was attached to a transport');
    return this.hostRef;
  }

  get memory(): GuestMemory { return this.host.memory; }
  /** Requests submitted and not yet completed (this epoch). */
  get inFlight(): number { return this.inflight.size; }

  attach(host: VirtioDeviceHost): void { this.hostRef = host; }

  readConfig(offset: number, data: Uint8Array): void { data.set(this.config.subarray(offset, offset + data.length)); }
  writeConfig(): void { /* nothing writable: CONFIG_WCE is not offered */ }

  activate(): void {
    const f = this.host.negotiatedFeatures;
    this.writeThrough = (f & featureBit(BLK_F_FLUSH)) === 0n;
    this.discard = (f & featureBit(BLK_F_DISCARD)) !== 0n;
    this.writeZeroes = (f & featureBit(BLK_F_WRITE_ZEROES)) !== 0n;
  }

  current(req: BlkRequest): boolean { return req.epoch === this.epoch && this.host.live; }

  notify(index: number): void {
    const vq = this.host.queue(index);
    for (;;) {
      const req = this.free.pop() ?? new BlkRequest();
      if (!vq.pop(req.chain)) { this.free.push(req); return; }
      this.start(req, index);
    }
  }

  private start(req: BlkRequest, queue: number): void {
    const h = this.host, c = req.chain;
    if (c.readableBytes < BLK_HEADER) { h.fail(`queue ${queue}: request at head ${c.head} has ${c.readableBytes} device-readable bytes, less than its 16-byte header`); this.free.push(req); return; }
    if (c.writableBytes < 1) { h.fail(`queue ${queue}: request at head ${c.head} has no device-writable byte for its status`); this.free.push(req); return; }
    req.parseHeader(h.memory);
    const misplaced = req.misplacedData();
    if (misplaced !== undefined) { h.fail(`queue ${queue}: request at head ${c.head}: ${misplaced}`); this.free.push(req); return; }
    req.queue = queue;
    req.epoch = this.epoch;
    const prior = req.type === BLK_T_FLUSH ? [...this.writes.values()] : NO_WRITES;
    this.inflight.set(req, SETTLED);
    const p = this.run(req, prior);
    if (!this.inflight.has(req)) return;
    this.inflight.set(req, p);
    if (req.isWrite) this.writes.set(req, p);
  }

  private async run(req: BlkRequest, prior: readonly Promise<void>[]): Promise<void> {
    try {
      if (this.barrier !== undefined) await this.barrier;
      if (this.current(req)) await executeBlk(this, req, prior);
    } catch (e) {
      req.status = BLK_S_IOERR;
      this.lastIoError = errorMessage(e);
    }
    this.finish(req);
  }

  private finish(req: BlkRequest): void {
    this.inflight.delete(req);
    this.writes.delete(req);
    if (this.current(req)) {
      const h = this.host, vq = h.queue(req.queue);
      this.statusByte[0] = req.status;
      req.chain.writeTo(h.memory, req.chain.writableBytes - 1, this.statusByte);
      vq.push(req.chain.head, req.written + 1);
      vq.notifyDriver();
    }
    this.free.push(req);
  }

  reset(): void {
    this.epoch++;
    if (this.inflight.size > 0) {
      const b: Promise<void> = Promise.allSettled([...this.inflight.values()]).then(() => { if (this.barrier === b) this.barrier = undefined; });
      this.barrier = b;
    }
    this.inflight.clear();
    this.writes.clear();
    this.writeThrough = false;
    this.discard = false;
    this.writeZeroes = false;
  }

  async drain(): Promise<void> {
    while (this.barrier !== undefined || this.inflight.size > 0) {
      if (this.barrier !== undefined) await this.barrier;
      await Promise.allSettled([...this.inflight.values()]);
    }
  }

  save(): SavedState {
    const n = this.inflight.size, queues = new Uint32Array(n), heads = new Uint32Array(n);
    let i = 0;
    for (const r of this.inflight.keys()) { queues[i] = r.queue; heads[i] = r.chain.head; i++; }
    return { id: ID, version: 1, data: { inflightQueues: queues, inflightHeads: heads } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, ID, 1);
    const queues = d['inflightQueues'], heads = d['inflightHeads'];
    if (!(queues instanceof Uint32Array) || !(heads instanceof Uint32Array) || queues.length !== heads.length) {
      throw new SavedStateError(ID, "fields 'inflightQueues' and 'inflightHeads' must be 32-bit word lists of the same length");
    }
    for (let i = 0; i < queues.length; i++) {
      const max = this.queueMaxSizes[queues[i]!];
      if (max === undefined || heads[i]! >= max) throw new SavedStateError(ID, `in-flight request ${i} names queue ${queues[i]} head ${heads[i]}, which this device does not have`);
    }
    this.reset();
    this.activate();
    const h = this.host;
    for (let i = 0; i < queues.length && h.live; i++) {
      const req = this.free.pop() ?? new BlkRequest();
      if (!h.queue(queues[i]!).retake(heads[i]!, req.chain)) return;
      this.start(req, queues[i]!);
    }
  }
}
