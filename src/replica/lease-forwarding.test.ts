/**
 * A follower's keep-alive renewed at the leader: the two sides wired to each other by
 * hand, each message delivered when the test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../raft/index.js';
import { Lessor } from './lessor.js';
import { LeaseForwarding, leaseRenewalsWaitingMax } from './lease-forwarding.js';
import { NodeLeases } from './node-leases.js';

const waitMs = 1_000;

function pair() {
  const clock = { nowMs: 0 };
  const sent: Message[] = [];
  const leaderState = { leader: true, barriers: [] as { resolve: () => void; reject: (error: Error) => void }[] };
  const lessor = new Lessor(5_000);
  lessor.reset([{ id: 7, ttl: 10, renewedIndex: 1 }], 0);
  /** A node's leases, with the confirmations of leadership the test releases or fails. */
  const leasesOf = (isLeader: () => boolean): NodeLeases =>
    new NodeLeases(
      {
        write: () => Promise.reject(new Error('no log here')),
        readBarrier: () => Promise.reject(new Error('a renewal waits on leadership, not on a read')),
        leadershipSince: () => new Promise<void>((resolve, reject) => leaderState.barriers.push({ resolve, reject })),
        store: { leaseInfo: () => undefined, leases: () => [], leaseCount: () => 0, currentRevision: () => 0 },
        lessor,
        isLeader,
        renewAtLeader: () => Promise.resolve(undefined),
        nowMs: () => clock.nowMs,
        randomInt: () => 0,
      },
      { ttlMinSeconds: 1, leasesMax: 10 },
    );
  const side = (id: number, leases: NodeLeases) =>
    new LeaseForwarding({
      id,
      leader: () => 1,
      send: (message) => sent.push(message),
      renewOnLeader: (lease, arrivedMs) => leases.renewOnLeader(lease, arrivedMs),
      nowMs: () => clock.nowMs,
      waitMs,
    });
  const leader = side(
    1,
    leasesOf(() => leaderState.leader),
  );
  const follower = side(
    2,
    leasesOf(() => false),
  );
  /** Delivers every message sent so far to its side. */
  const deliver = (): void => {
    for (const message of sent.splice(0)) {
      if (message.type !== 'leaseRenew' && message.type !== 'leaseRenewResponse') throw new Error(`unexpected ${message.type}`);
      (message.to === 1 ? leader : follower).receive(message);
    }
  };
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { clock, sent, leaderState, lessor, leader, follower, deliver, settled };
}

test("the leader renews a follower's keep-alive once it knows it led at the request's arrival, dated from then", async () => {
  const { clock, sent, leaderState, lessor, follower, deliver, settled } = pair();
  clock.nowMs = 4_000;
  const answer = follower.renewAtLeader(7);
  assert.deepEqual(sent, [{ type: 'leaseRenew', from: 2, to: 1, term: 0, renewId: '1', lease: 7 }]);
  deliver();
  clock.nowMs = 4_500;
  assert.equal(leaderState.barriers.length, 1, 'the leader confirms its leadership first');
  assert.deepEqual(sent, [], 'no answer before leadership is confirmed');
  leaderState.barriers[0]?.resolve();
  await settled();
  const response = (sent as Message[])[0];
  assert.ok(response?.type === 'leaseRenewResponse');
  follower.receive({ ...response, from: 3, ttl: 99 }); // not the leader asked: ignored
  deliver();
  assert.equal(await answer, 10);
  assert.deepEqual(lessor.takeExpired(13_999, 10), [], 'alive for a TTL from the arrival at the leader');
  assert.deepEqual(
    lessor.takeExpired(14_000, 10).map((lease) => lease.id),
    [7],
  );
});

test('a deposed leader, an unknown lease or a failed round answer 0: the follower goes through the log', async () => {
  for (const what of ['not leader', 'deposed', 'unknown lease', 'failed round'] as const) {
    const { leaderState, follower, deliver, settled } = pair();
    const answer = follower.renewAtLeader(what === 'unknown lease' ? 8 : 7);
    if (what === 'not leader') leaderState.leader = false;
    deliver();
    if (what === 'deposed') leaderState.leader = false;
    const round = leaderState.barriers[0];
    if (what === 'failed round') round?.reject(new Error('leadership lost'));
    else round?.resolve();
    await settled();
    deliver();
    assert.equal(await answer, undefined, what);
  }
});

test('no answer within the wait, a changed leader or too many waiting: the keep-alive goes through the log; a late answer is dropped', async () => {
  const { clock, sent, leaderState, follower, deliver, settled } = pair();
  const late = follower.renewAtLeader(7);
  deliver();
  clock.nowMs = waitMs - 1;
  follower.expire(clock.nowMs);
  clock.nowMs = waitMs;
  follower.expire(clock.nowMs);
  assert.equal(await late, undefined, 'given up after the wait');
  leaderState.barriers[0]?.resolve();
  await settled();
  deliver(); // the answer arrives late and is dropped

  const abandoned = follower.renewAtLeader(7);
  follower.abandon();
  assert.equal(await abandoned, undefined);

  sent.length = 0;
  const waiting = Array.from({ length: leaseRenewalsWaitingMax }, () => follower.renewAtLeader(7));
  assert.equal(await follower.renewAtLeader(7), undefined, 'one more than the bound is not sent');
  assert.equal(sent.length, leaseRenewalsWaitingMax);
  follower.abandon();
  assert.deepEqual(new Set(await Promise.all(waiting)), new Set([undefined]));
});
