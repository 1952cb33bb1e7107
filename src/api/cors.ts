/**
 * Cross-origin requests from the cluster's own dashboard. The dashboard page is served
 * by one node but talks to every member (it follows the cluster when its node dies),
 * so a node answers browsers whose page came from a member's client URL or an origin
 * the operator allowed (--cors), and only those: a page from anywhere else gets no
 * CORS headers, and origin-gate.ts has already refused its request before it ran.
 */
import type { FastifyInstance } from 'fastify';
import type { MembershipNode } from '../server/index.js';
import { clientScheme } from '../replica/index.js';

const allowedMethods = 'GET, PUT, POST, DELETE';
const preflightMaxAgeSeconds = 600;

/**
 * The members' client URLs as this node knows them now: the configured ones and those
 * of the replicated member list, so a page served by a member added later is answered.
 */
export function isMemberOrigin(node: MembershipNode, origin: string): boolean {
  const scheme = clientScheme(node.config);
  if (node.config.members.some((m) => `${scheme}://${m.host}:${m.clientPort}` === origin)) return true;
  return node.memberList().members.some((m) => m.clientUrls.includes(origin));
}

export function registerMemberCors(app: FastifyInstance, node: MembershipNode): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !(isMemberOrigin(node, origin) || node.config.corsAllowedOrigins.includes(origin))) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'origin');
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', allowedMethods);
      reply.header('access-control-allow-headers', 'content-type, authorization, x-keel-client-id, x-keel-seq');
      reply.header('access-control-max-age', String(preflightMaxAgeSeconds));
      return reply.code(204).send();
    }
  });
}
