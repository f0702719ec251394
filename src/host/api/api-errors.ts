/**
 * Turns everything that can go wrong in a request into the API's error body: schema violations
 * name the field (as "disks[1].path") and the reason, host errors keep their status, framework
 * errors (body too large, bad JSON, wrong content type) get their 4xx, and anything else is a 500
 * that does not leak internals beyond its message.
 */
import type { FastifyError } from 'fastify';
import { HostError } from '../lifecycle/host-errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; location?: string; reason?: string };
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const LOCATIONS: Record<string, string> = { body: 'body', params: 'path', querystring: 'query', headers: 'header' };

/** "/disks/1/path" → "disks[1].path" */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function fromValidation(issue: AjvIssue, context: string): ErrorBody {
  const location = LOCATIONS[context] ?? context;
  let field = fieldPath(issue.instancePath);
  let reason = issue.message ?? 'is not valid';
  switch (issue.keyword) {
    case 'additionalProperties':
      field = fieldPath(issue.instancePath, String(issue.params['additionalProperty']));
      reason = 'is not a known field';
      break;
    case 'required':
      field = fieldPath(issue.instancePath, String(issue.params['missingProperty']));
      reason = 'is required';
      break;
    case 'minProperties':
      reason = 'must name at least one field to change';
      break;
    case 'enum':
      reason = `must be one of ${(issue.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'anyOf':
      reason = 'must be a string or null';
      break;
  }
  const shown = field === '' ? location : field;
  return { error: { code: 'invalid', message: `${shown}: ${reason}`, field: shown, location, reason } };
}

export function toErrorResponse(e: unknown): { status: number; body: ErrorBody } {
  if (e instanceof HostError) {
    const body: ErrorBody = { error: { code: e.code, message: e.message } };
    if (e.field !== undefined) body.error.field = e.field;
    if (e.reason !== undefined) body.error.reason = e.reason;
    if (e.code === 'invalid') body.error.location = 'body';
    return { status: e.status, body };
  }
  const fe = e as Partial<FastifyError> & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    return { status: 400, body: fromValidation(fe.validation[0]!, fe.validationContext ?? 'body') };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'too-large', message: 'the request body is larger than the API accepts', location: 'body' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: { code: 'unsupported-media-type', message: 'request bodies must be application/json', location: 'header', field: 'content-type' } } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { error: { code: 'invalid', message: `body: ${fe.message ?? 'is not valid JSON'}`, field: 'body', location: 'body', reason: 'is not valid JSON' } } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: 'invalid', message: fe.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: `internal error: ${e instanceof Error ? e.message : String(e)}` } } };
}
