/**
 * Routes about the node and the cluster: status, members, health, stats, metrics, and
 * the admin actions (leadership transfer, fault hooks when enabled).
 */
import type { ClusterInfoJson, NodeStatusJson } from '../wire/index.js';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { type ObservedNode, type MaintenanceNode, ETCD_API_VERSION, KEEL_VERSION } from '../server/index.js';
import { isVoter } from '../raft/index.js';
import { sendError, sendThrown } from './errors.js';
import { FaultRulesError } from '../transport/index.js';
import { fsyncDelayMsMax } from '../storage/index.js';

export function registerClusterRoutes(app: FastifyInstance, node: ObservedNode & MaintenanceNode, metrics: Registry): void {
  app.get('/status', async () => statusJson(node));

  app.get('/cluster/info', async (): Promise<ClusterInfoJson> => {
    const status = node.status();
    return {
      clusterId: node.config.clusterId,
      leader: status.leader,
      // The replicated member list, so members added since the start are found too.
      members: node.memberList().members.map((m) => {
        const peer = m.peerUrls[0] ? new URL(m.peerUrls[0]) : undefined;
        const client = m.clientUrls[0] ? new URL(m.clientUrls[0]) : undefined;
        return {
          id: m.id,
          host: client?.hostname ?? peer?.hostname ?? '',
          peerPort: Number(peer?.port ?? 0),
          clientPort: Number(client?.port ?? 0),
          clientUrl: m.clientUrls[0] ?? '',
          voter: isVoter(status.config, m.id),
        };
      }),
    };
  });

  // `health` and `reason` as etcd's /health answers, for tools that read them, both ways:
  // etcd answers 503 {"health": "false", "reason": "RAFT NO LEADER"} without a leader.
  app.get('/health', async (_request, reply) => {
    const { leader } = node.status();
    if (leader === 0) {
      reply.header('retry-after', '1');
      return reply.code(503).send({ error: { code: 'NO_LEADER', message: 'this node knows no leader' }, health: 'false', reason: 'RAFT NO LEADER' });
    }
    return { ok: true, leader, health: 'true', reason: '' };
  });

  // etcd's GET /version, which etcd's gateway clients (etcd3gw) call before anything
  // else: the etcd release whose API Keel answers, for the server and the cluster.
  app.get('/version', async () => ({ etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_API_VERSION.replace(/\.\d+$/, '.0'), keel: KEEL_VERSION }));

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

  // Disk faults (storage/faulty-disk.ts): {"fsyncDelayMs": n} stalls every fsync by n ms.
  app.get('/admin/faults/disk', async (_request, reply) => {
    if (!node.disk) return sendError(reply, 404, 'FAULTS_DISABLED', 'start the node with --enable-fault-injection to use fault hooks');
    return node.disk.state;
  });

  app.put('/admin/faults/disk', async (request, reply) => {
    if (!node.disk) return sendError(reply, 404, 'FAULTS_DISABLED', 'start the node with --enable-fault-injection to use fault hooks');
    const body = request.body as Record<string, unknown> | undefined;
    const delay = body?.fsyncDelayMs;
    const unknownFields = Object.keys(body ?? {}).filter((name) => name !== 'fsyncDelayMs');
    if (unknownFields.length > 0) return sendError(reply, 400, 'BAD_REQUEST', `unknown field ${unknownFields.join(', ')}; only fsyncDelayMs can be set`);
    if (!(typeof delay === 'number' && Number.isSafeInteger(delay) && delay >= 0 && delay <= fsyncDelayMsMax)) {
      return sendError(reply, 400, 'BAD_REQUEST', `fsyncDelayMs must be an integer in [0, ${fsyncDelayMsMax}], got ${JSON.stringify(delay)}`);
    }
    node.disk.fsyncDelayMs = delay;
    return node.disk.state;
  });
}

/** What GET /status answers, also the status in every dashboard frame. */
export function statusJson(node: ObservedNode): NodeStatusJson {
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
    compactionPending: s.compactionPending,
    voters: s.config.voters,
    learners: s.config.learners,
    pendingWrites: s.pendingWrites,
    pendingReads: s.pendingReads,
    watchers: s.watchers,
    peers: s.peers,
    version: KEEL_VERSION,
    isLearner: s.isLearner,
    ...node.storageSizes(),
    alarms: s.alarms,
    disk: s.disk,
  };
}
