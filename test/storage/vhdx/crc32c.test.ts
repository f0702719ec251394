import test from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cWithZeroField } from '../../../src/storage/vhdx/crc32c.js';

// Check values from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.
test('CRC-32C matches the published check values', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const inc = new Uint8Array(32).map((_, i) => i);
  assert.equal(crc32c(inc), 0x46dd794e);
});

test('checksum with a zeroed field leaves the buffer intact', () => {
  const buf = new Uint8Array(64).map((_, i) => i * 7);
  const before = buf.slice();
  const zeroed = buf.slice();
  zeroed.fill(0, 4, 8);
  assert.equal(crc32cWithZeroField(buf, 4), crc32c(zeroed));
  assert.deepEqual(buf, before);
});
