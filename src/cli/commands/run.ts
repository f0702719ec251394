/**
 * `viridian run`: one VM in the foreground, without the host service (as qemu-system-x86_64 or
 * firecracker run). Without --kernel it boots the project's Debian guest, building it first.
 */
import { parseArgs } from 'node:util';
import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../../common/errors.js';
import { parseSize, formatSize } from '../../common/size.js';
import { Machine, MAX_CPUS } from '../../vm/machine/machine.js';
import { bootKernel, type BootProtocol } from '../../vm/machine/boot-kernel.js';
import { VmLoop, type VmExit } from '../../vm/machine/vm-loop.js';
import { SerialConsole, parseSerialTarget } from '../run/serial-console.js';
import { parseDiskArg, type DiskArg } from '../run/disk-arg.js';
import { openImage } from '../../storage/registry.js';
import type { DiskImage } from '../../storage/disk-image.js';
import { MAX_CHANNELS, MAX_DISKS, MAX_NICS, machineConsole, type MachineNic } from '../../vm/machine/pci-devices.js';
import { parseNicArg, type NicArg } from '../run/nic-arg.js';
import { StreamSocketBackend } from '../../vm/net/stream-socket-backend.js';
import { randomMac } from '../../vm/net/mac-address.js';
import { parseChannelArgs, type ChannelArg } from '../run/channel-arg.js';
import { ChannelSocket } from '../run/channel-socket.js';
import { ControlSocket } from '../run/control-socket.js';
import { RunControl } from '../run/run-control.js';

/** Exit status when the guest resets and --no-reboot is given (debug-exit statuses are odd). */
export const RESET_STATUS = 4;

const HELP = `usage: viridian run [--kernel FILE] [--initrd FILE] [--append "CMDLINE"] [--memory SIZE]
                    [--cpus N] [--disk FILE[,readonly][,format=F]]... [--nic socket=PATH[,mac=M]]...
                    [--balloon] [--channel unix:PATH[,name=NAME]]... [--control PATH] [--no-reboot]
                    [--serial stdio|file:PATH|none] [--boot-protocol auto|linux|pvh]

Runs one VM in the foreground with COM1 as its console. Without --kernel, boots the project's
Debian guest (stock kernel + busybox initramfs; see 'viridian guest').

  --kernel FILE    Linux bzImage or Multiboot v1 image (ELF or a.out-kludge)
  --initrd FILE    initial ramdisk (a Multiboot module for Multiboot kernels)
  --append TEXT    kernel command line (default for the Debian guest: console=ttyS0
                   watchdog_thresh=60)
  --memory SIZE    guest RAM, e.g. 512M or 2G (default 512M)
  --cpus N         virtual processors, 1..${MAX_CPUS} (default 1)
  --disk SPEC      a virtio-blk disk: FILE[,readonly][,format=raw|vhd|vhdx|vmdk|qcow2]; repeat
                   for more (the guest sees /dev/vda, /dev/vdb, ... in this order)
  --nic SPEC       a virtio-net NIC on a Unix stream socket shared with other VMs (QEMU's
                   -netdev stream framing): socket=PATH[,mac=52:54:00:xx:xx:xx]; the first VM
                   listens, later ones connect; repeat for more NICs
  --balloon        a virtio-balloon device (00:02.0); its target is set through --control
  --channel SPEC   an agent channel: a named virtio-console port (00:03.0; the guest's
                   /dev/virtio-ports/NAME) joined to a Unix socket viridian listens on, one
                   client at a time: unix:PATH[,name=NAME] (default name org.viridian.agent.N)
  --control PATH   a control socket (0600, JSON lines, one request per line):
                   {"execute":"status"}  {"execute":"balloon-set","target":"256M"}
                   {"execute":"balloon-info"}  {"execute":"powerdown"} (ACPI power button)
                   replies {"ok":true[,"result":{...}]} or {"error":"..."}
  --no-reboot      end the VM when the guest resets instead of restarting it
  --serial TARGET  where COM1 goes: stdio (default), file:PATH or none
  --boot-protocol  auto (default): a bzImage whose kernel carries a PVH note is decompressed on
                   the host and entered through PVH (much faster); linux: the classic 64-bit boot
                   protocol, the kernel decompresses itself; pvh: PVH or an error

Console: on a terminal, Ctrl-A x ends the VM and Ctrl-A Ctrl-A sends Ctrl-A.
Exit status: 0 guest powered off; (v << 1) | 1 guest wrote v to port 0xf4;
${RESET_STATUS} guest reset with --no-reboot (triple faults print the CPU state); 2 bad input;
130/143 ended by Ctrl-A x, SIGINT or SIGTERM; 141 the console's output was closed.`;

