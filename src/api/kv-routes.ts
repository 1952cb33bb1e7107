/**
 * The key-value REST routes. Thin: parse and validate the HTTP request, build a
 * key-value command or range request, hand it to the node, map the result.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type KeyValueNode, type Consistency, commandAuth } from '../server/index.js';
import type { ClientSession, CommandBody, CommandResult, RangeRequest, ReadResponse, RequestOp, ResponseOp } from '../kv/index.js';
import type { BatchJson, BatchOpResultJson, DeleteJson, GetJson, PutJson, ScanJson } from '../wire/index.js';
import { scanRequest } from './scan-query.js';
import { bytesOf, keyValueJson, utf8 } from './json-bytes.js';
import { sendError, sendKvError, sendThrown } from './errors.js';
import { consistencyOf, parseInteger, sessionOf, type Query, parseFlag } from './request-parsing.js';
import { batchCompares } from './batch-compare.js';
import { requireKeys } from './rest-auth.js';
import { connectionName, payloadBytes, type ConnectionBudget } from './connection-budget.js';

export function registerKvRoutes(app: FastifyInstance, node: KeyValueNode, writeBudget: ConnectionBudget): void {
  app.put('/kv/*', async (request, reply) => {
    const key = keyOf(request);
    const value = bodyValue(request.body);
    if (typeof value === 'string') return sendError(reply, 400, 'BAD_REQUEST', value);
    const query = request.query as Query;
    const lease = parseInteger(query.lease, 'lease');
    const ttl = parseInteger(query.ttl, 'ttl');
    const prevKv = parseFlag(query, 'prevKv');
    for (const problem of [lease, ttl, prevKv]) if (typeof problem === 'string') return sendError(reply, 400, 'BAD_REQUEST', problem);
    if (lease !== undefined && ttl !== undefined)
      return sendError(reply, 400, 'BAD_REQUEST', 'give either lease (an existing lease) or ttl (a new one), not both');
    const session = sessionOf(request);
    if (typeof session === 'string') return sendError(reply, 400, 'BAD_REQUEST', session);
    // Checked before a lease is granted for it.
    requireKeys(node, request, { type: 'put', key, value, ...(typeof lease === 'number' ? { lease } : {}), prevKv: prevKv === true });
    const granted = ttl === undefined ? undefined : await grantForPut(reply, node, ttl as number, session);
    if (granted && 'sent' in granted) return granted.sent;
    const leaseId = granted?.id ?? (lease as number | undefined) ?? 0;
    const sent = await write(
      reply,
      node,
      writeBudget,
      { type: 'put', key, value, lease: leaseId, prevKv: prevKv === true },
      session,
      (result): PutJson => ({
        revision: result.revision,
        ...(granted ? { lease: granted.id, ttl: granted.ttl } : {}),
        ...(result.response.type === 'put' && result.response.prevKv ? { prevKv: keyValueJson(result.response.prevKv) } : {}),
      }),
    );
    // The put was refused: the lease granted for it would hold nothing, so it goes. (After
    // a 503/504 the put may have applied; the lease then expires with its key.)
    if (granted && reply.statusCode >= 400 && reply.statusCode < 500) void node.leases.revoke(granted.id).catch(() => undefined);
    return sent;
  });

  app.get('/kv/*', async (request, reply) => {
    const query = request.query as Query;
    const consistency = consistencyOf(query);
    const rev = parseInteger(query.rev, 'rev');
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    if (typeof rev === 'string') return sendError(reply, 400, 'BAD_REQUEST', rev);
    const key = keyOf(request);
    requireKeys(node, request, { type: 'range', key });
    return read(reply, node, { type: 'range', key, revision: rev ?? 0 }, consistency.value, (response) => {
      const kv = response.kvs[0];
      if (!kv) return sendError(reply, 404, 'KEY_NOT_FOUND', `key ${JSON.stringify(new TextDecoder().decode(key))} does not exist`);
      return reply.send({ ...keyValueJson(kv), revision: response.revision } satisfies GetJson);
    });
  });

  app.delete('/kv/*', async (request, reply) => {
    const key = keyOf(request);
    requireKeys(node, request, { type: 'deleteRange', key });
    return write(
      reply,
      node,
      writeBudget,
      { type: 'deleteRange', key },
      sessionOf(request),
      (result): DeleteJson => ({
        revision: result.revision,
        deleted: result.response.type === 'deleteRange' ? result.response.deleted : 0,
      }),
    );
  });

  app.get('/kv', async (request, reply) => {
    const query = request.query as Query;
    const consistency = consistencyOf(query);
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    const range = scanRequest(query);
    if (typeof range === 'string') return sendError(reply, 400, 'BAD_REQUEST', range);
    requireKeys(node, request, range);
    return read(reply, node, range, consistency.value, (response) =>
      reply.send({
        kvs: response.kvs.map((kv) => keyValueJson(kv, range.keysOnly)),
        count: response.count,
        more: response.more,
        revision: response.revision,
      } satisfies ScanJson),
    );
  });

  app.post('/batch', async (request, reply) => {
    const ops = batchOps(request.body);
    if (typeof ops === 'string') return sendError(reply, 400, 'BAD_REQUEST', ops);
    const compare = batchCompares((request.body as { if?: unknown }).if, bytesOf);
    if (typeof compare === 'string') return sendError(reply, 400, 'BAD_REQUEST', compare);
    requireKeys(node, request, { type: 'txn', compare, success: ops, failure: [] });
    // A failed guard runs nothing: the answer says so with succeeded: false.
    return write(
      reply,
      node,
      writeBudget,
      { type: 'txn', compare, success: ops, failure: [] },
      sessionOf(request),
      (result): BatchJson => ({
        revision: result.revision,
        succeeded: result.response.type === 'txn' && result.response.succeeded,
        results: result.response.type === 'txn' ? result.response.responses.map(batchResult) : [],
      }),
    );
  });
}

/**
 * PUT ?ttl=: a new lease for the key; its id and TTL, or the error already sent. With a
 * session, the id is derived from it, so a client's retry of the same put (same session
 * and seq) finds the lease its first attempt granted (LEASE_EXISTS) instead of leaking a
 * second one, and its put, deduplicated by the session, is attached to that lease.
 */
