/**
 * Saved state of the virtio PCI transport: negotiation, device status, ISR, every queue's
 * configuration and ring progress, and the hosted device's own record. Restore validates the
 * whole record (including that enabled rings still lie in guest RAM) before changing anything,
 * then hands the device its record last, because a device re-takes its in-flight chains from
 * the restored queues.
 */
import {
  expectState, SavedStateError, stateBigInt, stateBool, stateRecord, type SavedState, type StateValue,
} from '../../common/saved-state.js';
import { stateInt, stateRecordList } from '../devices/state-fields.js';
import { resolveRings } from './queue-rings.js';
import type { VirtioPciTransport } from './virtio-pci-transport.js';

const ID = 'vm.virtio.pci-transport';
const U32 = 0xffffffff;

export function saveTransport(t: VirtioPciTransport): SavedState {
  const dev = t.device.save();
  return {
    id: ID, version: 1, data: {
      status: t.status, deviceFeatureSelect: t.deviceFeatureSelect, driverFeatureSelect: t.driverFeatureSelect,
      driverWords: t.driverWords.slice(), negotiated: t.negotiatedFeatures, queueSelect: t.queueSelect,
      configVector: t.configVector, generation: t.generation, configDirty: t.configDirty, isr: t.isr,
      failure: t.failure ?? null,
      queues: t.queues.map((q) => ({
        size: q.size, enabled: q.enabled, msixVector: q.msixVector, addrs: q.addrs.slice(),
        lastAvailIdx: q.lastAvailIdx, usedIdx: q.usedIdx, signalledUsed: q.signalledUsed, signalledValid: q.signalledValid,
      })),
      device: { id: dev.id, version: dev.version, data: dev.data },
    },
  };
}

type Data = { [key: string]: StateValue };

function words(d: Data, field: string, n: number): Uint32Array {
  const v = d[field];
  if (!(v instanceof Uint32Array) || v.length !== n) throw new SavedStateError(ID, `field '${field}' must be ${n} 32-bit words`);
  return v;
}

export function restoreTransport(t: VirtioPciTransport, state: SavedState): void {
  const d = expectState(state, ID, 1);
  const status = stateInt(ID, d, 'status', 0, 0xff);
  const deviceFeatureSelect = stateInt(ID, d, 'deviceFeatureSelect', 0, U32);
  const driverFeatureSelect = stateInt(ID, d, 'driverFeatureSelect', 0, U32);
  const driverWords = words(d, 'driverWords', 2);
  const negotiated = stateBigInt(ID, d, 'negotiated');
  if (negotiated < 0n || (negotiated & ~t.offered) !== 0n) throw new SavedStateError(ID, `negotiated features 0x${negotiated.toString(16)} were never offered by this device`);
  const queueSelect = stateInt(ID, d, 'queueSelect', 0, 0xffff);
  const configVector = stateInt(ID, d, 'configVector', 0, 0xffff);
  const generation = stateInt(ID, d, 'generation', 0, 0xff);
  const configDirty = stateBool(ID, d, 'configDirty');
  const isr = stateInt(ID, d, 'isr', 0, 3);
  const failure = d['failure'];
  if (failure !== null && typeof failure !== 'string') throw new SavedStateError(ID, "field 'failure' must be a string or null");
  const device = stateRecord(ID, d, 'device');
  if (typeof device['id'] !== 'string' || typeof device['version'] !== 'number') throw new SavedStateError(ID, "field 'device' lacks id/version");
  const deviceData = stateRecord(ID, device, 'data');
  const qs = stateRecordList(ID, d, 'queues', t.queues.length).map((q, i) => {
    const f = `queues[${i}]`;
    const max = t.queues[i]!.maxSize;
    const r = {
      size: stateInt(ID, q, 'size', 0, 0xffff), enabled: stateBool(ID, q, 'enabled'), msixVector: stateInt(ID, q, 'msixVector', 0, 0xffff),
      addrs: words(q, 'addrs', 6), lastAvailIdx: stateInt(ID, q, 'lastAvailIdx', 0, 0xffff), usedIdx: stateInt(ID, q, 'usedIdx', 0, 0xffff),
      signalledUsed: stateInt(ID, q, 'signalledUsed', 0, 0xffff), signalledValid: stateBool(ID, q, 'signalledValid'),
    };
    if (r.enabled) {
      const a = r.addrs, hi = 4294967296;
      const rings = resolveRings(t.memory, i, r.size, max, a[0]! + a[1]! * hi, a[2]! + a[3]! * hi, a[4]! + a[5]! * hi);
      if (typeof rings === 'string') throw new SavedStateError(ID, `${f}: ${rings}`);
    }
    return r;
  });

  t.status = status;
  t.deviceFeatureSelect = deviceFeatureSelect;
  t.driverFeatureSelect = driverFeatureSelect;
  t.driverWords.set(driverWords);
  t.negotiatedFeatures = negotiated;
  t.queueSelect = queueSelect;
  t.setConfigVector(configVector);
  t.generation = generation;
  t.configDirty = configDirty;
  t.isr = isr;
  t.failure = failure ?? undefined;
  qs.forEach((r, i) => {
    const q = t.queues[i]!;
    q.reset();
    q.size = r.size;
    q.addrs.set(r.addrs);
    t.setQueueVector(q, r.msixVector);
    t.applyRingFeatures(q);
    q.enabled = r.enabled;
    q.reattach();
    q.lastAvailIdx = r.lastAvailIdx;
    q.usedIdx = r.usedIdx;
    q.signalledUsed = r.signalledUsed;
    q.signalledValid = r.signalledValid;
  });
  t.device.restore({ id: device['id'], version: device['version'], data: deviceData });
}
