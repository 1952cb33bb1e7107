/**
 * etcd's Maintenance service: Status, HashKV, Hash, Alarm, Defragment, MoveLeader and
 * the Snapshot stream. Status, hashes, defragmentation and snapshots are about the
 * member asked (as in etcd: ask each one); alarms are cluster state, changed through
 * the log; MoveLeader must reach the leader (etcdctl move-leader finds it by Status).
 */
import { status as grpcStatus } from './status.js';
import { createHash } from 'node:crypto';
import { type MaintenanceNode, ETCD_API_VERSION, NEEDS_ANYONE, NEEDS_ROOT } from '../../server/index.js';
import type { AlarmMember, AlarmType } from '../../kv/index.js';
import type { Message } from './convert.js';
import { GrpcError, kvErrorToGrpc, toGrpcError } from './errors.js';
import { responseHeader } from './header.js';
import { revisionOrZero, safeInteger } from './int64.js';
import type { EtcdService } from './service.js';
import type { ServerCall } from './server-call.js';

/** etcd streams snapshots in 32 KiB pieces. */
const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

const alarmMessage = (a: AlarmMember): Message => ({ memberID: String(a.memberId), alarm: a.alarm });

/** etcd's text for an active alarm in StatusResponse.errors. */
const alarmText = (a: AlarmMember): string => `memberID:${a.memberId} alarm:${a.alarm} `;

export function maintenanceService(node: MaintenanceNode): EtcdService {
  return {
    name: 'Maintenance',
    unary: {
      Status: {
        need: () => NEEDS_ANYONE,
        gatewayPaths: ['/v3/maintenance/status'],
        handle: async () => {
          const s = node.status();
          const sizes = node.storageSizes();
          return {
            header: responseHeader(node),
            version: ETCD_API_VERSION,
            dbSize: sizes.dbSize,
            leader: String(s.leader),
            raftIndex: s.commit,
            raftTerm: s.term,
            raftAppliedIndex: s.applied,
            errors: s.alarms.map(alarmText),
            dbSizeInUse: sizes.dbSizeInUse,
            isLearner: s.isLearner,
            dbSizeQuota: sizes.quotaBackendBytes,
          };
        },
      },
      HashKV: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/maintenance/hashkv'],
        handle: async (request) => {
          const hashed = await node.hashKv(revisionOrZero(request.revision ?? 0, 'revision'));
          if (!hashed.ok) throw kvErrorToGrpc(hashed.error);
          const { hash, revision, compactRevision, currentRevision } = hashed.value;
          return { header: responseHeader(node, currentRevision), hash, compact_revision: compactRevision, hash_revision: revision };
        },
      },
      Hash: {
        need: () => NEEDS_ROOT,
        // etcd's Hash covers its whole backend, meta included, so it differs between
        // members at one revision; ours covers every table of the store (the first 4
        // bytes of a SHA-256 over the snapshot's bytes), applied index and sessions too.
        gatewayPaths: ['/v3/maintenance/hash'],
        handle: async () => {
          const { revision, data } = await node.snapshot();
          return { header: responseHeader(node, revision), hash: createHash('sha256').update(data).digest().readUInt32BE(0) };
        },
      },
      Alarm: {
        need: (request) => ((request.action ?? 'GET') === 'GET' ? NEEDS_ANYONE : NEEDS_ROOT),
        gatewayPaths: ['/v3/maintenance/alarm'],
        handle: async (request) => {
          const action = request.action ?? 'GET';
          const alarm = request.alarm ?? 'NONE';
          if (action === 'GET') {
            const all = node.alarms();
            return { header: responseHeader(node), alarms: (alarm === 'NONE' ? all : all.filter((a) => a.alarm === alarm)).map(alarmMessage) };
          }
          if (alarm !== 'NOSPACE' && alarm !== 'CORRUPT')
            throw new GrpcError(grpcStatus.INVALID_ARGUMENT, `etcdserver: alarm type ${String(alarm)} cannot be ${String(action).toLowerCase()}d`);
          const memberId = safeInteger(request.memberID ?? '0', 'memberID');
          const result = await node.setAlarm(action === 'ACTIVATE' ? 'activate' : 'deactivate', memberId, alarm as AlarmType);
          if (!result.ok) throw kvErrorToGrpc(result.error);
          const changed = result.response.type === 'alarm' ? result.response.alarms : [];
          return { header: responseHeader(node, result.revision), alarms: changed.map(alarmMessage) };
        },
      },
      Defragment: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/maintenance/defragment'],
        handle: async () => {
          await node.defragment();
          return { header: responseHeader(node) };
        },
      },
      MoveLeader: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/maintenance/transfer-leadership'],
        handle: async (request) => {
          await node.moveLeader(safeInteger(request.targetID ?? '0', 'targetID'), node.config.requestTimeoutMs);
          return { header: responseHeader(node) };
        },
      },
    },
    streaming: {
      Snapshot: (call) => {
        streamSnapshot(node, call).catch((error: unknown) => call.fail(toGrpcError(error)));
      },
    },
  };
}

/**
 * The store as an etcd snapshot (a bolt file and its SHA-256, kv/etcd-snapshot/), in
 * pieces, each with the bytes still to come: etcd's tools read it, and `keel snapshot
 * restore` takes it back whole. Waits for the client when its buffer is full.
 */
async function streamSnapshot(node: MaintenanceNode, call: ServerCall): Promise<void> {
  await node.auth.authorize(call.credentials(), NEEDS_ROOT);
  const { revision, data } = await node.etcdSnapshot();
  const header = responseHeader(node, revision);
  for (let offset = 0; offset < data.length; offset += SNAPSHOT_CHUNK_BYTES) {
    if (call.cancelled) return;
    const blob = Buffer.from(data.buffer, data.byteOffset + offset, Math.min(SNAPSHOT_CHUNK_BYTES, data.length - offset));
    const remaining = data.length - offset - blob.length;
    const more = call.write({ header, remaining_bytes: remaining, blob, version: ETCD_API_VERSION });
    if (!more) await call.drained();
  }
  call.end();
}
