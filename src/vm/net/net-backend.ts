/**
 * The host side of a virtual NIC: where the frames a guest sends go, and where the frames it
 * receives come from. A backend carries whole Ethernet frames (destination MAC first, no FCS, no
 * virtio header); the device model (virtio-net, later a VMBus NIC) sits on the other side as the
 * backend's sink.
 *
 * Threading and timing: everything runs on the VM's event loop. A backend calls its sink from
 * its own I/O callbacks (never from inside send()), and send() never blocks: when the backend
 * cannot take more it says so through `congested` and calls sink.writable() once it can, so the
 * device stops taking frames from the guest instead of dropping them.
 */

/** Smallest frame a backend carries: one Ethernet header (destination, source, EtherType). */
export const MIN_FRAME = 14;
/** Largest frame: a 65535-byte payload behind an Ethernet header and one 802.1Q tag. */
export const MAX_FRAME = 65535 + 14 + 4;

/** What a backend delivers to: the device model. */
export interface NetFrameSink {
  /** A frame from the network. The bytes are only valid during the call: copy what you keep. */
  receiveFrame(frame: Uint8Array): void;
  /** The link went up (a peer is there) or down. */
  linkChanged(up: boolean): void;
  /** The backend reported `congested` and can take frames again. */
  writable(): void;
}

/** Counters every backend keeps (diagnostics; they only grow). */
export interface NetBackendStats {
  txFrames: number;
  txBytes: number;
  /** Frames given to send() while the link was down. */
  txDroppedNoLink: number;
  /** Frames given to send() outside MIN_FRAME..MAX_FRAME. */
  txDroppedInvalid: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames from the network shorter than MIN_FRAME (dropped). */
  rxDroppedUndersized: number;
  /** Frames from the network longer than MAX_FRAME (dropped). */
  rxDroppedOversized: number;
}

export function emptyBackendStats(): NetBackendStats {
  return { txFrames: 0, txBytes: 0, txDroppedNoLink: 0, txDroppedInvalid: 0, rxFrames: 0, rxBytes: 0, rxDroppedUndersized: 0, rxDroppedOversized: 0 };
}

export interface NetBackend {
  /** Where frames from the network go; one sink at a time, undefined detaches. */
  attach(sink: NetFrameSink | undefined): void;
  /** True while frames can reach a peer. */
  readonly linkUp: boolean;
  /** True while the backend wants no more frames; sink.writable() follows when that ends. */
  readonly congested: boolean;
  /**
   * Queues a frame for the network. The backend copies it (the caller reuses its buffer). A
   * frame while the link is down, or outside MIN_FRAME..MAX_FRAME, is dropped and counted.
   */
  send(frame: Uint8Array): void;
  /** The end of a batch of send() calls: frames queued so far go out now. */
  flush(): void;
  /** Stops all I/O and releases what the backend holds (sockets, files); the link goes down. */
  close(): Promise<void>;
  readonly stats: NetBackendStats;
}
