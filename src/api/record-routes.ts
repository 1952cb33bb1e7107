/**
 * Records with named fields (layout in record-layout.ts), over REST:
 *
 *   PUT    /records/{key}                 {"fields": {...}}: the record holds exactly these fields
 *   PATCH  /records/{key}                 {"fields": {...}}: set these fields, remove those given null
 *   GET    /records/{key}                 the whole record, read with one range
 *   DELETE /records/{key}                 the record and all its fields
 *   PUT    /records/{key}/fields/{name}   one field (raw body, or JSON {"value": ...}, as PUT /kv)
 *   GET    /records/{key}/fields/{name}   one field, with its revisions and version
 *   DELETE /records/{key}/fields/{name}   one field
 *
 * Every write is one transaction at one revision. Reads take `consistency` and `rev`
 * as GET /kv does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyValueNode } from '../server/index.js';
import type { CommandBody, RequestOp } from '../kv/index.js';
import { answer } from './answer.js';
import { sendError } from './errors.js';
import { bytesField, utf8 } from './json-bytes.js';
import type { DeleteJson, FieldJson, RecordJson, RevisionJson } from '../wire/index.js';
import { keyOf, bodyValue, write } from './kv-routes.js';
import type { ConnectionBudget } from './connection-budget.js';
import { requireKeys } from './rest-auth.js';
import { consistencyOf, parseInteger, sessionOf, type Query } from './request-parsing.js';
import {
  FIELDS_SEGMENT,
  fieldKey,
  fieldNameOf,
  fieldNameProblem,
  readFieldsMax,
  recordKeyProblem,
  recordRange,
  replaceFieldsMax,
  replaceOps,
  updateFieldsMax,
  updateOps,
} from './record-layout.js';

/** The record and, for /fields/{name} paths, the field; or the problem with the path. */
type Target = { readonly record: Uint8Array; readonly field: string | undefined };

export function registerRecordRoutes(app: FastifyInstance, node: KeyValueNode, writeBudget: ConnectionBudget): void {
  app.put('/records/*', async (request, reply) => {
    const target = targetOf(request);
    if (typeof target === 'string') return sendError(reply, 400, 'BAD_REQUEST', target);
    if (target.field !== undefined) {
      const value = bodyValue(request.body);
      if (typeof value === 'string') return sendError(reply, 400, 'BAD_REQUEST', value);
      return writeOps(reply, node, writeBudget, request, [{ type: 'put', key: fieldKey(target.record, target.field), value }]);
    }
    const fields = fieldsOf(request.body, replaceFieldsMax, false);
    if (typeof fields === 'string') return sendError(reply, 400, 'BAD_REQUEST', fields);
    return writeOps(reply, node, writeBudget, request, replaceOps(target.record, fields as Map<string, Uint8Array>));
  });

  app.patch('/records/*', async (request, reply) => {
    const target = targetOf(request);
    if (typeof target === 'string') return sendError(reply, 400, 'BAD_REQUEST', target);
    if (target.field !== undefined) return sendError(reply, 400, 'BAD_REQUEST', 'PATCH applies to a whole record; use PUT to set one field');
    const fields = fieldsOf(request.body, updateFieldsMax, true);
    if (typeof fields === 'string') return sendError(reply, 400, 'BAD_REQUEST', fields);
    if (fields.size === 0) return sendError(reply, 400, 'BAD_REQUEST', 'fields must name at least one field');
    return writeOps(reply, node, writeBudget, request, updateOps(target.record, fields));
  });

  app.delete('/records/*', async (request, reply) => {
    const target = targetOf(request);
    if (typeof target === 'string') return sendError(reply, 400, 'BAD_REQUEST', target);
    const op: RequestOp =
      target.field === undefined ? { type: 'deleteRange', ...recordRange(target.record) } : { type: 'deleteRange', key: fieldKey(target.record, target.field) };
    requireKeys(node, request, op);
    return write(
      reply,
      node,
      writeBudget,
      op as CommandBody,
      sessionOf(request),
      (result): DeleteJson => ({
        revision: result.revision,
        deleted: result.response.type === 'deleteRange' ? result.response.deleted : 0,
      }),
    );
  });

  app.get('/records/*', async (request, reply) => {
    const target = targetOf(request);
    if (typeof target === 'string') return sendError(reply, 400, 'BAD_REQUEST', target);
    const query = request.query as Query;
    const consistency = consistencyOf(query);
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    const revision = parseInteger(query.rev, 'rev');
    if (typeof revision === 'string') return sendError(reply, 400, 'BAD_REQUEST', revision);
    const { record, field } = target;
    const keys = field === undefined ? { ...recordRange(record), limit: readFieldsMax } : { key: fieldKey(record, field) };
    requireKeys(node, request, { type: 'range', ...keys });
    return answer(
      reply,
      () => node.read({ type: 'range', ...keys, revision: revision ?? 0 }, consistency.value),
      (response) => {
        const name = JSON.stringify(new TextDecoder().decode(record));
        if (response.kvs.length === 0) {
          return field === undefined
            ? sendError(reply, 404, 'RECORD_NOT_FOUND', `record ${name} has no fields`)
            : sendError(reply, 404, 'FIELD_NOT_FOUND', `record ${name} has no field ${JSON.stringify(field)}`);
        }
        if (field !== undefined) {
          const kv = response.kvs[0] as (typeof response.kvs)[number];
          return {
            ...bytesField('key', record),
            field,
            ...bytesField('value', kv.value),
            createRevision: kv.createRevision,
            modRevision: kv.modRevision,
            version: kv.version,
            revision: response.revision,
          } satisfies FieldJson;
        }
        const text: Record<string, string> = {};
        const base64: Record<string, string> = {};
        for (const kv of response.kvs) {
          const [[fieldName, value]] = Object.entries(bytesField('value', kv.value)) as [[string, string]];
          (fieldName === 'value' ? text : base64)[fieldNameOf(record, kv.key)] = value;
        }
        return {
          ...bytesField('key', record),
          fields: text,
          ...(Object.keys(base64).length > 0 ? { fieldsBase64: base64 } : {}),
          modRevision: Math.max(...response.kvs.map((kv) => kv.modRevision)),
          more: response.more,
          revision: response.revision,
        } satisfies RecordJson;
      },
    );
  });
}

