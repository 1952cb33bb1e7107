/**
 * Membership changes on a cluster of real `keel start` processes: a 3-node cluster
 * grows to 4 through a learner that catches up by snapshot and is promoted, loses
 * another member, keeps serving, and every remaining node agrees on the member list;
 * the removed node stops by itself; etcd's refusals (member not found, ID removed,
 * peer URL exists, not a learner, not enough started members) come back as such.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { describe, errorCode, http } from '../harness/http.js';
import type { HttpAnswer, HttpOptions } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

const testTimeoutMs = 90_000;

interface MemberJson {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: string[];
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

/** A membership request, sent again while the answer is a 503 (a change pending, a leader change). */
async function memberRequest(url: string, options: HttpOptions): Promise<HttpAnswer> {
  return waitFor(
    async () => {
      const answer = await http(url, options);
      return answer.status === 503 ? undefined : answer;
    },
    { timeoutMs: 20_000, what: `${options.method ?? 'GET'} ${url} to answer other than 503` },
  );
}

async function members(cluster: Cluster, id: number): Promise<{ members: MemberJson[]; removed: number[] }> {
  const answer = await http(`${cluster.url(id)}/members`);
  assert.equal(answer.status, 200, describe(answer));
  return answer.body as { members: MemberJson[]; removed: number[] };
}

async function put(url: string, key: string, value: string): Promise<void> {
  const answer = await memberRequest(`${url}/kv/${key}`, { method: 'PUT', body: value });
  assert.equal(answer.status, 200, `PUT ${key}: ${describe(answer)}`);
}

async function getSerializable(url: string, key: string): Promise<string | undefined> {
  const answer = await http(`${url}/kv/${key}?consistency=serializable`);
  return answer.status === 200 ? (answer.body as { value: string }).value : undefined;
}

test('a learner joins by snapshot, is promoted, another member is removed, and the cluster agrees', { timeout: testTimeoutMs }, async () => {
  await withCluster({ size: 3, snapshotEveryEntries: 20, snapshotCatchUpEntries: 5, snapshotLogPercent: 0 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader.id) as number;

    // Add through a follower: it forwards to the leader. The id is chosen: max + 1.
    const joining = await cluster.addNode(4);
    const added = await memberRequest(`${cluster.url(follower)}/members`, { method: 'POST', body: { peerUrls: [joining.peerUrl], isLearner: true } });
    assert.equal(added.status, 201, describe(added));
    const addedBody = added.body as { member: MemberJson; members: MemberJson[] };
    assert.equal(addedBody.member.id, 4);
    assert.equal(addedBody.member.isLearner, true);
    assert.deepEqual(
      addedBody.members.map((m) => m.id),
      [1, 2, 3, 4],
    );

    // Enough writes that the log is compacted: the new node must catch up by snapshot,
    // which must carry the member list.
    for (let i = 0; i < 40; i++) await put(cluster.url(leader.id), `before/${i}`, `v${i}`);
    await cluster.startNode(4);
    await waitFor(async () => (await getSerializable(joining.url, 'before/39')) === 'v39', {
      timeoutMs: 20_000,
      what: 'the learner to hold the writes made before it started',
      explain: () => cluster.describe(),
    });
    // It published its own name and client URL through the log.
    await waitFor(
      async () => {
        const list = await members(cluster, leader.id);
        const record = list.members.find((m) => m.id === 4);
        return record?.name === 'node4' && record.clientUrls[0] === joining.url;
      },
      { timeoutMs: 10_000, what: 'node 4 to publish its client URL' },
    );
    const learnerStatus = (await http(`${joining.url}/status`)).body as { learners: number[]; voters: number[] };
    assert.deepEqual(learnerStatus.learners, [4]);

    // Refusals, as etcd's clients expect them.
    const promoteVoter = await memberRequest(`${cluster.url(leader.id)}/members/${follower}/promote`, { method: 'POST' });
    assert.equal(errorCode(promoteVoter), 'NOT_A_LEARNER', describe(promoteVoter));
    const sameUrl = await memberRequest(`${cluster.url(leader.id)}/members`, { method: 'POST', body: { peerUrls: [joining.peerUrl], isLearner: true } });
    assert.equal(errorCode(sameUrl), 'PEER_URL_EXISTS', describe(sameUrl));
    assert.equal(sameUrl.status, 409);
    const missing = await memberRequest(`${cluster.url(leader.id)}/members/99`, { method: 'DELETE' });
    assert.equal(errorCode(missing), 'MEMBER_NOT_FOUND', describe(missing));
    assert.equal(missing.status, 404);

    // Promote once it is in sync (etcd refuses a learner that lags; wait for it).
    const promoted = await waitFor(
      async () => {
        const answer = await memberRequest(`${cluster.url(follower)}/members/4/promote`, { method: 'POST' });
        return errorCode(answer) === 'LEARNER_NOT_READY' ? undefined : answer;
      },
      { timeoutMs: 20_000, what: 'the learner to be promoted' },
    );
    assert.equal(promoted.status, 200, describe(promoted));
    assert.equal((promoted.body as { member: MemberJson }).member.isLearner, false);
    await put(joining.url, 'after-promote', 'yes');

    // Remove a member other than the leader and the new one; it stops by itself.
    const victim = [1, 2, 3].find((id) => id !== leader.id && id !== follower) as number;
    const exited = cluster.expectExit(victim);
    const removed = await memberRequest(`${cluster.url(leader.id)}/members/${victim}`, { method: 'DELETE' });
    assert.equal(removed.status, 200, describe(removed));
    const exit = await exited;
    assert.equal(exit.code, 0, `the removed node exits cleanly, got ${exit.signal ?? exit.code}`);
    const again = await memberRequest(`${cluster.url(leader.id)}/members/${victim}`, { method: 'DELETE' });
    assert.equal(errorCode(again), 'ID_REMOVED', describe(again));
    // Started again on its old data, the removed node stops by itself: its id is gone for good.
    const restarted = await cluster.startNodeExpectingExit(victim);
    assert.equal(restarted.code, 0, `a removed node started again exits cleanly, got ${restarted.signal ?? restarted.code}`);

    // The cluster keeps serving, and every remaining node agrees.
    await put(cluster.url(follower), 'after-remove', 'still');
    await cluster.waitForConverged(15_000);
    const remaining = cluster.runningIds();
    assert.deepEqual(remaining.sort(), [leader.id, follower, 4].sort());
    const lists = await Promise.all(remaining.map((id) => members(cluster, id)));
    for (const list of lists) {
      assert.deepEqual(list, lists[0]);
      assert.deepEqual(list.removed, [victim]);
      assert.deepEqual(
        list.members.map((m) => [m.id, m.isLearner]),
        remaining.sort().map((id) => [id, false]),
      );
    }
    for (const id of remaining) {
      const status = (await http(`${cluster.url(id)}/status`)).body as { voters: number[]; learners: number[] };
      assert.deepEqual(status.voters, remaining.sort());
      assert.deepEqual(status.learners, []);
      assert.equal(await getSerializable(cluster.url(id), 'after-remove'), 'still');
    }

    // A restarted member still knows every member (from its store, not its flags).
    await cluster.restart(4, 'stop');
    await cluster.waitForLeader();
    assert.deepEqual(await members(cluster, 4), lists[0]);
  });
});

