/**
 * A leader whose event loop is held by one long apply keeps its followers: deleting
 * 100,000 keys in one request takes longer than the longest election timeout, and
 * the leader's heartbeats, sent from inside the apply, keep the followers from
 * electing another leader (replica.ts, applyPulse). Without them, every run of this
 * test ends in a new term.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster } from '../harness/cluster-harness.js';
import { describe, http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

const keys = 100_000;
/** etcd's max-txn-ops: the fill's puts go 128 to a transaction. */
const putsPerTxn = 128;
const writers = 4;
const tickMs = 25;
const electionTicks = 10;
/** A follower's election timeout is randomized in [electionTicks, 2 * electionTicks) ticks. */
const longestElectionTimeoutMs = 2 * electionTicks * tickMs;

const base64 = (text: string): string => Buffer.from(text).toString('base64');
const keyName = (i: number): string => `big/${String(i).padStart(6, '0')}`;

/** The event-loop delays a node logged since it started ("a tick ran late"), in ms. */
function lateTicks(log: string): number[] {
  return log
    .split('\n')
    .filter((line) => line.includes('"lateMs"'))
    .map((line) => (JSON.parse(line) as { lateMs: number }).lateMs);
}

test('a leader held for longer than an election timeout by a delete of 100,000 keys keeps its followers', { timeout: 180_000 }, async () => {
  await withCluster({ tickMs, electionTicks, requestTimeoutMs: 60_000 }, async (cluster) => {
    const { id: leaderId } = await cluster.waitForLeader();
    const url = cluster.url(leaderId);
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next < keys) {
          const first = next;
          next = Math.min(keys, next + putsPerTxn);
          const success = [];
          for (let i = first; i < next; i++) success.push({ request_put: { key: base64(keyName(i)), value: base64('v') } });
          const answer = await http(`${url}/v3/kv/txn`, { method: 'POST', body: { success }, timeoutMs: 60_000 });
          assert.equal(answer.status, 200, `txn from key ${first}: ${describe(answer)}`);
        }
      }),
    );
    // The fill itself may have seen an election on a busy machine: what counts is from here on.
    const { id: leader, term } = await cluster.waitForLeader();
    const lateBefore = lateTicks(cluster.node(leader).logSinceStart()).length;

    const deleted = await http(`${cluster.url(leader)}/v3/kv/deleterange`, {
      method: 'POST',
      body: { key: base64('big/'), range_end: base64('big0') },
      timeoutMs: 60_000,
    });
    assert.equal(deleted.status, 200, describe(deleted));
    assert.equal((deleted.body as { deleted?: string }).deleted, String(keys), describe(deleted));

    // The premise: the apply held the leader's loop longer than any follower waits for a
    // heartbeat (a late tick is logged at the tick after it).
    const held = (): number[] => lateTicks(cluster.node(leader).logSinceStart()).slice(lateBefore);
    await waitFor(async () => held().some((ms) => ms > longestElectionTimeoutMs), {
      timeoutMs: 10_000,
      what: `a late tick of node ${leader} over ${longestElectionTimeoutMs} ms, logged after the delete held its event loop`,
      explain: async () => `its late ticks since the fill: ${JSON.stringify(held())}`,
    });
    await cluster.waitForCaughtUp([1, 2, 3], 60_000);
    const statuses = await cluster.statuses([1, 2, 3]);
    for (const [id, status] of statuses) {
      assert.equal(status.term, term, `node ${id} is still in term ${term}: no election while the leader applied the delete`);
      assert.equal(status.leader, leader, `node ${id} follows node ${leader}`);
    }
  });
});
