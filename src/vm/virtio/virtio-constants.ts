/**
 * Numbers from the virtio 1.2 specification (OASIS) that the transport, the virtqueues and every
 * device share. Feature bits are positions; `featureBit(n)` turns one into the 64-bit mask form
 * the transport negotiates with (bigint, since device features reach bit 63).
 */

export function featureBit(n: number): bigint { return 1n << BigInt(n); }

/** Transport / ring feature bits (spec 6). */
export const F_RING_INDIRECT_DESC = 28;
export const F_RING_EVENT_IDX = 29;
export const F_VERSION_1 = 32;
export const F_ACCESS_PLATFORM = 33;

/** Device status bits (spec 2.1). */
export const STATUS_ACKNOWLEDGE = 0x01;
export const STATUS_DRIVER = 0x02;
export const STATUS_DRIVER_OK = 0x04;
export const STATUS_FEATURES_OK = 0x08;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

/** Split-ring descriptor flags and ring flags (spec 2.7). */
export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;
export const DESC_F_INDIRECT = 4;
export const AVAIL_F_NO_INTERRUPT = 1;
/** Largest queue size a split ring may have. */
export const MAX_QUEUE_SIZE = 32768;

/** Virtio structure PCI capability types (spec 4.1.4). */
export const PCI_CAP_VENDOR = 0x09;
export const CAP_COMMON_CFG = 1;
export const CAP_NOTIFY_CFG = 2;
export const CAP_ISR_CFG = 3;
export const CAP_DEVICE_CFG = 4;
export const CAP_PCI_CFG = 5;

/** MSI-X "no vector" value for config_msix_vector / queue_msix_vector. */
export const NO_VECTOR = 0xffff;

export const ISR_QUEUE = 1;
export const ISR_CONFIG = 2;

export const VIRTIO_PCI_VENDOR = 0x1af4;
export const VIRTIO_PCI_DEVICE_BASE = 0x1040;

/** Device types (spec 5). */
export const DEVICE_NET = 1;
export const DEVICE_BLOCK = 2;
export const DEVICE_CONSOLE = 3;
export const DEVICE_ENTROPY = 4;
export const DEVICE_BALLOON = 5;
