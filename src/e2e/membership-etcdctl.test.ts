/**
 * Debian's etcdctl changes the membership of a Keel cluster over the etcd v3 gRPC API:
 * member list, add (a learner), promote, remove, each a real Raft membership change,
 * and etcd's error messages for the refusals etcdctl users know.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster } from '../harness/cluster-harness.js';
import { etcdctl, ensureEtcdctl } from './etcdctl.js';
import type { EtcdctlResult } from './etcdctl.js';
import { waitFor } from '../harness/wait-for.js';

const testTimeoutMs = 120_000;

interface ListedMember {
  readonly ID: number | string;
  readonly name?: string;
  readonly peerURLs: string[];
  readonly clientURLs?: string[];
  readonly isLearner?: boolean;
}

function ok(result: EtcdctlResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

async function memberList(endpoint: string): Promise<ListedMember[]> {
  const out = ok(await etcdctl(endpoint, ['member', 'list', '-w', 'json']), 'member list');
  return (JSON.parse(out) as { members: ListedMember[] }).members;
}

test('etcdctl member list, add --learner, promote and remove change a Keel cluster, with etcd errors', { timeout: testTimeoutMs }, async () => {
  await ensureEtcdctl();
  await withCluster({ size: 3 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader.id) as number;
    const endpoint = cluster.node(follower).grpcEndpoint;

    const initial = await memberList(endpoint);
    assert.deepEqual(
      initial.map((m) => Number(m.ID)),
      [1, 2, 3],
    );
    for (const m of initial) assert.deepEqual(m.clientURLs, [`http://${cluster.node(Number(m.ID)).grpcEndpoint}`]);

    // Add a learner through a follower; etcdctl prints the id in hex.
    const joining = await cluster.addNode(4);
    const added = ok(await etcdctl(endpoint, ['member', 'add', 'node4', `--peer-urls=${joining.peerUrl}`, '--learner']), 'member add');
    assert.match(added, /Member\s+4 added to cluster/);
    await cluster.startNode(4);

    const promoted = await waitFor(
      async () => {
        const result = await etcdctl(endpoint, ['member', 'promote', '4']);
        if (result.stderr.includes('in sync with leader')) return undefined;
        return result;
      },
      { timeoutMs: 20_000, what: 'etcdctl member promote 4 to succeed once the learner is in sync' },
    );
    assert.match(ok(promoted, 'member promote'), /Member\s+4 promoted in cluster/);
    ok(await etcdctl(joining.grpcEndpoint, ['put', 'grown', 'yes']), 'put through the promoted member');

    const listed = await memberList(joining.grpcEndpoint);
    assert.deepEqual(
      listed.map((m) => [Number(m.ID), m.isLearner ?? false]),
      [
        [1, false],
        [2, false],
        [3, false],
        [4, false],
      ],
    );
    assert.equal(listed.find((m) => Number(m.ID) === 4)?.name, 'node4', 'the new member published its name');

    // etcd's refusals.
    const victim = [1, 2, 3].find((id) => id !== leader.id && id !== follower) as number;
    const sameUrl = await etcdctl(endpoint, ['member', 'add', 'again', `--peer-urls=${joining.peerUrl}`]);
    assert.notEqual(sameUrl.code, 0);
    assert.match(sameUrl.stderr, /etcdserver: Peer URLs already exists/);
    const missing = await etcdctl(endpoint, ['member', 'remove', '63']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /etcdserver: member not found/);
    const notLearner = await etcdctl(endpoint, ['member', 'promote', String(victim)]);
    assert.notEqual(notLearner.code, 0);
    assert.match(notLearner.stderr, /etcdserver: can only promote a learner member/);

    // Remove a member: it stops by itself, the others carry on.
    const exited = cluster.expectExit(victim);
    const removed = ok(await etcdctl(endpoint, ['member', 'remove', victim.toString(16)]), 'member remove');
    assert.match(removed, new RegExp(`Member\\s+${victim.toString(16)} removed from cluster`));
    assert.equal((await exited).code, 0);
    const again = await etcdctl(endpoint, ['member', 'remove', victim.toString(16)]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /etcdserver: ID removed/);

    ok(await etcdctl(endpoint, ['put', 'shrunk', 'yes']), 'put after the removal');
    await cluster.waitForConverged(15_000);
    const remaining = cluster.runningIds().sort();
    for (const id of remaining) {
      const list = await memberList(cluster.node(id).grpcEndpoint);
      assert.deepEqual(
        list.map((m) => Number(m.ID)),
        remaining,
        `node ${id} lists the same members`,
      );
      const got = ok(await etcdctl(cluster.node(id).grpcEndpoint, ['get', 'shrunk', '--consistency=s']), 'serializable get');
      assert.equal(got, 'shrunk\nyes\n');
    }
  });
});
