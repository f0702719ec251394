/**
 * QEMU's firmware configuration interface (docs/specs/fw_cfg.rst), x86 port layout: a 16-bit
 * selector at 0x510, an 8-bit data stream at 0x511, and the big-endian 64-bit DMA address register
 * at 0x514..0x51B (writing the low half at 0x518 starts the transfer). Firmware (SeaBIOS, OVMF)
 * and Linux's qemu_fw_cfg driver read the VM's description through it.
 *
 * Items are host-side configuration and are not part of saved state (the destination VM builds
 * the same items from the same configuration); the stream position and writable files are.
 */
import type { IoSize, PortIoDevice } from '../bus/port-io-bus.js';
import { UserError } from '../../common/errors.js';
import { expectState, SavedStateError, stateNumber, type SavedState, type Saveable, type StateValue } from '../../common/saved-state.js';
import type { GuestMemoryAccess } from './guest-memory-access.js';
import * as K from './fw-cfg-keys.js';

interface Item { data: Uint8Array; writable: boolean; onWrite: ((data: Uint8Array) => void) | undefined; name: string | undefined }

export interface FwCfgOptions {
  ramSize: number;
  cpus: number;
  maxCpus?: number;
  uuid?: Uint8Array;
  /** Guest memory for DMA; without it, the DMA feature bit is clear and DMA ports are inert. */
  memory?: GuestMemoryAccess;
}

export interface FwCfgFileOptions { writable?: boolean; onWrite?: (data: Uint8Array) => void }

export interface KernelBootItems {
  kernel?: Uint8Array; kernelAddr?: number;
  initrd?: Uint8Array; initrdAddr?: number;
  /** Without a terminating NUL; one is added. */
  cmdline?: string; cmdlineAddr?: number;
  setup?: Uint8Array; setupAddr?: number;
}

const STATE_ID = 'vm.fwcfg';
const DMA_ZERO_CHUNK = new Uint8Array(4096);

export function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) { out[i] = v % 256; v = Math.floor(v / 256); }
  return out;
}

export class FwCfg implements PortIoDevice, Saveable {
  private readonly items = new Map<number, Item>();
  private readonly files: { name: string; key: number }[] = [];
  private readonly memory: GuestMemoryAccess | undefined;
  private selector = 0;
  private offset = 0;
  private dmaHigh = 0;
  /** DMA transfers refused for bad addresses or lengths (diagnostics). */
  dmaErrors = 0;

  constructor(o: FwCfgOptions) {
    if (!Number.isSafeInteger(o.ramSize) || o.ramSize < 0) throw new UserError(`fw_cfg: RAM size ${o.ramSize} must be a non-negative integer`);
    if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > 0xffff) throw new UserError(`fw_cfg: CPU count ${o.cpus} must be 1..65535`);
    const max = o.maxCpus ?? o.cpus;
    if (!Number.isInteger(max) || max < o.cpus || max > 0xffff) throw new UserError(`fw_cfg: maximum CPU count ${max} must be ${o.cpus}..65535`);
    if (o.uuid !== undefined && o.uuid.length !== 16) throw new UserError(`fw_cfg: UUID must be 16 bytes, not ${o.uuid.length}`);
    this.memory = o.memory;
    this.setItem(K.FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.setItem(K.FW_CFG_ID, le(K.FW_CFG_VERSION | (o.memory !== undefined ? K.FW_CFG_VERSION_DMA : 0), 4));
    this.setItem(K.FW_CFG_UUID, o.uuid ?? new Uint8Array(16));
    this.setItem(K.FW_CFG_RAM_SIZE, le(o.ramSize, 8));
    this.setItem(K.FW_CFG_NOGRAPHIC, le(0, 2));
    this.setItem(K.FW_CFG_NB_CPUS, le(o.cpus, 2));
    this.setItem(K.FW_CFG_BOOT_MENU, le(0, 2));
    this.setItem(K.FW_CFG_MAX_CPUS, le(max, 2));
    this.rebuildDirectory();
  }

  /** Sets a numbered item (standard keys below 0x20, or arch-local keys 0x8000+). */
  setItem(key: number, data: Uint8Array): void {
    if (!Number.isInteger(key) || key < 0 || key > 0xffff || (key & K.FW_CFG_WRITE_CHANNEL) !== 0) throw new UserError(`fw_cfg: key 0x${key.toString(16)} is not a valid item key`);
    if (key >= K.FW_CFG_FILE_FIRST && key < K.FW_CFG_WRITE_CHANNEL) throw new UserError(`fw_cfg: key 0x${key.toString(16)} is in the file range; use addFile`);
    this.items.set(key, { data: data.slice(), writable: false, onWrite: undefined, name: undefined });
  }