test('the JSON gateway adds and removes a learner; changes that would leave too few started voters are refused', { timeout: testTimeoutMs }, async () => {
  await withCluster({ size: 3 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const [other, down] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];

    // etcd's JSON gateway: add a learner and remove it again, ids as strings.
    const gateway = cluster.url(other);
    const added = await memberRequest(`${gateway}/v3/cluster/member/add`, { method: 'POST', body: { peerURLs: ['http://127.0.0.1:1'], isLearner: true } });
    assert.equal(added.status, 200, describe(added));
    assert.equal((added.body as { member: { ID: string; isLearner: boolean } }).member.ID, '4');
    const removed = await memberRequest(`${gateway}/v3/cluster/member/remove`, { method: 'POST', body: { ID: '4' } });
    assert.equal(removed.status, 200, describe(removed));
    assert.deepEqual(
      (removed.body as { members: { ID: string }[] }).members.map((m) => m.ID),
      ['1', '2', '3'],
    );
    const again = await memberRequest(`${gateway}/v3/cluster/member/remove`, { method: 'POST', body: { ID: '4' } });
    assert.equal(again.status, 404, describe(again));
    assert.equal((again.body as { message: string }).message, 'etcdserver: ID removed');

    await cluster.kill(down);
    // The strict check counts the voters the leader's transport is connected to (as
    // etcd counts recently active members): a voter killed an instant ago still counts,
    // and a removal asked for then would be accepted and leave {leader, down} without a
    // quorum. So first wait until the leader has seen the connection to it drop.
    await waitFor(
      async () => {
        const stats = (await http(`${cluster.url(leader.id)}/stats`)).body as { transport: { peers: { id: number; connected: boolean }[] } };
        return stats.transport.peers.some((p) => p.id === down && !p.connected);
      },
      { timeoutMs: 10_000, what: `the leader to see its connection to node ${down} drop` },
    );
    // With one voter of three down, removing another leaves {leader, down}: one started of two.
    const refused = await waitFor(
      async () => {
        const answer = await memberRequest(`${cluster.url(leader.id)}/members/${other}`, { method: 'DELETE' });
        assert.notEqual(answer.status, 200, `removing node ${other} must be refused: ${describe(answer)}`);
        return errorCode(answer) === 'NOT_ENOUGH_STARTED' ? answer : undefined;
      },
      { timeoutMs: 10_000, what: 'the leader to notice the dead voter and refuse' },
    );
    assert.equal(refused.status, 412);
    // Adding a voter: four voters need three started; two are.
    const add = await memberRequest(`${cluster.url(leader.id)}/members`, { method: 'POST', body: { peerUrls: ['http://127.0.0.1:1'], isLearner: false } });
    assert.equal(errorCode(add), 'NOT_ENOUGH_STARTED', describe(add));
    // Nothing changed.
    const list = (await http(`${cluster.url(leader.id)}/members`)).body as { members: MemberJson[] };
    assert.deepEqual(
      list.members.map((m) => m.id),
      [1, 2, 3],
    );
  });
});

test('removing the leader: it answers, steps down and stops; the others elect a leader and agree', { timeout: testTimeoutMs }, async () => {
  await withCluster({ size: 3 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader.id) as number;
    await put(cluster.url(follower), 'before', '1');
    const exited = cluster.expectExit(leader.id);
    const removed = await memberRequest(`${cluster.url(follower)}/members/${leader.id}`, { method: 'DELETE' });
    assert.equal(removed.status, 200, describe(removed));
    assert.equal((await exited).code, 0);
    const next = await cluster.waitForLeader({ termAbove: leader.term, timeoutMs: 15_000 });
    assert.notEqual(next.id, leader.id);
    await put(cluster.url(follower), 'after', '2');
    await cluster.waitForConverged(15_000);
    const remaining = cluster.runningIds().sort();
    for (const id of remaining) {
      const list = await members(cluster, id);
      assert.deepEqual(
        list.members.map((m) => m.id),
        remaining,
      );
      assert.deepEqual(list.removed, [leader.id]);
      assert.equal(await getSerializable(cluster.url(id), 'after'), '2');
    }
  });
});