interface RunConfig {
  kernelFile: string; kernel: Uint8Array; initrd: Uint8Array | undefined; cmdline: string;
  memory: number; cpus: number; noReboot: boolean; serial: string; disks: DiskArg[]; nics: NicArg[]; protocol: BootProtocol;
  balloon: boolean; channels: ChannelArg[]; control: string | undefined;
}

/** The host ends `viridian run` opens around the VM: agent channels and the control socket. */
interface HostEnds { channels: ChannelSocket[]; control: ControlSocket | undefined; ctx: RunControl }

function readInput(flag: string, path: string): Uint8Array {
  try {
    if (!statSync(path).isFile()) throw new UserError(`${flag}: ${path} is not a regular file`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function parseProtocol(text: string): BootProtocol {
  if (text === 'auto' || text === 'linux' || text === 'pvh') return text;
  throw new UserError(`--boot-protocol: '${text}' is not auto, linux or pvh`);
}

async function parse(argv: string[]): Promise<RunConfig | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: {
        kernel: { type: 'string' }, initrd: { type: 'string' }, append: { type: 'string' },
        memory: { type: 'string' }, cpus: { type: 'string' }, 'no-reboot': { type: 'boolean' },
        serial: { type: 'string' }, disk: { type: 'string', multiple: true }, nic: { type: 'string', multiple: true }, 'boot-protocol': { type: 'string' }, help: { type: 'boolean', short: 'h' },
        balloon: { type: 'boolean' }, channel: { type: 'string', multiple: true }, control: { type: 'string' },
      },
    });
  } catch (e) {
    throw new UserError(`run: ${(e as Error).message}`);
  }
  const v = parsed.values;
  if (v.help === true) { process.stdout.write(HELP + '\n'); return undefined; }
  const memory = parseSize(v.memory ?? '512M', '--memory');
  const cpus = Number(v.cpus ?? '1');
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) throw new UserError(`--cpus: '${v.cpus}' must be a whole number from 1 to ${MAX_CPUS}`);
  let kernelFile = v.kernel, initrdFile = v.initrd, cmdline = v.append;
  if (kernelFile === undefined) {
    if (initrdFile !== undefined) throw new UserError('--initrd needs --kernel');
    const { ensureDebianGuest, DEBIAN_GUEST_CMDLINE } = await import('../../images/debian-guest.js');
    const g = ensureDebianGuest({ log: (l) => process.stderr.write(`viridian: ${l}\n`) });
    kernelFile = g.kernel; initrdFile = g.initrd; cmdline ??= DEBIAN_GUEST_CMDLINE;
  }
  return {
    kernelFile, kernel: readInput('--kernel', kernelFile), initrd: initrdFile === undefined ? undefined : readInput('--initrd', initrdFile),
    cmdline: cmdline ?? '', memory, cpus, noReboot: v['no-reboot'] === true, serial: v.serial ?? 'stdio',
    disks: (v.disk ?? []).map(parseDiskArg), nics: (v.nic ?? []).map(parseNicArg), protocol: parseProtocol(v['boot-protocol'] ?? 'auto'),
    balloon: v.balloon === true, channels: parseChannelArgs(v.channel ?? []), control: v.control,
  };
}