async function grantForPut(
  reply: FastifyReply,
  node: KeyValueNode,
  ttl: number,
  session: ClientSession | undefined,
): Promise<{ id: number; ttl: number } | { sent: FastifyReply }> {
  try {
    const id = session ? leaseIdForSession(session) : 0;
    const result = await node.leases.grant(ttl, id);
    if (!result.ok && result.error.code === 'LEASE_EXISTS' && id !== 0) {
      const existing = await node.leases.timeToLive(id);
      if (existing) return { id, ttl: existing.grantedTtl };
    }
    if (!result.ok) return { sent: sendKvError(reply, result.error) };
    if (result.response.type !== 'leaseGrant') throw new Error(`lease grant answered ${result.response.type}`);
    return { id: result.response.id, ttl: result.response.ttl };
  } catch (error) {
    return { sent: sendThrown(reply, error) };
  }
}

function leaseIdForSession(session: ClientSession): number {
  const digest = createHash('sha256').update(`${session.clientId}\0${session.seq}`).digest();
  return 1 + (digest.readUIntBE(0, 6) % (2 ** 48 - 1));
}

export async function write(
  reply: FastifyReply,
  node: KeyValueNode,
  writeBudget: ConnectionBudget,
  body: CommandBody,
  session: ClientSession | string | undefined,
  render: (result: Extract<CommandResult, { ok: true }>) => object,
): Promise<FastifyReply> {
  if (typeof session === 'string') return sendError(reply, 400, 'BAD_REQUEST', session);
  try {
    // The caller rest-auth.ts resolved, checked again when the write applies.
    // Counted against the connection's write budget until answered (connection-budget.ts).
    const auth = commandAuth(reply.request.caller);
    const result = await writeBudget.run(connectionName(reply.request.socket), payloadBytes(body), () => node.write(body, session, auth));
    if (!result.ok) return sendKvError(reply, result.error);
    return reply.send(render(result));
  } catch (error) {
    return sendThrown(reply, error);
  }
}