function writeOps(reply: FastifyReply, node: KeyValueNode, writeBudget: ConnectionBudget, request: FastifyRequest, ops: RequestOp[]): Promise<FastifyReply> {
  requireKeys(node, request, { type: 'txn', compare: [], success: ops, failure: [] });
  return write(
    reply,
    node,
    writeBudget,
    { type: 'txn', compare: [], success: ops, failure: [] },
    sessionOf(request),
    (result): RevisionJson => ({
      revision: result.revision,
    }),
  );
}

/** Splits /records/{key}/fields/{name} at the last "/fields/"; the record key may not hold one. */
function targetOf(request: FastifyRequest): Target | string {
  const path = new TextDecoder().decode(keyOf(request));
  const at = path.lastIndexOf(FIELDS_SEGMENT);
  const record = utf8(at === -1 ? path : path.slice(0, at));
  const field = at === -1 ? undefined : path.slice(at + FIELDS_SEGMENT.length);
  const problem = recordKeyProblem(record) ?? (field === undefined ? undefined : fieldNameProblem(field));
  return problem ?? { record, field };
}

/**
 * {"fields": {"name": value, ...}}: a string value is stored as UTF-8, any other JSON
 * value as its JSON text (as PUT /kv does); null removes the field where `nullRemoves`.
 */
function fieldsOf(body: unknown, fieldsMax: number, nullRemoves: boolean): Map<string, Uint8Array | null> | string {
  const fields = typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? (body as { fields?: unknown }).fields : undefined;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return 'the body must be JSON {"fields": {"name": "value", ...}}';
  const entries = Object.entries(fields);
  if (entries.length > fieldsMax) return `${entries.length} fields given; one request may set at most ${fieldsMax}`;
  const out = new Map<string, Uint8Array | null>();
  for (const [name, value] of entries) {
    const problem = fieldNameProblem(name);
    if (problem) return problem;
    if (value === null && !nullRemoves) return `field ${JSON.stringify(name)} is null; a whole record holds values only (PATCH removes a field given null)`;
    out.set(name, value === null ? null : typeof value === 'string' ? utf8(value) : utf8(JSON.stringify(value)));
  }
  return out;
}
