/**
 * The traditional memory balloon (device type 5, virtio 1.2 5.5): the host sets a target number
 * of 4 KiB pages (num_pages) and the guest driver gives that many pages up (inflate queue) or
 * takes them back (deflate queue), reporting its progress in `actual`. Offered: STATS_VQ (memory
 * statistics on request) and DEFLATE_ON_OOM (the guest may deflate below the target when it runs
 * out of memory — the device accepts that and simply records it). Not offered: MUST_TELL_HOST
 * (nothing here needs warning before a page is reused), free page hinting, page poisoning and
 * free page reporting.
 *
 * Inflated pages are recorded in a bitmap (inflated-pages.ts) that saves, migration and memory
 * accounting can consult. Their contents are left alone by default; with `zeroInflated` each page
 * is zeroed as it is inflated (its contents become deterministic and compress to nothing in a
 * snapshot). Neither returns memory to the host OS: guest RAM is one SharedArrayBuffer, which
 * Node cannot release piecemeal (decision 011).
 *
 * Stats: the driver keeps one buffer of stats in the stats queue; the device holds it and hands
 * it back when the host calls requestStats(), and the driver refills it with fresh values.
 */
import { UserError } from '../../../common/errors.js';
import { PAGE_SIZE } from '../../../hv/memory/guest-memory.js';
import type { SavedState } from '../../../common/saved-state.js';
import { DescriptorChain } from '../descriptor-chain.js';
import { DEVICE_BALLOON, featureBit } from '../virtio-constants.js';
import type { VirtioDevice, VirtioDeviceHost } from '../virtio-device.js';
import { MAX_STAT_ENTRIES, parseBalloonStats, STAT_ENTRY_BYTES, type BalloonStats } from './balloon-stats.js';
import { restoreBalloon, saveBalloon } from './balloon-state.js';
import { InflatedPages, PAGE_ADDED, PAGE_NOT_RAM } from './inflated-pages.js';
import {
  BALLOON_CONFIG_SIZE, BALLOON_F_DEFLATE_ON_OOM, BALLOON_F_STATS_VQ, DEFLATE_QUEUE, INFLATE_QUEUE, MAX_PFNS_PER_REQUEST, STATS_QUEUE,
} from './balloon-config.js';

const PFN_CHUNK = 1024;

export interface VirtioBalloonOptions {
  /** Entries per queue; default 128. */
  queueSize?: number;
  /** Offer the statistics queue; default true. */
  statsQueue?: boolean;
  /** Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM; default true. */
  deflateOnOom?: boolean;
  /** Zero each page as the guest gives it up; default false. */
  zeroInflated?: boolean;
  /** Called with each statistics report. */
  onStats?: (stats: BalloonStats) => void;
  /** Called after a host request touched the device (a new target, a stats request): kick the VM loop. */
  wake?: () => void;
}

export interface BalloonCounters {
  /** PFNs outside guest RAM, ignored. */
  invalidPfns: number;
  /** Inflates of pages already inflated, and deflates of pages that were not. */
  redundantPfns: number;
  /** PFNs past MAX_PFNS_PER_REQUEST in one request, and trailing bytes that were not a whole PFN. */
  ignoredPfns: number;
}

export class VirtioBalloon implements VirtioDevice {
  readonly deviceType = DEVICE_BALLOON;
  readonly pciClassCode = 0x00ff00;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = BALLOON_CONFIG_SIZE;
  readonly counters: BalloonCounters = { invalidPfns: 0, redundantPfns: 0, ignoredPfns: 0 };
  readonly zeroInflated: boolean;
  /** Pages the host wants the guest to give up (num_pages). */
  targetPages = 0;
  /** Pages the driver says it has given up (actual, written by the driver). */
  actualPages = 0;
  /** The latest statistics report, and how many reports have arrived. */
  stats: BalloonStats | undefined;
  statsReports = 0;
  /** Head of the stats buffer the device holds, or -1. */
  statsHead = -1;
  private inflatedRef: InflatedPages | undefined;
  private hostRef: VirtioDeviceHost | undefined;
  private readonly chain = new DescriptorChain(4);
  private readonly statsChain = new DescriptorChain(2);
  private readonly pfnBytes = new Uint8Array(PFN_CHUNK * 4);
  private readonly pfns = new Uint32Array(this.pfnBytes.buffer);
  private readonly statBytes = new Uint8Array(MAX_STAT_ENTRIES * STAT_ENTRY_BYTES);
  private readonly config = new Uint8Array(BALLOON_CONFIG_SIZE);
  private readonly onStats: ((s: BalloonStats) => void) | undefined;
  private readonly wake: (() => void) | undefined;

  constructor(o: VirtioBalloonOptions = {}) {
    const size = o.queueSize ?? 128;
    if (!Number.isInteger(size) || size < 2 || size > 32768 || (size & (size - 1)) !== 0) throw new RangeError(`virtio-balloon: queue size ${size} must be a power of two in 2..32768`);
    const stats = o.statsQueue ?? true;
    this.features = (stats ? featureBit(BALLOON_F_STATS_VQ) : 0n) | ((o.deflateOnOom ?? true) ? featureBit(BALLOON_F_DEFLATE_ON_OOM) : 0n);
    this.queueMaxSizes = new Array<number>(stats ? 3 : 2).fill(size);
    this.zeroInflated = o.zeroInflated ?? false;
    this.onStats = o.onStats;
    this.wake = o.wake;
  }

  private get host(): VirtioDeviceHost {
    if (this.hostRef === undefined) throw new Error('virtio-balloon used before it was attached to a transport');
    return this.hostRef;
  }