  /** Adds a named file (etc/e820, etc/acpi/tables, bootorder, ...); returns its selector. */
  addFile(name: string, data: Uint8Array, o: FwCfgFileOptions = {}): number {
    const nameBytes = new TextEncoder().encode(name);
    if (name.length === 0 || nameBytes.length >= K.FW_CFG_MAX_FILE_PATH || nameBytes.includes(0)) throw new UserError(`fw_cfg: file name '${name}' must be 1..${K.FW_CFG_MAX_FILE_PATH - 1} bytes without NUL`);
    if (this.files.some((f) => f.name === name)) throw new UserError(`fw_cfg: file '${name}' already exists`);
    if (data.length > 0xffffffff) throw new UserError(`fw_cfg: file '${name}' is larger than 4 GiB`);
    const key = K.FW_CFG_FILE_FIRST + this.files.length;
    if (key >= K.FW_CFG_WRITE_CHANNEL) throw new UserError(`fw_cfg: too many files (limit ${K.FW_CFG_WRITE_CHANNEL - K.FW_CFG_FILE_FIRST})`);
    this.files.push({ name, key });
    this.items.set(key, { data: data.slice(), writable: o.writable === true, onWrite: o.onWrite, name });
    this.rebuildDirectory();
    return key;
  }

  /** Replaces a file's contents (size may change); the directory follows. */
  replaceFile(name: string, data: Uint8Array): void {
    const f = this.files.find((x) => x.name === name);
    if (f === undefined) throw new UserError(`fw_cfg: no file '${name}'`);
    this.items.get(f.key)!.data = data.slice();
    this.rebuildDirectory();
  }

  /** The kernel/initrd/command-line/setup items QEMU provides for direct Linux boot. */
  setKernelBoot(k: KernelBootItems): void {
    const put = (addrKey: number, addr: number | undefined, sizeKey: number, dataKey: number, data: Uint8Array | undefined): void => {
      if (data === undefined) return;
      if (addr !== undefined) this.setItem(addrKey, le(addr, 4));
      this.setItem(sizeKey, le(data.length, 4));
      this.setItem(dataKey, data);
    };
    put(K.FW_CFG_KERNEL_ADDR, k.kernelAddr, K.FW_CFG_KERNEL_SIZE, K.FW_CFG_KERNEL_DATA, k.kernel);
    put(K.FW_CFG_INITRD_ADDR, k.initrdAddr, K.FW_CFG_INITRD_SIZE, K.FW_CFG_INITRD_DATA, k.initrd);
    put(K.FW_CFG_SETUP_ADDR, k.setupAddr, K.FW_CFG_SETUP_SIZE, K.FW_CFG_SETUP_DATA, k.setup);
    if (k.cmdline !== undefined) {
      const bytes = new TextEncoder().encode(k.cmdline + '\0');
      if (k.cmdlineAddr !== undefined) { this.setItem(K.FW_CFG_CMDLINE_ADDR, le(k.cmdlineAddr, 4)); this.setItem(K.FW_CFG_KERNEL_CMDLINE, le(k.cmdlineAddr, 4)); }
      this.setItem(K.FW_CFG_CMDLINE_SIZE, le(bytes.length, 4));
      this.setItem(K.FW_CFG_CMDLINE_DATA, bytes);
    }
  }

