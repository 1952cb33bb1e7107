import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandBody, CommandResult, Lease } from '../kv/types.js';
import { Lessor } from './lessor.js';
import { NodeLeases } from './node-leases.js';
import type { LeaseHost, ReadConsistency } from './node-leases.js';

/** A host whose clock, role and ReadIndex the test drives; records what it proposes. */
function hostWith(leases: readonly Lease[]) {
  const lessor = new Lessor(5_000);
  lessor.reset(leases, 0);
  const state = {
    nowMs: 0,
    leader: true,
    /** What the leader answers a follower's forwarded keep-alive (lease-forwarding.ts): undefined, not renewed. */
    renewedAtLeader: undefined as number | undefined,
    proposed: [] as CommandBody[],
    /** What each renewal waited on: a read barrier, or leadership since an arrival (Replica.leadershipSince). */
    barriers: [] as { waitedFor: ReadConsistency | { leadershipSinceMs: number }; release: () => void }[],
  };
  const host: LeaseHost = {
    write: async (body: CommandBody): Promise<CommandResult> => {
      state.proposed.push(body);
      return { ok: true, revision: 9, response: { type: 'leaseKeepAlive', id: 1, ttl: 10 } };
    },
    readBarrier: (consistency) => new Promise<void>((resolve) => state.barriers.push({ waitedFor: consistency, release: resolve })),
    leadershipSince: (arrivedMs) => new Promise<void>((resolve) => state.barriers.push({ waitedFor: { leadershipSinceMs: arrivedMs }, release: resolve })),
    store: { leaseInfo: () => undefined, leases: () => [...leases], leaseCount: () => leases.length, currentRevision: () => 7 },
    lessor,
    isLeader: () => state.leader,
    renewAtLeader: async () => state.renewedAtLeader,
    nowMs: () => state.nowMs,
    randomInt: () => 0,
  };
  return { state, lessor, leases: new NodeLeases(host, { ttlMinSeconds: 2, leasesMax: 10 }) };
}

const lease: Lease = { id: 1, ttl: 10, renewedIndex: 1 };

test('a keep-alive on the leader renews in memory once it is known to have led at its arrival, dated from then, with no log entry', async () => {
  const { state, lessor, leases } = hostWith([lease]);
  state.nowMs = 4_000;
  const answer = leases.keepAlive(1);
  state.nowMs = 4_500;
  assert.equal(state.barriers.length, 1);
  assert.deepEqual(state.barriers[0]?.waitedFor, { leadershipSinceMs: 4_000 }, 'leadership must be known at the arrival');
  assert.deepEqual(
    lessor.takeExpired(13_999, 10).map((e) => e.id),
    [1],
    'not renewed before leadership is confirmed',
  );
  lessor.renewed(lease, 0);
  state.barriers[0]?.release();
  assert.deepEqual(await answer, { ok: true, revision: 7, response: { type: 'leaseKeepAlive', id: 1, ttl: 10 } });
  assert.deepEqual(state.proposed, []);
  assert.deepEqual(lessor.takeExpired(13_999, 10), [], 'alive for a TTL from the arrival');
  assert.deepEqual(
    lessor.takeExpired(14_000, 10).map((e) => e.id),
    [1],
    'not from the answer (4.5 s)',
  );
});

test('a keep-alive on a follower is renewed by the leader, with no log entry', async () => {
  const follower = hostWith([lease]);
  follower.state.leader = false;
  follower.state.renewedAtLeader = 10;
  assert.deepEqual(await follower.leases.keepAlive(1), { ok: true, revision: 7, response: { type: 'leaseKeepAlive', id: 1, ttl: 10 } });
  assert.deepEqual([follower.state.proposed, follower.state.barriers.length], [[], 0]);
});

test('a keep-alive goes through the log on a follower the leader did not renew it for, with a session, after losing leadership, or with an expiry on its way', async () => {
  const follower = hostWith([lease]);
  follower.state.leader = false;
  await follower.leases.keepAlive(1);
  assert.deepEqual([follower.state.proposed, follower.state.barriers.length], [[{ type: 'leaseKeepAlive', id: 1 }], 0]);

  const withSession = hostWith([lease]);
  await withSession.leases.keepAlive(1, { clientId: 'c', seq: 1 });
  assert.deepEqual(withSession.state.proposed, [{ type: 'leaseKeepAlive', id: 1 }], 'the session table must see its sequence number');

  const deposed = hostWith([lease]);
  const answer = deposed.leases.keepAlive(1);
  deposed.state.leader = false;
  deposed.state.barriers[0]?.release();
  await answer;
  assert.deepEqual(deposed.state.proposed, [{ type: 'leaseKeepAlive', id: 1 }]);

  const expiring = hostWith([{ id: 1, ttl: 2, renewedIndex: 1 }]);
  assert.equal(expiring.lessor.takeExpired(2_000, 10).length, 1);
  expiring.state.nowMs = 2_100;
  const late = expiring.leases.keepAlive(1);
  expiring.state.barriers[0]?.release();
  await late;
  assert.deepEqual(expiring.state.proposed, [{ type: 'leaseKeepAlive', id: 1 }], 'the log orders it against the revoke');

  const unknown = hostWith([]);
  const missing = unknown.leases.keepAlive(5);
  unknown.state.barriers[0]?.release();
  await missing;
  assert.deepEqual(unknown.state.proposed, [{ type: 'leaseKeepAlive', id: 5 }], 'the store answers LEASE_NOT_FOUND');
});
