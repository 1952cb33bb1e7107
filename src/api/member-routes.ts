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
import type { Member } from '../kv/members.js';
import type { KeelNode } from '../server/keel-node.js';
import type { MembershipResult } from '../server/membership.js';
import { sendError, sendThrown } from './errors.js';

/** Marks a request one node forwarded to another, so it is never forwarded twice. */
const forwardedHeader = 'x-keel-forwarded';
const forwardTimeoutMs = 15_000;

export function registerMemberRoutes(app: FastifyInstance, node: KeelNode): void {
  app.get('/members', async () => {
    const list = node.memberList();
    return { leader: node.status().leader, members: list.members.map(memberJson), removed: list.removed };
  });

  app.post('/members', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const peerUrls = urlList(body['peerUrls'] ?? (body['peerUrl'] !== undefined ? [body['peerUrl']] : undefined));
    if (!peerUrls) return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"peerUrls": ["http://host:port"], "isLearner": true|false}');
    const isLearner = body['isLearner'] ?? false;
    if (typeof isLearner !== 'boolean') return sendError(reply, 400, 'BAD_REQUEST', 'isLearner must be true or false');
    const id = body['id'];
    if (id !== undefined && !(typeof id === 'number' && Number.isSafeInteger(id) && id > 0)) return sendError(reply, 400, 'BAD_REQUEST', 'id must be a positive integer');
    const name = body['name'];
    if (name !== undefined && typeof name !== 'string') return sendError(reply, 400, 'BAD_REQUEST', 'name must be a string');
    const clientUrls = body['clientUrls'] === undefined ? [] : urlList(body['clientUrls']);
    const grpcUrls = body['grpcUrls'] === undefined ? [] : urlList(body['grpcUrls']);
    if (!clientUrls || !grpcUrls) return sendError(reply, 400, 'BAD_REQUEST', 'clientUrls and grpcUrls must be lists of URLs');
    return change(node, request, reply, 201, () =>
      node.addMember({ peerUrls, isLearner, clientUrls, grpcUrls, ...(id !== undefined ? { id } : {}), ...(name !== undefined ? { name } : {}) }),
    );
  });

  app.delete('/members/:id', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    return change(node, request, reply, 200, () => node.removeMember(id));
  });

  app.put('/members/:id', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    const peerUrls = urlList(((request.body ?? {}) as Record<string, unknown>)['peerUrls']);
    if (!peerUrls) return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"peerUrls": ["http://host:port"]}');
    return change(node, request, reply, 200, () => node.updateMember(id, peerUrls));
  });

  app.post('/members/:id/promote', async (request, reply) => {
    const id = memberId(request);
    if (id === undefined) return sendError(reply, 400, 'BAD_REQUEST', 'member id must be a positive integer');
    return change(node, request, reply, 200, () => node.promoteMember(id));
  });
}

export function memberJson(m: Member): object {
  return { id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls, grpcUrls: m.grpcUrls, isLearner: m.isLearner };
}

async function change(
  node: KeelNode,
  request: FastifyRequest,
  reply: FastifyReply,
  okStatus: number,
  run: () => Promise<MembershipResult>,
): Promise<FastifyReply> {
  const { role, leader } = node.status();
  if (role !== 'leader' && leader !== 0 && request.headers[forwardedHeader] === undefined) return forward(node, request, reply, leader);
  try {
    const result = await run();
    return reply.code(okStatus).send({ member: memberJson(result.member), members: result.members.map(memberJson) });
  } catch (error) {
    return sendThrown(reply, error);
  }
}

async function forward(node: KeelNode, request: FastifyRequest, reply: FastifyReply, leader: number): Promise<FastifyReply> {
  const url = node.memberList().members.find((m) => m.id === leader)?.clientUrls[0];
  if (!url) return sendError(reply, 503, 'NOT_LEADER', `the leader is node ${leader}, whose client URL is not known here; ask it directly`);
  try {
    const response = await fetch(url + request.url, {
      method: request.method,
      headers: { [forwardedHeader]: String(node.config.id), ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal: AbortSignal.timeout(forwardTimeoutMs),
    });
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter) reply.header('retry-after', retryAfter);
    return reply.code(response.status).header('content-type', 'application/json').send(await response.text());
  } catch (error) {
    return sendError(reply, 503, 'LEADER_CHANGED', `could not reach the leader (node ${leader} at ${url}): ${(error as Error).message}; retry`);
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