  /** FW_CFG_FILE_DIR: be32 count, then per file be32 size, be16 select, be16 reserved, name[56]. */
  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const view = new DataView(dir.buffer);
    view.setUint32(0, this.files.length);
    this.files.forEach((f, i) => {
      const at = 4 + 64 * i;
      view.setUint32(at, this.items.get(f.key)!.data.length);
      view.setUint16(at + 4, f.key);
      dir.set(new TextEncoder().encode(f.name), at + 8);
    });
    this.items.set(K.FW_CFG_FILE_DIR, { data: dir, writable: false, onWrite: undefined, name: undefined });
  }

  private current(): Item | undefined { return this.items.get(this.selector & ~K.FW_CFG_WRITE_CHANNEL); }

  private select(key: number): void { this.selector = key & 0xffff; this.offset = 0; }

  private nextByte(): number {
    const item = this.current();
    if (item === undefined || this.offset >= item.data.length) return 0;
    return item.data[this.offset++]!;
  }

  // ---- ports ----

  ioRead(port: number, size: IoSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v += this.readLane(port + i) * 2 ** (8 * i);
    return v;
  }

  private readLane(port: number): number {
    if (port === K.FW_CFG_PORT_DATA) return this.nextByte();
    if (port >= K.FW_CFG_PORT_DMA && port < K.FW_CFG_PORT_DMA + 8 && this.memory !== undefined) return K.FW_CFG_DMA_SIGNATURE.charCodeAt(port - K.FW_CFG_PORT_DMA);
    return 0;
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    if (port === K.FW_CFG_PORT_SELECTOR) { if (size >= 2) this.select(value & 0xffff); return; }
    if (this.memory === undefined || size !== 4) return; // data-port writes are ignored, as in QEMU since 2.4
    // The register is big-endian: the byte at the lowest port is the most significant.
    const be = ((value & 0xff) << 24 | (value & 0xff00) << 8 | (value >>> 8) & 0xff00 | value >>> 24) >>> 0;
    if (port === K.FW_CFG_PORT_DMA) this.dmaHigh = be;
    else if (port === K.FW_CFG_PORT_DMA + 4) { const high = this.dmaHigh; this.dmaHigh = 0; this.dma(high * 2 ** 32 + be, high); }
  }

  // ---- DMA ----

  /** Runs one FWCfgDmaAccess { be32 control; be32 length; be64 address } and writes the control word back. */
  private dma(descAddr: number, descHigh: number): void {
    const mem = this.memory!;
    if (descHigh >= 0x200000) { this.dmaErrors++; return; } // beyond 2^53: no RAM there, nowhere to report
    const desc = mem.read(descAddr, 16);
    if (desc === undefined || desc.length !== 16) { this.dmaErrors++; return; }
    const view = new DataView(desc.buffer, desc.byteOffset, 16);
    const control = view.getUint32(0);
    let length = view.getUint32(4);
    const addrHigh = view.getUint32(8), addrLow = view.getUint32(12);
    let ok = true;
    if ((control & K.DMA_CTL_SELECT) !== 0) this.select(control >>> 16);
    if (addrHigh >= 0x200000) ok = false;
    let addr = addrHigh * 2 ** 32 + addrLow;
    const item = this.current();
    if (ok && (control & K.DMA_CTL_READ) !== 0) {
      while (length > 0 && ok) {
        const avail = item !== undefined && this.offset < item.data.length ? Math.min(length, item.data.length - this.offset) : 0;
        if (avail > 0) {
          ok = mem.write(addr, item!.data.subarray(this.offset, this.offset + avail));
          if (ok) { this.offset += avail; addr += avail; length -= avail; }
        } else {
          // Past the item's end the guest gets zeros, written in bounded chunks.
          const n = Math.min(length, DMA_ZERO_CHUNK.length);
          ok = mem.write(addr, DMA_ZERO_CHUNK.subarray(0, n));
          addr += n; length -= n;
        }
      }
    } else if (ok && (control & K.DMA_CTL_WRITE) !== 0) {
      if (item === undefined || !item.writable || this.offset + length > item.data.length) ok = false;
      else {
        const bytes = length === 0 ? new Uint8Array(0) : mem.read(addr, length);
        if (bytes === undefined || bytes.length !== length) ok = false;
        else { item.data.set(bytes, this.offset); this.offset += length; item.onWrite?.(item.data); }
      }
    } else if (ok && (control & K.DMA_CTL_SKIP) !== 0) {
      this.offset = Math.min(this.offset + length, item?.data.length ?? 0);
    }
    if (!ok) this.dmaErrors++;
    const result = new Uint8Array(4);
    new DataView(result.buffer).setUint32(0, ok ? 0 : K.DMA_CTL_ERROR);
    mem.write(descAddr, result);
  }

  // ---- saved state ----

  save(): SavedState {
    const writable: { [key: string]: StateValue } = {};
    for (const f of this.files) { const it = this.items.get(f.key)!; if (it.writable) writable[f.name] = it.data.slice(); }
    return { id: STATE_ID, version: 1, data: { selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh, writable } };
  }

  restore(state: SavedState): void {
    const d = expectState(state, STATE_ID, 1);
    const selector = stateNumber(STATE_ID, d, 'selector'), offset = stateNumber(STATE_ID, d, 'offset'), dmaHigh = stateNumber(STATE_ID, d, 'dmaHigh');
    if (!Number.isInteger(selector) || selector < 0 || selector > 0xffff) throw new SavedStateError(STATE_ID, "field 'selector' must be 0..0xffff");
    if (!Number.isSafeInteger(offset) || offset < 0) throw new SavedStateError(STATE_ID, "field 'offset' must be a non-negative integer");
    if (!Number.isInteger(dmaHigh) || dmaHigh < 0 || dmaHigh > 0xffffffff) throw new SavedStateError(STATE_ID, "field 'dmaHigh' must be a 32-bit unsigned integer");
    const w = d['writable'];
    if (w === null || typeof w !== 'object' || Array.isArray(w) || ArrayBuffer.isView(w)) throw new SavedStateError(STATE_ID, "field 'writable' must be a record");
    const updates: [Item, Uint8Array][] = [];
    for (const [name, bytes] of Object.entries(w)) {
      const f = this.files.find((x) => x.name === name);
      const it = f === undefined ? undefined : this.items.get(f.key);
      if (it === undefined || !it.writable) throw new SavedStateError(STATE_ID, `writable file '${name}' does not exist in this VM's configuration`);
      if (!(bytes instanceof Uint8Array) || bytes.length !== it.data.length) throw new SavedStateError(STATE_ID, `writable file '${name}' must hold ${it.data.length} bytes`);
      updates.push([it, bytes]);
    }
    this.selector = selector; this.offset = offset; this.dmaHigh = dmaHigh;
    for (const [it, bytes] of updates) it.data.set(bytes);
  }
}
