/**
 * Routes about the node and the cluster: status, members, health, stats, metrics, and
 * the admin actions (leadership transfer, fault hooks when enabled).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { KeelNode } from '../server/keel-node.js';
import { isVoter } from '../raft/config.js';
import { sendError, sendThrown } from './errors.js';
import { FaultRulesError } from '../transport/fault-hooks.js';

export function registerClusterRoutes(app: FastifyInstance, node: KeelNode, metrics: Registry): void {
  app.get('/status', async () => statusJson(node));

  app.get('/cluster/info', async () => {
    const status = node.status();
    return {
      clusterId: node.config.clusterId,
      leader: status.leader,
      members: node.config.members.map((m) => ({
        id: m.id,
        host: m.host,
        peerPort: m.peerPort,
        clientPort: m.clientPort,
        clientUrl: `http://${m.host}:${m.clientPort}`,
        voter: isVoter(status.config, m.id),
      })),
    };
  });

  app.get('/health', async (_request, reply) => {
    const { leader } = node.status();
    if (leader === 0) return sendError(reply, 503, 'NO_LEADER', 'this node knows no leader');
    return { ok: true, leader };
  });

  app.get('/stats', async () => ({ ...statusJson(node), counters: node.counters, transport: node.transportStats() }));

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });

  app.post('/admin/transfer-leadership', async (request, reply) => {
    const to = (request.body as { to?: unknown } | undefined)?.to;
    if (typeof to !== 'number' || !Number.isSafeInteger(to)) return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"to": <node id>}');
    try {
      node.transferLeadership(to);
      return { ok: true };
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.get('/admin/faults', async (_request, reply) => {
    const faults = node.faults;
    if (!faults) return sendError(reply, 404, 'FAULTS_DISABLED', 'start the node with --enable-fault-injection to use fault hooks');
    return faults.get();
  });

  app.put('/admin/faults', async (request, reply) => {
    const faults = node.faults;
    if (!faults) return sendError(reply, 404, 'FAULTS_DISABLED', 'start the node with --enable-fault-injection to use fault hooks');
    try {
      faults.set((request.body as { rules?: unknown } | undefined)?.rules);
      return faults.get();
    } catch (error) {
      if (error instanceof FaultRulesError) return sendError(reply, 400, 'BAD_REQUEST', error.message);
      throw error;
    }
  });

  app.delete('/admin/faults', async (_request, reply) => {
    const faults = node.faults;
    if (!faults) return sendError(reply, 404, 'FAULTS_DISABLED', 'start the node with --enable-fault-injection to use fault hooks');
    faults.heal();
    return faults.get();
  });
}

function statusJson(node: KeelNode): object {
  const s = node.status();
  return {
    id: s.id,
    role: s.role,
    term: s.term,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    firstIndex: s.firstIndex,
    lastIndex: s.lastIndex,
    revision: s.revision,
    compactedRevision: s.compactedRevision,
    voters: s.config.voters,
    learners: s.config.learners,
    pendingWrites: s.pendingWrites,
    pendingReads: s.pendingReads,
    watchers: s.watchers,
    peers: s.peers,
  };
}
