/**
 * An etcd snapshot made by etcd, as a Keel store: the history in its "key" bucket is
 * replayed through the store's own apply path, one transaction per revision, so every
 * revision, create revision, version and lease comes out as etcd had it, and Keel's
 * store keeps its own invariants (nothing is written around it).
 *
 * Above the compacted revision C, etcd's history is whole: each revision's changes are
 * replayed as they were (sub-revision order). At or below C, compaction left each key's
 * last version only (create revision c, mod revision m, version v). Replaying that one
 * put would give it create revision m and version 1, so its history is rebuilt: a put at
 * c, v - 2 puts at the following revisions, the last put at m (v <= m - c + 1 always
 * holds in etcd). Revisions at or below C that nothing lands on get a put of a
 * placeholder key, deleted at C. Then the store is compacted at C, which removes all of
 * that made-up history: reads at C and after see exactly etcd's data, and reads below C
 * are refused as compacted, as etcd refuses them.
 *
 * Leases come from the "lease" bucket (id, TTL); a lease that history refers to but
 * that no longer exists is granted for the replay and revoked at its end (its keys were
 * deleted in that history already, so the revoke changes nothing). etcd draws lease ids
 * at random from 63 bits; Keel's are safe integers (below 2^53), so a lease whose id is
 * past that gets a new id, the same in every record that names it.
 */
import type { BoltBucket } from '../bolt/bolt-layout.js';
import { encodeCommand } from '../codec/command.js';
import { LEASE_TTL_MAX_SECONDS } from '../validate.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { openMemoryEnv } from '../env/memory-env.js';
import type { Command, CommandBody, RequestOp } from '../types.js';
import { decodeKeyValue, decodeLease, decodeRevision, decodeU64Big, type EtcdRecord } from './etcd-records.js';
import { SnapshotFileError } from './snapshot-file-error.js';

/** The placeholder key that fills revisions at or below the compacted one that nothing else lands on. */
const PLACEHOLDER_KEY = new TextEncoder().encode('\u0000keel-import-placeholder');

interface Change {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
  readonly kv: EtcdRecord;
}

/** Keel's own snapshot of the store an etcd snapshot's buckets hold, with its revisions. */
export async function importEtcdBuckets(
  buckets: readonly BoltBucket[],
): Promise<{ readonly snapshot: Uint8Array; readonly revision: number; readonly compacted: number }> {
  const changes = keyChanges(buckets);
  const compacted = compactedRevision(buckets);
  const revision = Math.max(compacted, changes.at(-1)?.main ?? 1);
  const leases = leaseGrants(buckets, changes);
  const bodies = [
    ...leases.grants,
    ...replay(changes, compacted, revision, leases.ids),
    ...(compacted > 0 ? [{ type: 'compact' as const, revision: compacted }] : []),
    ...leases.revokes,
  ];

  // A scratch store in memory: it lives only to produce Keel's snapshot.
  const store = MvccStore.openOn(openMemoryEnv());
  try {
    const outcomes = store.applyEntries(
      bodies.map((body, i) => ({ term: 1, index: i + 1, kind: 'normal' as const, data: encodeCommand({ body } satisfies Command) })),
    );
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'applied' && !outcome.result.ok)
        throw new SnapshotFileError(
          `replaying the etcd snapshot: step ${i + 1} (${(bodies[i] as CommandBody).type}) was refused: ${outcome.result.error.message}`,
        );
    });
    if (store.currentRevision() !== revision)
      throw new SnapshotFileError(`replaying the etcd snapshot ended at revision ${store.currentRevision()}, expected ${revision}`);
    return { snapshot: store.snapshot().data, revision, compacted };
  } finally {
    await store.close();
  }
}

