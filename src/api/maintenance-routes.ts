/**
 * Maintenance over REST (the same operations as etcd's Maintenance service):
 *   GET  /admin/hash?revision=N    HashKV of this node's store (kv/hash-kv.ts)
 *   GET  /admin/alarms             active alarms
 *   POST /admin/alarms             {"action": "activate"|"deactivate", "memberId", "alarm": "NOSPACE"|"CORRUPT"}
 *   POST /admin/defragment         rewrite this node's key-value file without free pages
 *   GET  /admin/snapshot           this node's whole store, as bytes (kv/snapshot-format.ts)
 *   POST /admin/move-leader        {"to": id, "timeoutMs"?}: on the leader; answers once `to` leads
 * Hash, defragment and snapshot act on the node asked, as in etcd: ask each member.
 */
import type { FastifyInstance } from 'fastify';
import type { MaintenanceNode } from '../server/index.js';
import type { AlarmType } from '../kv/index.js';
import type { AlarmsJson, DefragmentJson, HashKvJson } from '../wire/index.js';
import { sendError, sendKvError, sendThrown } from './errors.js';

const ALARM_TYPES: readonly string[] = ['NOSPACE', 'CORRUPT'];
/** The default wait of move-leader: etcd waits up to its request timeout as well. */
const moveLeaderTimeoutMsMax = 60_000;

export function registerMaintenanceRoutes(app: FastifyInstance, node: MaintenanceNode): void {
  app.get('/admin/hash', async (request, reply) => {
    const raw = (request.query as { revision?: string }).revision ?? '0';
    const revision = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(revision))
      return sendError(reply, 400, 'BAD_REQUEST', `revision must be a non-negative integer, got ${JSON.stringify(raw)}`);
    try {
      const hashed = await node.hashKv(revision);
      if (!hashed.ok) return sendKvError(reply, hashed.error);
      return { id: node.config.id, ...hashed.value } satisfies HashKvJson;
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.get('/admin/alarms', async (): Promise<AlarmsJson> => ({ alarms: node.alarms() }));

  app.post('/admin/alarms', async (request, reply) => {
    const body = (request.body ?? {}) as { action?: unknown; memberId?: unknown; alarm?: unknown };
    if (body.action !== 'activate' && body.action !== 'deactivate') return sendError(reply, 400, 'BAD_REQUEST', 'action must be "activate" or "deactivate"');
    if (typeof body.memberId !== 'number' || !Number.isSafeInteger(body.memberId) || body.memberId < 0) {
      return sendError(reply, 400, 'BAD_REQUEST', 'memberId must be a member id (an integer >= 0)');
    }
    if (typeof body.alarm !== 'string' || !ALARM_TYPES.includes(body.alarm))
      return sendError(reply, 400, 'BAD_REQUEST', `alarm must be one of ${ALARM_TYPES.join(', ')}`);
    try {
      const result = await node.setAlarm(body.action, body.memberId, body.alarm as AlarmType);
      if (!result.ok) return sendKvError(reply, result.error);
      // `changed`: what the request raised or cleared (etcd's AlarmResponse); `alarms`: the list as it is now.
      return { revision: result.revision, changed: result.response.type === 'alarm' ? result.response.alarms : [], alarms: node.alarms() } satisfies AlarmsJson;
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.post('/admin/defragment', async (_request, reply) => {
    try {
      return { id: node.config.id, ...(await node.defragment()) } satisfies DefragmentJson;
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.get('/admin/snapshot', async (_request, reply) => {
    try {
      const { index, revision, data } = await node.snapshot();
      return reply
        .header('content-type', 'application/octet-stream')
        .header('x-keel-snapshot-index', String(index))
        .header('x-keel-revision', String(revision))
        .header('content-disposition', `attachment; filename="keel-${node.config.clusterId}-rev${revision}.snapshot"`)
        .send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (error) {
      return sendThrown(reply, error);
    }
  });

  app.post('/admin/move-leader', async (request, reply) => {
    const body = (request.body ?? {}) as { to?: unknown; timeoutMs?: unknown };
    if (typeof body.to !== 'number' || !Number.isSafeInteger(body.to) || body.to < 1)
      return sendError(reply, 400, 'BAD_REQUEST', 'body must be JSON {"to": <node id>, "timeoutMs"?: <ms>}');
    const timeoutMs = body.timeoutMs ?? node.config.requestTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > moveLeaderTimeoutMsMax) {
      return sendError(reply, 400, 'BAD_REQUEST', `timeoutMs must be an integer in 1..${moveLeaderTimeoutMsMax}`);
    }
    try {
      await node.moveLeader(body.to, timeoutMs);
      return { leader: body.to };
    } catch (error) {
      return sendThrown(reply, error);
    }
  });
}