async function read(
  reply: FastifyReply,
  node: KeyValueNode,
  request: RangeRequest,
  consistency: Consistency,
  render: (response: ReadResponse) => FastifyReply,
): Promise<FastifyReply> {
  try {
    const result = await node.read(request, consistency);
    // Checked again on the state the read saw (after ReadIndex), as etcd checks reads.
    node.auth.check(node.auth.state(), reply.request.caller, node.auth.needsFor(request));
    if (!result.ok) return sendKvError(reply, result.error);
    return render(result.value);
  } catch (error) {
    return sendThrown(reply, error);
  }
}

export function keyOf(request: FastifyRequest): Uint8Array {
  return utf8((request.params as { '*': string })['*'] ?? '');
}

/** A raw body is the value; a JSON body is {"value": ...}. Returns a problem as a string. */
export function bodyValue(body: unknown): Uint8Array | string {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (Buffer.isBuffer(body)) return new Uint8Array(body.buffer, body.byteOffset, body.length);
  if (typeof body === 'object' && 'value' in body) {
    const value = (body as { value: unknown }).value;
    return typeof value === 'string' ? utf8(value) : utf8(JSON.stringify(value));
  }
  return 'a JSON body must be an object with a "value" field; send other content types for raw bytes';
}

const batchOpsMax = 128;

function batchOps(body: unknown): RequestOp[] | string {
  const ops = (body as { ops?: unknown } | undefined)?.ops;
  if (!Array.isArray(ops)) return 'the body must be JSON {"ops": [...]} (with an optional "if": [...])';
  if (ops.length === 0) return 'ops must not be empty';
  if (ops.length > batchOpsMax) return `ops has ${ops.length} operations; the limit is ${batchOpsMax}`;
  const out: RequestOp[] = [];
  for (const [i, op] of ops.entries()) {
    if (typeof op !== 'object' || op === null) return `ops[${i}] must be an object`;
    const { op: kind, value, valueBase64 } = op as { op?: unknown; value?: unknown; valueBase64?: unknown };
    const key = bytesOf(op as Record<string, unknown>, 'key', `ops[${i}]`);
    if (typeof key === 'string') return key;
    if (kind === 'set') {
      if (valueBase64 !== undefined) {
        const decoded = bytesOf({ valueBase64 }, 'value', `ops[${i}]`);
        if (typeof decoded === 'string') return decoded;
        out.push({ type: 'put', key, value: decoded });
      } else {
        if (value === undefined) return `ops[${i}].value is missing`;
        out.push({ type: 'put', key, value: typeof value === 'string' ? utf8(value) : utf8(JSON.stringify(value)) });
      }
    } else if (kind === 'get') {
      out.push({ type: 'range', key });
    } else if (kind === 'delete') {
      out.push({ type: 'deleteRange', key });
    } else {
      return `ops[${i}].op must be "set", "get" or "delete", got ${JSON.stringify(kind)}`;
    }
  }
  return out;
}

function batchResult(response: ResponseOp): BatchOpResultJson {
  switch (response.type) {
    case 'put':
      return { op: 'set' };
    case 'range': {
      const kv = response.kvs[0];
      return { op: 'get', kv: kv ? keyValueJson(kv) : null };
    }
    case 'deleteRange':
      return { op: 'delete', deleted: response.deleted };
    case 'txn':
      // A batch holds no nested transactions; kept total for the type.
      return { op: 'txn' };
  }
}
