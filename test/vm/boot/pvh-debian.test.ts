/**
 * End to end for the PVH path without a machine: Debian's kernel, decompressed on the host, planned
 * and entered through PVH on the engine with nothing but a capture of COM1's data port. Linux's
 * early console then prints the command line and the memory map it read from our hvm_start_info,
 * which proves the structure layout and the entry state against the real consumer of the ABI.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GuestMemory } from '../../../src/hv/memory/guest-memory.js';
import { X86Processor } from '../../../src/hv/cpu/x86/x86-processor.js';
import { EXIT_BUDGET } from '../../../src/hv/processor.js';
import { extractBzImagePayload } from '../../../src/vm/boot/bzimage-payload.js';
import { planPvh } from '../../../src/vm/boot/pvh.js';
import { applyPvh } from '../../../src/vm/boot/apply-pvh.js';
import { ensureDebianGuest } from '../../../src/images/debian-guest.js';

test("Debian's vmlinux started through PVH reports our command line and memory map", { timeout: 600_000 }, () => {
  const { elf } = extractBzImagePayload('vmlinuz', new Uint8Array(readFileSync(ensureDebianGuest().kernel)));
  const ram = 256 << 20;
  const mem = new GuestMemory();
  mem.addRegion(0, 0xa0000);
  mem.addRegion(0x100000, ram - 0x100000);
  let serial = '';
  const vp = new X86Processor(mem, {
    ioRead: () => 0xffffffff,
    ioWrite: (port, _size, value) => { if (port === 0x3f8) serial += String.fromCharCode(value & 0xff); },
  });
  const cmdline = 'earlyprintk=serial,ttyS0 viridian.pvh-test=1';
  const e820 = [{ base: 0, length: 0x9fc00, type: 1 }, { base: 0x9fc00, length: 0x400, type: 2 }, { base: 0x100000, length: ram - 0x100000, type: 1 }];
  applyPvh(mem, vp.cpu, planPvh('vmlinux', elf, { cmdline, e820, lowRamEnd: ram }));
  const last = 'BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable';
  // Bounded: about 13 million instructions reach the line; give up after 40 million.
  for (let k = 0; k < 400 && !serial.includes(last); k++) assert.equal(vp.run(100_000), EXIT_BUDGET, `stopped early; console so far: ${serial}`);
  assert.match(serial, /Linux version 6\./);
  assert.ok(serial.includes(`Command line: ${cmdline}`), serial);
  // Our reserved entry starts the reserved range (Linux merges its own ISA hole 0xa0000-0xfffff into it).
  assert.match(serial, /BIOS-e820: \[mem 0x000000000009fc00-0x0000000000[0-9a-f]{6}\] reserved/);
  assert.ok(serial.includes(last), serial);
});
