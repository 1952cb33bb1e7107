/**
 * The lease REST routes. Thin: parse, hand to the node's lease service, map the answer.
 *
 *   POST   /leases                 {"ttl": seconds, "id"?: n}   grant
 *   GET    /leases                                               list
 *   GET    /leases/{id}?keys=true                               time to live (and keys)
 *   POST   /leases/{id}/keepalive                               renew once
 *   DELETE /leases/{id}                                         revoke (deletes its keys)
 *
 * Lease ids are decimal integers in [1, 2^53 - 1] (JSON numbers stay exact there).
 * Writes honour the X-Keel-Client-Id / X-Keel-Seq session, so a client's retry of a
 * grant, revoke or keep-alive applies once and gets the first answer.
 */
import { requireNeed } from './rest-auth.js';
import { NEEDS_USER, commandAuth, type KeyValueNode } from '../server/index.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClientSession, CommandResult } from '../kv/index.js';
import { bytesField } from './json-bytes.js';
import type { DeleteJson, LeaseGrantJson, LeaseListJson, LeaseTimeToLiveJson, RevisionJson } from '../wire/index.js';
import { consistencyOf, parseInteger, sessionOf, type Query, parseFlag } from './request-parsing.js';
import { sendError, sendKvError, sendThrown } from './errors.js';

export function registerLeaseRoutes(app: FastifyInstance, node: KeyValueNode): void {
  app.post('/leases', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body))
      return sendError(reply, 400, 'BAD_REQUEST', 'the body must be JSON {"ttl": seconds, "id"?: number}');
    const ttl = jsonInteger(body['ttl'], 'ttl');
    const id = body['id'] === undefined ? 0 : jsonInteger(body['id'], 'id');
    const session = sessionOf(request);
    for (const problem of [ttl, id, session]) if (typeof problem === 'string') return sendError(reply, 400, 'BAD_REQUEST', problem);
    requireNeed(node, request, NEEDS_USER);
    return answer(reply, () => node.leases.grant(ttl as number, id as number, session as ClientSession | undefined));
  });

  app.get('/leases', async (request, reply) => {
    const consistency = consistencyOf(request.query as Query);
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    requireNeed(node, request, NEEDS_USER);
    try {
      const { leases, revision } = await node.leases.list(consistency.value);
      return reply.send({ leases: leases.map((lease) => ({ id: lease.id, grantedTtl: lease.ttl })), revision } satisfies LeaseListJson);
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.get('/leases/:id', async (request, reply) => {
    const query = request.query as Query;
    const id = leaseIdOf(request.params);
    const consistency = consistencyOf(query);
    const withKeys = parseFlag(query, 'keys');
    if (typeof id === 'string') return sendError(reply, 400, 'BAD_REQUEST', id);
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    if (typeof withKeys === 'string') return sendError(reply, 400, 'BAD_REQUEST', withKeys);
    requireNeed(node, request, node.auth.needsForLease(id, 'read'));
    try {
      const lease = await node.leases.timeToLive(id, consistency.value);
      if (!lease) return sendError(reply, 404, 'LEASE_NOT_FOUND', `requested lease ${id} not found (expired or revoked)`);
      return reply.send({
        id: lease.id,
        ttl: lease.ttl,
        grantedTtl: lease.grantedTtl,
        ...(withKeys ? { keys: lease.keys.map((key) => bytesField('key', key)) } : {}),
        revision: lease.revision,
      } satisfies LeaseTimeToLiveJson);
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.post('/leases/:id/keepalive', async (request, reply) => {
    const id = leaseIdOf(request.params);
    const session = sessionOf(request);
    for (const problem of [id, session]) if (typeof problem === 'string') return sendError(reply, 400, 'BAD_REQUEST', problem);
    requireNeed(node, request, NEEDS_USER);
    return answer(reply, () => node.leases.keepAlive(id as number, session as ClientSession | undefined));
  });

  app.delete('/leases/:id', async (request, reply) => {
    const id = leaseIdOf(request.params);
    const session = sessionOf(request);
    for (const problem of [id, session]) if (typeof problem === 'string') return sendError(reply, 400, 'BAD_REQUEST', problem);
    requireNeed(node, request, node.auth.needsForLease(id as number, 'write'));
    return answer(reply, () => node.leases.revoke(id as number, session as ClientSession | undefined, commandAuth(request.caller)));
  });
}

type Ok = Extract<CommandResult, { ok: true }>;
type LeaseAnswer = LeaseGrantJson | DeleteJson | RevisionJson;

/** Runs a lease write and answers its response fields with the revision. */
async function answer(reply: FastifyReply, run: () => Promise<CommandResult>): Promise<FastifyReply> {
  try {
    const result = await run();
    if (!result.ok) return sendKvError(reply, result.error);
    return reply.send(fieldsOf(result));
  } catch (error) {
    return sendThrown(reply, error);
  }
}

function fieldsOf(result: Ok): LeaseAnswer {
  const response = result.response;
  switch (response.type) {
    case 'leaseGrant':
    case 'leaseKeepAlive':
      return { id: response.id, ttl: response.ttl, revision: result.revision };
    case 'leaseRevoke':
      return { deleted: response.deleted, revision: result.revision };
    default:
      return { revision: result.revision };
  }
}

function leaseIdOf(params: unknown): number | string {
  const text = (params as { id?: string }).id ?? '';
  const id = parseInteger(text, 'lease id');
  if (id === undefined || (typeof id === 'number' && id < 1)) return `lease id must be an integer in [1, 2^53 - 1], got ${JSON.stringify(text)}`;
  return id;
}

function jsonInteger(value: unknown, name: string): number | string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return `${name} must be a non-negative integer, got ${JSON.stringify(value)}`;
  return value;
}
