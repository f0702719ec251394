import test from 'node:test';
import assert from 'node:assert/strict';
import { encodeState, decodeState, expectState, SavedStateError, type SavedState } from '../../src/common/saved-state.js';

test('saved state round-trips every value kind exactly', () => {
  const s: SavedState = {
    id: 'dev.x', version: 3,
    data: {
      n: -1.5, big: 0xfedcba9876543210n, neg: -5n, str: 'héllo', t: true, f: false, nil: null,
      bytes: Uint8Array.of(1, 2, 255), words: Uint32Array.of(0xffffffff, 7), dbl: Float64Array.of(Math.PI),
      u64: BigUint64Array.of(2n ** 64n - 1n), list: [1, 'a', [2]], rec: { inner: { x: 1 } },
    },
  };
  const [back] = decodeState(encodeState([s]));
  assert.deepEqual(back, s);
});

test('decoding rejects foreign, truncated and malformed streams with a clear error', () => {
  const good = encodeState([{ id: 'a', version: 1, data: { x: 1 } }]);
  assert.throws(() => decodeState(Uint8Array.of(1, 2, 3, 4)), /bad magic/);
  for (let cut = 4; cut < good.length; cut += 3) assert.throws(() => decodeState(good.subarray(0, cut)), SavedStateError);
  const bad = good.slice();
  bad[4] = 99;
  assert.throws(() => decodeState(bad), /unknown tag 99/);
  // A length field claiming 4 GiB must not allocate: it fails on truncation.
  const huge = encodeState([{ id: 'a', version: 1, data: { b: new Uint8Array(4) } }]);
  const view = new DataView(huge.buffer);
  view.setUint32(huge.length - 8, 0xffffffff, true);
  assert.throws(() => decodeState(huge), SavedStateError);
});

test('restore checks id and version', () => {
  assert.throws(() => expectState({ id: 'b', version: 1, data: {} }, 'a', 1), /record is for 'b'/);
  assert.throws(() => expectState({ id: 'a', version: 2, data: {} }, 'a', 1), /version 2 is not supported/);
  assert.deepEqual(expectState({ id: 'a', version: 1, data: { k: 1 } }, 'a', 1), { k: 1 });
});