function keyChanges(buckets: readonly BoltBucket[]): Change[] {
  const bucket = buckets.find((b) => b.name === 'key');
  if (!bucket) throw new SnapshotFileError('this etcd snapshot has no "key" bucket: it is not the store of an etcd v3 server');
  return bucket.entries.map((entry) => {
    const revision = decodeRevision(entry.key);
    if (!revision)
      throw new SnapshotFileError(`the etcd snapshot's "key" bucket holds a record under ${Buffer.from(entry.key).toString('hex')}, which is not a revision`);
    try {
      return { ...revision, kv: decodeKeyValue(entry.value) };
    } catch (error) {
      throw new SnapshotFileError(`the etcd snapshot's record at revision ${revision.main}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

function compactedRevision(buckets: readonly BoltBucket[]): number {
  const meta = buckets.find((b) => b.name === 'meta')?.entries ?? [];
  let compacted = 0;
  for (const name of ['finishedCompactRev', 'scheduledCompactRev']) {
    const entry = meta.find((e) => Buffer.from(e.key).toString('latin1') === name);
    if (entry) compacted = Math.max(compacted, decodeRevision(entry.value)?.main ?? 0);
  }
  return compacted;
}

function leaseGrants(buckets: readonly BoltBucket[], changes: readonly Change[]): { grants: CommandBody[]; revokes: CommandBody[]; ids: LeaseIds } {
  const live = (buckets.find((b) => b.name === 'lease')?.entries ?? []).map((entry) => {
    const id = decodeU64Big(entry.key);
    if (id === undefined)
      throw new SnapshotFileError(`the etcd snapshot's "lease" bucket holds a record under ${Buffer.from(entry.key).toString('hex')}, which is not a lease id`);
    return { id, ttlSeconds: decodeLease(entry.value).ttlSeconds };
  });
  const liveIds = new Set(live.map((lease) => lease.id));
  const historical = new Set<bigint>();
  for (const change of changes) if (change.kv.lease !== 0n && !liveIds.has(change.kv.lease)) historical.add(change.kv.lease);
  const ids = new LeaseIds([...liveIds, ...historical]);
  return {
    grants: [
      ...live.map((lease) => ({ type: 'leaseGrant' as const, id: ids.of(lease.id), ttl: Math.min(lease.ttlSeconds, LEASE_TTL_MAX_SECONDS) })),
      ...[...historical].map((id) => ({ type: 'leaseGrant' as const, id: ids.of(id), ttl: LEASE_TTL_MAX_SECONDS })),
    ],
    revokes: [...historical].map((id) => ({ type: 'leaseRevoke' as const, id: ids.of(id) })),
    ids,
  };
}

/** etcd's lease ids as Keel's: the same where it is a safe integer, a new unused one where it is not. */
class LeaseIds {
  private readonly keel = new Map<bigint, number>();

  constructor(etcdIds: readonly bigint[]) {
    const taken = new Set<number>();
    for (const id of etcdIds) {
      if (id > 0n && id <= BigInt(Number.MAX_SAFE_INTEGER)) {
        this.keel.set(id, Number(id));
        taken.add(Number(id));
      }
    }
    let next = 1;
    for (const id of etcdIds) {
      if (this.keel.has(id)) continue;
      while (taken.has(next)) next++;
      this.keel.set(id, next);
      taken.add(next);
    }
  }

  of(id: bigint): number {
    if (id === 0n) return 0;
    const keel = this.keel.get(id);
    if (keel === undefined) throw new SnapshotFileError(`the etcd snapshot refers to lease ${id.toString(16)}, which it does not hold`);
    return keel;
  }
}

/** One transaction per revision from 2 to `revision` (see the header). */
function replay(changes: readonly Change[], compacted: number, revision: number, leases: LeaseIds): CommandBody[] {
  const ops = new Map<number, RequestOp[]>();
  const at = (main: number, op: RequestOp): void => {
    const list = ops.get(main);
    if (list) list.push(op);
    else ops.set(main, [op]);
  };
  const put = (kv: EtcdRecord): RequestOp => ({ type: 'put', key: kv.key, value: kv.value, lease: leases.of(kv.lease) });

  // Each key's last record at or below the compacted revision: its state there.
  const base = new Map<string, Change>();
  for (const change of changes) if (change.main <= compacted) base.set(Buffer.from(change.kv.key).toString('hex'), change);
  for (const change of base.values()) {
    if (change.tombstone) continue;
    const { createRevision: c, modRevision: m, version: v } = change.kv;
    if (m !== change.main || c < 1 || c > m || v < 1 || v > m - c + 1) {
      throw new SnapshotFileError(
        `the etcd snapshot's record of key ${JSON.stringify(Buffer.from(change.kv.key).toString())} at revision ${change.main} is inconsistent (create ${c}, mod ${m}, version ${v})`,
      );
    }
    if (v > 1) at(c, put(change.kv));
    for (let r = c + 1; r < c + v - 1; r++) at(r, put(change.kv));
    at(m, put(change.kv));
  }
  for (const change of changes) {
    if (change.main > compacted) at(change.main, change.tombstone ? { type: 'deleteRange', key: change.kv.key } : put(change.kv));
  }

  // The placeholder fills the empty revisions below C. C itself is empty when all its
  // changes were deletions (compaction removed them): then the placeholder is put just
  // before C, so that its deletion is the change at C.
  const placeholderPuts = new Set<number>();
  for (let r = 2; r < compacted; r++) if (!ops.has(r)) placeholderPuts.add(r);
  if (compacted > 2 && !ops.has(compacted)) placeholderPuts.add(compacted - 1);
  const bodies: CommandBody[] = [];
  for (let r = 2; r <= revision; r++) {
    const list = [...(ops.get(r) ?? [])];
    if (placeholderPuts.has(r)) list.push({ type: 'put', key: PLACEHOLDER_KEY, value: new Uint8Array(0), lease: 0 });
    if (r === compacted && placeholderPuts.size > 0) list.push({ type: 'deleteRange', key: PLACEHOLDER_KEY });
    if (list.length === 0)
      throw new SnapshotFileError(`the etcd snapshot has no change at revision ${r}, above its compacted revision ${compacted}: its history is not whole`);
    bodies.push({ type: 'txn', compare: [], success: list, failure: [] });
  }
  return bodies;
}