export async function main(argv: string[]): Promise<number> {
  const cfg = await parse(argv);
  if (cfg === undefined) return 0;
  if (cfg.disks.length > MAX_DISKS) throw new UserError(`--disk: at most ${MAX_DISKS} disks`);
  if (cfg.nics.length > MAX_NICS) throw new UserError(`--nic: at most ${MAX_NICS} NICs`);
  if (cfg.channels.length > MAX_CHANNELS) throw new UserError(`--channel: at most ${MAX_CHANNELS} channels`);
  const disks: DiskImage[] = [];
  const nics: MachineNic[] = [];
  const ctx = new RunControl(cfg.cpus);
  const ends: HostEnds = { channels: [], control: undefined, ctx };
  try {
    for (const c of cfg.channels) {
      const ch = new ChannelSocket(c.name, c.socket);
      await ch.open();
      ends.channels.push(ch);
    }
    if (cfg.control !== undefined) {
      const control = new ControlSocket(cfg.control, ctx);
      await control.open();
      ends.control = control;
    }
    for (const d of cfg.disks) disks.push(await openImage(d.path, { readOnly: d.readOnly, ...(d.format !== undefined ? { format: d.format } : {}) }));
    for (const n of cfg.nics) {
      const backend = await StreamSocketBackend.open({ path: n.socket, log: (l) => process.stderr.write(`\r\nviridian: ${n.socket}: ${l}\r\n`) });
      nics.push({ mac: n.mac ?? randomMac(), backend });
    }
    return await runWithDisks(cfg, disks, nics, ends);
  } finally {
    await ends.control?.close();
    for (const c of ends.channels) await c.close();
    for (const n of nics) await n.backend.close();
    for (const d of disks) {
      if (!d.readOnly) await d.flush().catch((e: unknown) => process.stderr.write(`viridian: flushing a disk failed: ${(e as Error).message}\n`));
      await d.close();
    }
  }
}

async function runWithDisks(cfg: RunConfig, disks: DiskImage[], nics: MachineNic[], ends: HostEnds): Promise<number> {
  let loop: VmLoop | undefined;
  const console = new SerialConsole(parseSerialTarget(cfg.serial));
  const onDeviceError = (message: string): void => { process.stderr.write(`\r\nviridian: ${message}\r\n`); };
  const create = (): Machine => {
    const m = new Machine({
      memoryBytes: cfg.memory, cpus: cfg.cpus, com1: console, rng: true, onDeviceError, nics, wake: () => loop?.kick(),
      disks: disks.map((device, i) => ({ device, readOnly: cfg.disks[i]!.readOnly })),
      ...(cfg.balloon ? { balloon: { targetPages: ends.ctx.balloonTargetPages, onStats: () => ends.ctx.statsArrived() } } : {}),
      channels: cfg.channels.map((c) => c.name),
    });
    const con = machineConsole(m);
    for (const c of ends.channels) c.attach(con?.portByName(c.name));
    bootKernel(m, { kernelFile: cfg.kernelFile, kernel: cfg.kernel, initrd: cfg.initrd, cmdline: cfg.cmdline, protocol: cfg.protocol });
    const uart = m.board.com1;
    console.deliver = (bytes) => uart.receive(bytes.subarray(0, uart.rxSpace()));
    return m;
  };
  try {
    loop = new VmLoop({
      create, noReboot: cfg.noReboot, resetStatus: RESET_STATUS,
      afterBurst: () => { console.flush(); console.pump(); for (const c of ends.channels) c.pump(); },
      onReset: (reason) => { ends.ctx.resetCount++; process.stderr.write(`\r\nviridian: guest reset (${reason}); restarting\r\n`); },
    });
  } catch (e) {
    console.close();
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
  const vm = loop;
  ends.ctx.bind(vm, ends.channels);
  console.onQuit = () => vm.stop(130);
  console.onInput = () => vm.kick();
  console.onOutputClosed = () => vm.stop(141);
  const onSignal = (status: number) => () => vm.stop(status);
  const sigint = onSignal(130), sigterm = onSignal(143);
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  console.attachStdin();
  let exit: VmExit;
  try {
    exit = await vm.run();
  } finally {
    console.close();
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
  report(exit, cfg, vm.machine);
  return exit.status;
}

function report(exit: VmExit, cfg: RunConfig, m: Machine): void {
  if (exit.kind === 'reset') {
    process.stderr.write(`viridian: guest reset (${exit.reason}) and --no-reboot is set; VM ended\n`);
    if (exit.cpuState !== undefined) process.stderr.write(exit.cpuState + '\n');
  } else if (exit.kind === 'stopped') {
    process.stderr.write(`\nviridian: VM ended by the operator (${formatSize(cfg.memory)}, ${m.instructions} instructions retired)\n`);
  }
}
