/**
 * The membership admin routes:
 *
 *   GET    /members                 the replicated member list (any node, as it has applied it)
 *   POST   /members                 add: {"peerUrls": [...], "isLearner": true, "id"?, "name"?, "clientUrls"?, "grpcUrls"?}
 *   DELETE /members/{id}            remove
 *   PUT    /members/{id}            update the peer URLs: {"peerUrls": [...]}
 *   POST   /members/{id}/promote    promote a learner to a voter
 *
 * Changes run on the leader; any other node forwards the request to the leader's client
 * URL and relays its answer, as etcd's members forward membership requests.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Member } from '../kv/index.js';
import type { MembershipNode } from '../server/index.js';
import type { MemberChangeJson, MemberJson, MemberListJson } from '../wire/index.js';
import { sendError, sendThrown } from './errors.js';
import { forwardedHeader, runMemberOp, type MemberOp } from './member-admin.js';

export function registerMemberRoutes(app: FastifyInstance, node: MembershipNode): void {
  app.get('/members', async () => {
    const list = node.memberList();
    return { leader: node.status().leader, members: list.members.map(memberJson), removed: list.removed } satisfies MemberListJson;
  });

  app.post('/members', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const peerUrls = urlList(body['peerUrls'] ?? (body['peerUrl'] !== undefined ? [body['peerUrl']] : undefined));
    if (!peerUrls) return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"peerUrls": ["http://host:port"], "isLearner": true|false}');
    const isLearner = body['isLearner'] ?? false;
    if (typeof isLearner !== 'boolean') return sendError(reply, 400, 'BAD_REQUEST', 'isLearner must be true or false');
    const id = body['id'];
    if (id !== undefined && !(typeof id === 'number' && Number.isSafeInteger(id) && id > 0))
      return sendError(reply, 400, 'BAD_REQUEST', 'id must be a positive integer');
    const name = body['name'];
    if (name !== undefined && typeof name !== 'string') return sendError(reply, 400, 'BAD_REQUEST', 'name must be a string');
    const clientUrls = body['clientUrls'] === undefined ? [] : urlList(body['clientUrls']);
    const grpcUrls = body['grpcUrls'] === undefined ? [] : urlList(body['grpcUrls']);
    if (!clientUrls || !grpcUrls) return sendError(reply, 400, 'BAD_REQUEST', 'clientUrls and grpcUrls must be lists of URLs');
    return change(node, request, reply, 201, {
      kind: 'add',
      request: { peerUrls, isLearner, clientUrls, grpcUrls, ...(id !== undefined ? { id } : {}), ...(name !== undefined ? { name } : {}) },
    });
  });

  app.delete('/members/:id', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    return change(node, request, reply, 200, { kind: 'remove', id });
  });

  app.put('/members/:id', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    const peerUrls = urlList(((request.body ?? {}) as Record<string, unknown>)['peerUrls']);
    if (!peerUrls) return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"peerUrls": ["http://host:port"]}');
    return change(node, request, reply, 200, { kind: 'update', id, peerUrls });
  });

  app.post('/members/:id/promote', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    return change(node, request, reply, 200, { kind: 'promote', id });
  });
}

export function memberJson(m: Member): MemberJson {
  return { id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, grpcUrls: m.grpcUrls, isLearner: m.isLearner };
}

async function change(node: MembershipNode, request: FastifyRequest, reply: FastifyReply, okStatus: number, op: MemberOp): Promise<FastifyReply> {
  try {
    const result = await runMemberOp(node, op, request.headers[forwardedHeader] !== undefined);
    return reply.code(okStatus).send({ member: memberJson(result.member), members: result.members.map(memberJson) } satisfies MemberChangeJson);
  } catch (error) {
    return sendThrown(reply, error);
  }
}

function memberId(request: FastifyRequest): number | undefined {
  const id = Number((request.params as { id: string }).id);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function urlList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || !value.every((url) => typeof url === 'string')) return undefined;
  return value as string[];
}
