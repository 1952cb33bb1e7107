/**
 * Watches across failures, on real processes: a watcher on a follower keeps receiving
 * every write's event exactly once, in revision order, while the leader is killed and
 * another is elected; a client whose node is killed resumes on another node from the
 * last revision it got + 1, losing and repeating nothing; and a follower that falls so
 * far behind that it is sent a snapshot still gives its watchers every event it
 * skipped, read back from the snapshot's history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster, type Cluster } from '../harness/cluster-harness.js';
import { WsWatchStream } from './watch-clients.js';
import { KeelClient } from '../client/keel-client.js';
import type { WatchBatch } from '../client/watch.js';
import { waitFor } from '../harness/wait-for.js';

interface WatchedPut {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** The puts a watcher of the stream received, in the order received. */
function putsOf(ws: WsWatchStream, watchId: number): WatchedPut[] {
  return ws.messages
    .filter((m) => m.type === 'events' && m.watchId === watchId)
    .flatMap((m) => m['events'] as { type: string; kv: WatchedPut }[])
    .map((e) => {
      assert.equal(e.type, 'put');
      return { key: e.kv.key, value: e.kv.value, modRevision: e.kv.modRevision };
    });
}

/** Writes `count` distinct keys with `workers` concurrent writers; calls `midway` once after `midwayAt` acknowledgements. */
async function writeKeys(
  client: KeelClient,
  prefix: string,
  count: number,
  options: { workers: number; midwayAt?: number; midway?: () => Promise<void> },
): Promise<Map<string, number>> {
  const acknowledged = new Map<string, number>();
  let next = 0;
  let midway: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const key = `${prefix}${next++}`;
      const { revision } = await client.put(key, `value of ${key}`);
      acknowledged.set(key, revision);
      if (options.midway && acknowledged.size === options.midwayAt) midway = options.midway();
      if (midway) await midway;
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return acknowledged;
}

async function watchPrefixOn(cluster: Cluster, nodeId: number, prefix: string): Promise<WsWatchStream> {
  const ws = await WsWatchStream.open(cluster.url(nodeId));
  ws.send({ create: { key: prefix, prefix: true } });
  await ws.until((m) => m.some((x) => x.type === 'created'), 'the watcher to be created');
  return ws;
}

function assertExactlyOnceInOrder(received: readonly WatchedPut[], acknowledged: ReadonlyMap<string, number>): void {
  for (let i = 1; i < received.length; i++) {
    assert.ok((received[i] as WatchedPut).modRevision > (received[i - 1] as WatchedPut).modRevision, `event ${i} is out of revision order or repeated`);
  }
  const keys = received.map((p) => p.key);
  assert.equal(new Set(keys).size, keys.length, 'an event was delivered twice');
  for (const [key, revision] of acknowledged) {
    const event = received.find((p) => p.key === key);
    assert.ok(event, `the event of acknowledged write ${key} was never delivered`);
    assert.equal(event.modRevision, revision, `${key}: delivered at revision ${event.modRevision}, acknowledged at ${revision}`);
    assert.equal(event.value, `value of ${key}`);
  }
}

test('a watcher on a follower gets every write exactly once, in revision order, across a leader kill', async () => {
  await withCluster({ size: 3 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const followerId = cluster.nodes.find((n) => n.id !== leader.id)?.id as number;
    const ws = await watchPrefixOn(cluster, followerId, 'failover/');
    const client = new KeelClient({ endpoints: cluster.nodes.map((n) => n.url) });
    const count = 150;
    const acknowledged = await writeKeys(client, 'failover/', count, {
      workers: 4,
      midwayAt: 40,
      midway: async () => {
        await cluster.kill(leader.id);
        await cluster.waitForLeader({ termAbove: leader.term });
      },
    });
    assert.equal(acknowledged.size, count);
    await ws.until(() => putsOf(ws, 0).length >= count, `${count} events on the follower's watcher`, 30_000);
    assert.equal(ws.closed, false, 'the watch stream on the surviving follower was closed');
    const received = putsOf(ws, 0);
    assert.equal(received.length, count);
    assertExactlyOnceInOrder(received, acknowledged);
    ws.close();
  });
});

test('the client resumes its watch on another node when its node is killed: every event once, in order', async () => {
  await withCluster({ size: 3 }, async (cluster) => {
    // The watch goes to the first endpoint; the others are where it can resume.
    const watched = cluster.nodes[0]?.id as number;
    const watcher = new KeelClient({ endpoints: cluster.nodes.map((n) => n.url) });
    const writer = new KeelClient({ endpoints: cluster.nodes.map((n) => n.url) });
    const start = await writer.put('resume/start', 'x');
    const stop = new AbortController();
    const batches: WatchBatch[] = [];
    const watching = (async () => {
      for await (const batch of watcher.watch('resume/', { prefix: true, revision: start.revision + 1, signal: stop.signal })) batches.push(batch);
    })();
    const count = 120;
    const acknowledged = await writeKeys(writer, 'resume/', count, {
      workers: 4,
      midwayAt: 40,
      midway: async () => {
        // The watcher has seen some events from node `watched` before it dies.
        await waitFor(async () => batches.length > 0, { timeoutMs: 15_000, what: 'the first events before the kill' });
        await cluster.kill(watched);
        await cluster.waitForLeader();
      },
    });
    const received = (): WatchedPut[] => batches.flatMap((b) => b.events.map((e) => ({ key: e.kv.key, value: e.kv.value, modRevision: e.kv.modRevision })));
    await waitFor(async () => received().length >= count, {
      timeoutMs: 30_000,
      what: `${count} events after resuming`,
      explain: async () => `${received().length} received`,
    });
    stop.abort();
    await watching;
    assert.equal(received().length, count);
    assertExactlyOnceInOrder(received(), acknowledged);
  });
});

test('a follower sent a snapshot gives its watchers every event it skipped, once, in order', async () => {
  await withCluster({ size: 3, snapshotEveryEntries: 20, snapshotCatchUpEntries: 5, snapshotLogPercent: 0 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const laggard = cluster.nodes.find((n) => n.id !== leader.id)?.id as number;
    const ws = await watchPrefixOn(cluster, laggard, 'lag/');
    cluster.suspend(laggard);
    const client = new KeelClient({ endpoints: cluster.nodes.filter((n) => n.id !== laggard).map((n) => n.url) });
    // One writer: each put its own append, so the 64 appends the leader keeps in flight to
    // the laggard hold only 64 of the 100 and the log is compacted past the rest.
    const count = 100;
    const acknowledged = await writeKeys(client, 'lag/', count, { workers: 1 });
    cluster.resume(laggard);
    await cluster.waitForCaughtUp([laggard], 30_000);
    assert.match(
      cluster.node(laggard).logSinceStart(),
      /installed a snapshot from the leader/,
      'the laggard caught up without a snapshot; the test did not test what it says',
    );
    await ws.until(() => putsOf(ws, 0).length >= count, `${count} events on the laggard's watcher`, 30_000);
    const received = putsOf(ws, 0);
    assert.equal(received.length, count);
    assertExactlyOnceInOrder(received, acknowledged);
    ws.close();
  });
});
