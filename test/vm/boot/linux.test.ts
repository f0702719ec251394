/**
 * The Linux boot-protocol loader against a real kernel image when one is available (the Debian
 * guest from the cache, or /boot/vmlinuz-*), and against hostile headers.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseLinuxHeader, planLinux } from '../../../src/vm/boot/linux.js';
import { ensureDebianGuest } from '../../../src/images/debian-guest.js';

function kernelImage(): Uint8Array {
  const g = ensureDebianGuest();
  return new Uint8Array(readFileSync(g.kernel));
}

test("Debian's bzImage header parses and loads with a 64-bit entry", () => {
  const img = kernelImage();
  const h = parseLinuxHeader('vmlinuz', img);
  assert.ok(h.version >= 0x20f, `protocol ${h.version.toString(16)}`);
  assert.ok(h.relocatable);
  assert.equal(h.xloadflags & 1, 1);
  const initrd = new Uint8Array(1 << 20);
  const plan = planLinux('vmlinuz', img, {
    cmdline: 'console=ttyS0', initrd, lowRamEnd: 512 << 20, rsdp: 0xe0000,
    e820: [{ base: 0, length: 0x9fc00, type: 1 }, { base: 0x100000, length: (512 << 20) - 0x100000, type: 1 }],
  });
  assert.equal(plan.entry, plan.kernelAddress + 0x200);
  assert.equal(plan.kernelAddress % 0x200000, 0);
  const zp = plan.writes.find((w) => w.address === plan.bootParams)!.data;
  const dv = new DataView(zp.buffer, zp.byteOffset);
  assert.equal(dv.getUint32(0x202, true), 0x53726448, 'setup header copied');
  assert.equal(zp[0x1e8], 2, 'e820 entries');
  assert.equal(Number(dv.getBigUint64(0x70, true)), 0xe0000, 'RSDP');
  const rd = dv.getUint32(0x218, true);
  assert.ok(rd + initrd.length <= 512 << 20 && rd >= plan.kernelEnd, 'initrd placed above the kernel, inside RAM');
});

test('hostile or unsuitable images get errors naming the problem', () => {
  assert.throws(() => parseLinuxHeader('x', new Uint8Array(100)), /too short/);
  assert.throws(() => parseLinuxHeader('x', new Uint8Array(4096)), /not a Linux bzImage/);
  const img = kernelImage().slice(0, 0x4000);
  img[0x1f1] = 200;
  assert.throws(() => parseLinuxHeader('x', img), /setup_sects/);
  const full = kernelImage();
  assert.throws(() => planLinux('vmlinuz', full, { cmdline: '', e820: [], lowRamEnd: 16 << 20 }), /give the VM more memory/);
  assert.throws(() => planLinux('vmlinuz', full, { cmdline: 'x'.repeat(5000), e820: [], lowRamEnd: 512 << 20 }), /command line is 5000 bytes/);
});
