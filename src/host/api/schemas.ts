/**
 * JSON Schemas of the API: the request schemas are what Fastify validates with (unknown fields are
 * errors, types are never coerced); all of them, responses included, are published in the OpenAPI
 * document. One definition serves both, so the document cannot drift from what is enforced.
 */
import { LIMITS, MAC_PATTERN, NAME_PATTERN, NETWORK_PATTERN } from '../lifecycle/config-rules.js';
import { VM_STATES } from '../inventory/vm-record.js';
import { ALL_FORMATS } from '../../storage/registry.js';

export type JsonSchema = Readonly<Record<string, unknown>>;

const text = (max: number): JsonSchema => ({ type: 'string', maxLength: max });
const filePath: JsonSchema = { type: 'string', minLength: 1, maxLength: LIMITS.path, description: 'absolute, normalised path of an existing regular file outside the data directory' };
const vmName: JsonSchema = { type: 'string', pattern: NAME_PATTERN, maxLength: 64 };

const bootInput: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { kernel: { anyOf: [filePath, { type: 'null' }] }, initrd: { anyOf: [filePath, { type: 'null' }] }, cmdline: text(LIMITS.text) },
};
const diskInput: JsonSchema = {
  type: 'object', additionalProperties: false, required: ['path'],
  properties: { path: filePath, readOnly: { type: 'boolean' }, format: { type: 'string', enum: [...ALL_FORMATS], description: 'image format; probed from the file when absent' } },
};
const nicInput: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { mac: { type: 'string', pattern: MAC_PATTERN }, network: { type: 'string', pattern: NETWORK_PATTERN } },
};
const configProps = {
  name: vmName,
  cpus: { type: 'integer', minimum: 1, maximum: LIMITS.cpus },
  memoryMiB: { type: 'integer', minimum: 1, maximum: LIMITS.memoryMiB },
  boot: bootInput,
  disks: { type: 'array', maxItems: LIMITS.disks, items: diskInput },
  nics: { type: 'array', maxItems: LIMITS.nics, items: nicInput },
  notes: text(LIMITS.text),
};

export const VmCreate: JsonSchema = { type: 'object', additionalProperties: false, required: ['name'], properties: configProps };
export const VmPatch: JsonSchema = { type: 'object', additionalProperties: false, minProperties: 1, properties: configProps };
export const StopRequest: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600, description: 'time the guest gets after the power button before it is turned off (default 60)' } },
};
export const EmptyRequest: JsonSchema = { type: 'object', additionalProperties: false, properties: {} };

export const NameParams: JsonSchema = { type: 'object', additionalProperties: false, required: ['name'], properties: { name: vmName } };
export const DeleteQuery: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { deleteDisks: { type: 'string', enum: ['true', 'false'], description: 'also delete the disk files' } },
};
export const EventsQuery: JsonSchema = {
  type: 'object', additionalProperties: false,
  properties: { since: { type: 'string', pattern: '^[0-9]{1,15}$' }, limit: { type: 'string', pattern: '^[0-9]{1,5}$' } },
};

const str: JsonSchema = { type: 'string' };
const nullableStr: JsonSchema = { type: ['string', 'null'] };
export const Vm: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'state', 'cpus', 'memoryMiB', 'boot', 'disks', 'nics', 'notes', 'stateReason', 'stateChangedAt', 'createdAt', 'generation', 'worker'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: str,
    state: { type: 'string', enum: [...VM_STATES] },
    stateReason: nullableStr,
    stateChangedAt: { type: 'string', format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    generation: { type: 'integer' },
    cpus: { type: 'integer' },
    memoryMiB: { type: 'integer' },
    boot: { type: 'object', properties: { kernel: nullableStr, initrd: nullableStr, cmdline: str } },
    disks: { type: 'array', items: { type: 'object', properties: { path: str, readOnly: { type: 'boolean' }, format: nullableStr } } },
    nics: { type: 'array', items: { type: 'object', properties: { mac: str, network: str } } },
    notes: str,
    worker: { anyOf: [{ type: 'null' }, { type: 'object', properties: { pid: { type: 'integer' }, startedAt: str } }] },
  },
};
export const VmList: JsonSchema = { type: 'array', items: Vm };
export const DeleteResult: JsonSchema = {
  type: 'object',
  properties: { id: str, name: str, deletedDisks: { type: 'array', items: str }, diskErrors: { type: 'array', items: str } },
};
export const Event: JsonSchema = {
  type: 'object',
  properties: { id: { type: 'integer' }, at: str, vmId: nullableStr, vmName: nullableStr, kind: str, data: { type: 'object' } },
};
export const EventList: JsonSchema = { type: 'array', items: Event };
export const HostInfo: JsonSchema = {
  type: 'object',
  properties: { product: str, version: str, pid: { type: 'integer' }, dataDir: str, startedAt: str, vms: { type: 'integer' }, workers: { type: 'integer' } },
};
export const ErrorBody: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'invalid, not-found, conflict, wrong-state, busy, worker-failed, unauthorized, too-large, unsupported-media-type, internal' },
        message: str,
        field: { type: 'string', description: 'the offending field, e.g. disks[1].path' },
        location: { type: 'string', enum: ['body', 'path', 'query', 'header'] },
        reason: str,
      },
    },
  },
};

/** Names for the OpenAPI components section. */
export const NAMED_SCHEMAS: ReadonlyArray<[string, JsonSchema]> = [
  ['Vm', Vm], ['VmCreate', VmCreate], ['VmPatch', VmPatch], ['StopRequest', StopRequest], ['DeleteResult', DeleteResult],
  ['Event', Event], ['HostInfo', HostInfo], ['Error', ErrorBody],
];
