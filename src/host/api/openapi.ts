/**
 * Builds the OpenAPI 3.1 document from the route table and the shared schemas; named schemas are
 * referenced from components so the document reads like a hand-written one.
 */
import { ErrorBody, NAMED_SCHEMAS, type JsonSchema } from './schemas.js';
import type { RouteDef } from './routes.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid request: error.field and error.reason name what is wrong',
  401: 'missing or wrong access token',
  404: 'no such VM or route',
  409: 'the VM’s state or another operation forbids this, or a name/disk/MAC is taken',
  413: 'request body too large',
  415: 'request body is not application/json',
  502: 'the VM’s worker failed to carry the operation out',
};

export function openApiDocument(routes: RouteDef[], version: string): Record<string, unknown> {
  const names = new Map<JsonSchema, string>(NAMED_SCHEMAS.map(([n, s]) => [s, n]));
  const ref = (s: JsonSchema): JsonSchema => (names.has(s) ? { $ref: `#/components/schemas/${names.get(s)!}` } : s);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      const props = (schema?.['properties'] ?? {}) as Record<string, JsonSchema>;
      const required = (schema?.['required'] ?? []) as string[];
      for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.includes(name), schema: s });
    }
    const responses: Record<string, unknown> = {
      [String(r.ok.status)]: {
        description: r.ok.description,
        ...(r.ok.schema !== undefined ? { content: { 'application/json': { schema: ref(r.ok.schema) } } } : {}),
        ...(r.ok.contentType !== undefined ? { content: { [r.ok.contentType]: { schema: { type: 'string' } } } } : {}),
      },
    };
    const errs = [...r.errors, 401];
    for (const code of errs) responses[String(code)] = { description: ERROR_TEXT[code] ?? 'error', content: { 'application/json': { schema: ref(ErrorBody) } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body !== undefined ? { requestBody: { required: r.body['required'] !== undefined, content: { 'application/json': { schema: ref(r.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Viridian host service', version, description: 'Manage the VMs of one Viridian host. JSON in and out; unknown fields are errors.' },
    paths,
    components: {
      schemas: Object.fromEntries(NAMED_SCHEMAS),
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'the token in <data-dir>/access-token' } },
    },
    security: [{ token: [] }],
  };
}