  /** The pages the guest has given up, as the device counted them from the inflate/deflate queues. */
  get inflated(): InflatedPages {
    if (this.inflatedRef === undefined) throw new Error('virtio-balloon used before it was attached to a transport');
    return this.inflatedRef;
  }

  /** True when the page at guest-physical `address` is in the balloon. */
  isInflated(address: number): boolean { return this.inflated.has(Math.floor(address / PAGE_SIZE)); }

  attach(host: VirtioDeviceHost): void { this.hostRef = host; this.inflatedRef = new InflatedPages(host.memory); }

  /** Sets the balloon's target size in 4 KiB pages; the running driver gets a configuration interrupt. */
  setTarget(pages: number): void {
    const ram = this.hostRef === undefined ? 2 ** 32 - 1 : Math.floor(this.host.memory.totalRam / PAGE_SIZE);
    if (!Number.isInteger(pages) || pages < 0 || pages > Math.min(ram, 2 ** 32 - 1)) {
      throw new UserError(`balloon target ${pages} pages must be a whole number from 0 to ${Math.min(ram, 2 ** 32 - 1)} (the guest's RAM in 4 KiB pages)`);
    }
    if (pages === this.targetPages) return;
    this.targetPages = pages;
    if (this.hostRef === undefined) return;
    this.host.configChanged();
    this.wake?.();
  }

  /** Hands the stats buffer back so the driver refills it; false when the device holds none. */
  requestStats(): boolean {
    const h = this.hostRef;
    if (h === undefined || this.statsHead < 0 || !h.live) return false;
    const vq = h.queue(STATS_QUEUE);
    vq.push(this.statsHead, 0);
    this.statsHead = -1;
    vq.notifyDriver();
    this.wake?.();
    return true;
  }

  readConfig(offset: number, data: Uint8Array): void {
    const v = new DataView(this.config.buffer);
    v.setUint32(0, this.targetPages, true);
    v.setUint32(4, this.actualPages, true);
    data.set(this.config.subarray(offset, offset + data.length));
  }

  writeConfig(offset: number, data: Uint8Array): void {
    // Only `actual` is the driver's; any access width, so merge the bytes it covers.
    const v = new DataView(this.config.buffer);
    v.setUint32(4, this.actualPages, true);
    for (let i = 0; i < data.length; i++) if (offset + i >= 4 && offset + i < 8) this.config[offset + i] = data[i]!;
    this.actualPages = v.getUint32(4, true);
  }

  activate(): void { /* nothing to set up: the queues carry everything */ }

  notify(index: number): void {
    if (index === INFLATE_QUEUE || index === DEFLATE_QUEUE) this.pages(index);
    else if (index === STATS_QUEUE && (this.host.negotiatedFeatures & featureBit(BALLOON_F_STATS_VQ)) !== 0n) this.statsArrived();
  }

  private pages(index: number): void {
    const h = this.host, vq = h.queue(index), c = this.chain, inflate = index === INFLATE_QUEUE;
    let any = false;
    while (vq.pop(c)) {
      if (c.writableBytes > 0) { h.fail(`queue ${index}: ${inflate ? 'inflate' : 'deflate'} request at head ${c.head} has a device-writable part`); return; }
      const total = Math.floor(c.readableBytes / 4), n = Math.min(total, MAX_PFNS_PER_REQUEST);
      this.counters.ignoredPfns += total - n + (c.readableBytes % 4 !== 0 ? 1 : 0);
      for (let done = 0; done < n;) {
        const k = Math.min(PFN_CHUNK, n - done);
        c.readFrom(h.memory, done * 4, this.pfnBytes.subarray(0, k * 4));
        for (let i = 0; i < k; i++) this.page(this.pfns[i]!, inflate);
        done += k;
      }
      vq.push(c.head, 0);
      any = true;
    }
    if (any) vq.notifyDriver();
  }

  private page(pfn: number, inflate: boolean): void {
    const set = this.inflated;
    const r = inflate ? set.add(pfn) : set.remove(pfn);
    if (r === PAGE_NOT_RAM) this.counters.invalidPfns++;
    else if (r !== PAGE_ADDED) this.counters.redundantPfns++;
    else if (inflate && this.zeroInflated) set.zero(pfn);
  }

  private statsArrived(): void {
    const h = this.host, vq = h.queue(STATS_QUEUE), c = this.statsChain;
    while (vq.pop(c)) {
      if (c.writableBytes > 0) { h.fail(`queue ${STATS_QUEUE}: stats buffer at head ${c.head} has a device-writable part`); return; }
      // A second buffer while one is held: hand the older back (a driver keeps only one).
      if (this.statsHead >= 0) { vq.push(this.statsHead, 0); vq.notifyDriver(); }
      this.statsHead = c.head;
      this.takeStats(c);
    }
  }

  /** Parses the stats in `c` (re-read from guest RAM). */
  private takeStats(c: DescriptorChain): void {
    const n = Math.min(Math.floor(c.readableBytes / STAT_ENTRY_BYTES), MAX_STAT_ENTRIES);
    c.readFrom(this.host.memory, 0, this.statBytes.subarray(0, n * STAT_ENTRY_BYTES));
    this.stats = parseBalloonStats(this.statBytes, n);
    this.statsReports++;
    this.onStats?.(this.stats);
  }

  reset(): void {
    this.actualPages = 0;
    this.statsHead = -1;
    this.inflatedRef?.clear();
  }

  save(): SavedState { return saveBalloon(this); }

  restore(state: SavedState): void {
    const apply = restoreBalloon(this, state);
    this.reset();
    const head = apply();
    if (head >= 0 && this.host.queue(STATS_QUEUE).retake(head, this.statsChain)) this.statsHead = head;
  }
}
