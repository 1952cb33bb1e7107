/**
 * A whole cluster killed with kill -9 while a snapshot was due comes back, and taking
 * that snapshot does not stop its nodes. The case behind it: a cluster with a few
 * hundred MB of data, killed during an automatic snapshot, restarted with the snapshot
 * still due; each node copied the whole store on the event loop at its first Ready, for
 * longer than the election timeout, and the three sat pre-candidate past `keel cluster
 * up`'s deadline. Here the snapshot is made due at restart deterministically: the
 * nodes first run with the default interval (10,000 entries) and restart with a
 * smaller one than their log already holds.
 *
 * Real processes (cluster-harness.ts), the etcd gRPC API, production timing (100 ms
 * ticks, 1 s election timeout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

const tickMs = 100;
const electionTicks = 10;
const electionTimeoutMs = tickMs * electionTicks;
/** 1,000 values of 48 KiB: a store of about 50 MB, a snapshot of as much. */
const keyCount = 1_000;
const valueBytes = 48 * 1024;
const snapshotEveryEntriesAtRestart = 500;

async function fill(cluster: Cluster): Promise<void> {
  const clients = cluster.nodes.map((n) => new EtcdGrpcClient(n.grpcEndpoint, 10_000));
  try {
    const value = randomBytes(valueBytes);
    for (let i = 0; i < keyCount; i += 32) {
      await Promise.all(Array.from({ length: 32 }, (_, j) => (clients[j % clients.length] as EtcdGrpcClient).put(`fill/${i + j}`, value)));
    }
  } finally {
    for (const client of clients) client.close();
  }
}

async function metric(cluster: Cluster, id: number, name: string): Promise<number> {
  const answer = await http(`${cluster.url(id)}/metrics`, { fetch: cluster.fetch });
  const text = String(answer.body);
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `node ${id} reports ${name}`);
  return Number(match[1]);
}

test('a whole cluster killed with a large snapshot due elects a leader and takes the snapshot without stalling', { timeout: 180_000 }, async (t) => {
  await withCluster({ tickMs, electionTicks }, async (cluster) => {
    await fill(cluster);
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id)));
    // startNode resolves once the node answers HTTP: its storage is open, its first Ready
    // (and with it the snapshot) comes with its first campaign.
    await Promise.all(cluster.nodes.map((n) => cluster.startNode(n.id, { KEEL_SNAPSHOT_EVERY_ENTRIES: String(snapshotEveryEntriesAtRestart) })));
    const startedMs = performance.now();
    await cluster.waitForLeader({ timeoutMs: 10 * electionTimeoutMs });
    const leaderMs = performance.now() - startedMs;
    // Every node takes the snapshot that was due: the case is exercised, not skipped.
    const copies = await Promise.all(
      cluster.nodes.map((n) =>
        waitFor(
          async () => {
            const line = n
              .logSinceStart()
              .split('\n')
              .find((l) => l.includes('took a snapshot and compacted the log'));
            return line === undefined ? undefined : (JSON.parse(line) as { copyMs: number; bytes: number });
          },
          { timeoutMs: 60_000, what: `node ${n.id} to take the snapshot due at restart` },
        ),
      ),
    );
    for (const [i, copy] of copies.entries())
      assert.ok(copy.bytes > (keyCount * valueBytes) / 2, `node ${i + 1}'s snapshot holds the store (${copy.bytes} bytes)`);
    // The snapshot must not have held any node's event loop for the time it took to copy,
    // nor for an election timeout: that is what kept the restarted nodes from electing.
    for (const [i, copy] of copies.entries()) {
      const id = i + 1;
      const longestPauseMs = (await metric(cluster, id, 'keel_event_loop_delay_max_seconds')) * 1000;
      t.diagnostic(`node ${id}: snapshot of ${copy.bytes} bytes copied in ${copy.copyMs} ms; longest event-loop pause ${Math.round(longestPauseMs)} ms`);
      assert.ok(
        longestPauseMs < electionTimeoutMs,
        `node ${id}: the event loop stopped for ${Math.round(longestPauseMs)} ms, longer than the election timeout`,
      );
      assert.ok(
        longestPauseMs < copy.copyMs / 2,
        `node ${id}: the event loop stopped for ${Math.round(longestPauseMs)} ms of the snapshot's ${copy.copyMs} ms copy`,
      );
    }
    // Writes are taken once the snapshots are done, and every node follows the same leader.
    const client = new EtcdGrpcClient(cluster.nodes[0]?.grpcEndpoint ?? '', 10_000);
    try {
      await client.put('after-restart', 'written');
    } finally {
      client.close();
    }
    await cluster.waitForConverged(30_000);
    t.diagnostic(`leader ${Math.round(leaderMs)} ms after every node answered`);
    assert.ok(leaderMs < 10 * electionTimeoutMs, `a leader ${Math.round(leaderMs)} ms after every node answered`);
    cluster.assertNoCrashes();
  });
});
