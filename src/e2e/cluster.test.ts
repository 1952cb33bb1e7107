/**
 * End-to-end tests of a Keel cluster made of real `keel start` processes on 127.0.0.1
 * (level 3 of the testing pyramid in docs/internals/design.md): elections, crashes
 * (kill -9), graceful restarts, catch-up from the log and by snapshot, partitions through the
 * fault hooks, exactly-once writes, and the REST error contract. The invariant under
 * every fault: no acknowledged write is lost.
 *
 * Every wait is for a condition the nodes report, with a deadline (cluster-harness.ts);
 * every process and directory is removed after each test, pass or fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { mainScript, withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { freeBasePort } from '../harness/free-ports.js';
import { answerMarginMs, describe, errorCode, http, tryHttp } from '../harness/http.js';
import type { HttpAnswer, HttpOptions } from '../harness/http.js';
import { SessionClient, WriteLoad, missingWrites, readPrefix, writeKeys } from '../harness/workload.js';
import type { Acked, StoredKey } from '../harness/workload.js';
import { RegisterClients } from './register-clients.js';
import { waitFor } from '../harness/wait-for.js';
import { checkHistory } from '../check/linearizability.js';

/** Per test: longer than every deadline inside, so those fail first and say why. */
const testTimeoutMs = 60_000;

/** Every acknowledged write is on every running node: linearizable, then serializable once caught up. */
async function assertAllReadable(cluster: Cluster, acked: readonly Acked[], prefix: string): Promise<void> {
  const ids = cluster.runningIds();
  // A node just started answers 503 until it hears from the leader; wait for that.
  await cluster.waitForLeader({ among: ids });
  for (const id of ids) {
    const stored = await readPrefix(cluster.url(id), prefix, 'linearizable');
    assert.deepEqual(missingWrites(acked, stored), [], `node ${id} (linearizable) lacks acknowledged writes`);
  }
  await cluster.waitForCaughtUp(ids);
  for (const id of ids) {
    const stored = await readPrefix(cluster.url(id), prefix, 'serializable');
    assert.deepEqual(missingWrites(acked, stored), [], `node ${id} (serializable) lacks acknowledged writes`);
  }
}

/** Replaces the fault rules of node `id` (see src/transport/fault-hooks.ts). */
async function setFaults(cluster: Cluster, id: number, rules: object[]): Promise<void> {
  const answer = await http(`${cluster.url(id)}/admin/faults`, { method: 'PUT', body: { rules } });
  assert.equal(answer.status, 200, `PUT /admin/faults on node ${id}: ${describe(answer)}`);
}

/**
 * Cuts node `id` off both ways on both sides: it drops everything to and from every
 * peer, and each peer drops everything to and from it.
 */
async function isolate(cluster: Cluster, id: number): Promise<void> {
  await setFaults(cluster, id, [{ peer: '*', direction: 'both', dropFraction: 1 }]);
  for (const other of cluster.runningIds()) if (other !== id) await setFaults(cluster, other, [{ peer: id, direction: 'both', dropFraction: 1 }]);
}

/** Removes every fault rule on every running node. */
async function healAll(cluster: Cluster): Promise<void> {
  for (const id of cluster.runningIds()) {
    const answer = await http(`${cluster.url(id)}/admin/faults`, { method: 'DELETE' });
    assert.equal(answer.status, 200, `DELETE /admin/faults on node ${id}: ${describe(answer)}`);
    assert.deepEqual((answer.body as { rules: unknown[] }).rules, []);
  }
}

/**
 * Sends a session write and, while it gets 503 or 504 (outcome unknown), sends it again
 * unchanged: within a session that is safe, and the answer that ends it is the one
 * the test judges. Setup writes use this so that a leader change can not fail them.
 */
async function settledWrite(url: string, options: HttpOptions): Promise<HttpAnswer> {
  return waitFor(
    async () => {
      const answer = await http(url, options);
      return answer.status === 503 || answer.status === 504 ? undefined : answer;
    },
    { timeoutMs: 20_000, what: `${options.method} ${url} to be answered other than 503/504` },
  );
}

/** Every running node comes to answer /health 200 naming one leader, which says it leads. */
async function assertHealthyEverywhere(cluster: Cluster): Promise<void> {
  const ids = cluster.runningIds();
  await waitFor(
    async () => {
      const answers = await Promise.all(ids.map((id) => http(`${cluster.url(id)}/health`)));
      const leader = (answers[0]?.body as { leader?: number } | undefined)?.leader;
      if (leader === undefined || !answers.every((a) => a.status === 200 && isDeepStrictEqual(a.body, { ok: true, leader, health: 'true', reason: '' })))
        return false;
      return (await cluster.status(leader)).role === 'leader';
    },
    { timeoutMs: 10_000, what: `/health 200 with one leader on nodes ${ids.join(', ')}`, explain: () => cluster.describe() },
  );
}

function writeOptions(cluster: Cluster, keyPrefix: string, pickUrl = (): string => cluster.randomRunningUrl()) {
  return { keyPrefix, pickUrl, attemptTimeoutMs: cluster.requestTimeoutMs + 1_000, writeDeadlineMs: 20_000 };
}

test('a leader is elected, and after kill -9 of the leader a survivor leads in a higher term; the old leader rejoins as a follower', {
  timeout: testTimeoutMs,
}, async () => {
  await withCluster({}, async (cluster) => {
    const first = await cluster.waitForLeader();
    // etcd's GET /version, which etcd's gateway clients call first.
    const version = await http(`${cluster.url(first.id)}/version`);
    assert.equal(version.status, 200);
    assert.deepEqual(Object.keys(version.body as object).sort(), ['etcdcluster', 'etcdserver', 'keel']);
    assert.match((version.body as { etcdserver: string }).etcdserver, /^3\.4\.\d+$/);
    assert.equal((version.body as { etcdcluster: string }).etcdcluster, '3.4.0');
    await cluster.kill(first.id);
    const survivors = cluster.runningIds();
    assert.equal(survivors.length, 2);
    const second = await cluster.waitForLeader({ among: survivors, termAbove: first.term });
    assert.ok(survivors.includes(second.id), `new leader ${second.id} is a survivor`);
    assert.ok(second.term > first.term, `new term ${second.term} > old term ${first.term}`);

    // The cluster keeps working without the old leader, and the old leader catches up.
    const acked = await writeKeys({ ...writeOptions(cluster, 'e1/'), count: 20, concurrency: 5 });
    await cluster.startNode(first.id);
    const rejoined = await waitFor(
      async () => {
        const all = await cluster.statuses(cluster.runningIds());
        const old = all.get(first.id);
        const leader = [...all.values()].find((s) => s.role === 'leader');
        if (!old || !leader || old.role !== 'follower' || old.leader !== leader.id || old.term !== leader.term) return undefined;
        return { old, leader };
      },
      { timeoutMs: 10_000, what: `node ${first.id} to follow the current leader`, explain: () => cluster.describe() },
    );
    assert.ok(rejoined.leader.term >= second.term);
    await assertAllReadable(cluster, acked, 'e1/');
  });
});

test('1,000 concurrent writes through random nodes are all readable from every node', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const acked = await writeKeys({ ...writeOptions(cluster, 'e2/'), count: 1_000, concurrency: 50 });
    assert.equal(acked.length, 1_000);
    assert.equal(new Set(acked.map((a) => a.revision)).size, 1_000, 'every write has its own revision');
    // Also checks that each write applied once, at the revision its acknowledgement gave.
    await assertAllReadable(cluster, acked, 'e2/');
    const stored = await readPrefix(cluster.url(1), 'e2/', 'serializable');
    assert.equal(stored.size, 1_000);
  });
});

test('a full-cluster restart (SIGTERM all, start all on the same data) keeps every key', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const acked = await writeKeys({ ...writeOptions(cluster, 'e3/'), count: 200, concurrency: 20 });
    const before = await cluster.waitForConverged();
    const ids = cluster.runningIds();
    // stop() asserts each node exits 0 after its graceful shutdown.
    await Promise.all(ids.map((id) => cluster.stop(id)));
    assert.deepEqual(cluster.runningIds(), []);
    await Promise.all(ids.map((id) => cluster.startNode(id)));
    const leader = await cluster.waitForLeader();
    assert.ok(leader.term > before.term, `a new term after the restart (${leader.term} > ${before.term})`);
    await assertAllReadable(cluster, acked, 'e3/');
    const after = await cluster.waitForConverged();
    assert.equal(after.revision, before.revision, 'the restart neither lost nor added revisions');
    assert.ok(after.commit > before.commit, 'the new leader committed an entry of its term');
  });
});

test('a follower down during writes catches up from the log', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const down = cluster.runningIds().find((id) => id !== leader.id) as number;
    await cluster.kill(down);
    const acked = await writeKeys({ ...writeOptions(cluster, 'e4/'), count: 200, concurrency: 20 });
    await cluster.startNode(down);
    await cluster.waitForCaughtUp([down]);
    const stored = await readPrefix(cluster.url(down), 'e4/', 'serializable');
    assert.deepEqual(missingWrites(acked, stored), []);
    const status = await cluster.status(down);
    assert.equal(status.firstIndex, 1, 'its log was extended, not replaced by a snapshot');
    assert.doesNotMatch(cluster.node(down).logSinceStart(), /installed a snapshot/);
  });
});

test('a follower down while the log is compacted catches up by snapshot', { timeout: testTimeoutMs }, async () => {
  // The leader keeps 10 entries before each snapshot: the follower, 300 behind, needs the
  // snapshot. One write at a time, each its own append: the leader keeps at most 64 appends
  // in flight to the down follower, and concurrent writes would share them.
  await withCluster({ snapshotEveryEntries: 50, snapshotCatchUpEntries: 10, snapshotLogPercent: 0 }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const down = cluster.runningIds().find((id) => id !== leader.id) as number;
    const early = await writeKeys({ ...writeOptions(cluster, 'e4s/a'), count: 20, concurrency: 5 });
    await cluster.waitForCaughtUp([down]);
    const lastIndexBefore = (await cluster.status(down)).lastIndex;
    await cluster.kill(down);
    const acked = await writeKeys({ ...writeOptions(cluster, 'e4s/b'), count: 300, concurrency: 1 });
    const compacted = await waitFor(
      async () => {
        const s = await cluster.status(leader.id);
        return s.firstIndex > lastIndexBefore + 1 ? s : undefined;
      },
      { timeoutMs: 10_000, what: `the leader to compact its log past index ${lastIndexBefore + 1}`, explain: () => cluster.describe() },
    );
    assert.ok(compacted.firstIndex > lastIndexBefore + 1);
    await cluster.startNode(down);
    await cluster.waitForCaughtUp([down]);
    const stored = await readPrefix(cluster.url(down), 'e4s/', 'serializable');
    assert.deepEqual(missingWrites([...early, ...acked], stored), []);
    assert.match(cluster.node(down).logSinceStart(), /installed a snapshot from the leader/);
    const status = await cluster.status(down);
    assert.ok(status.firstIndex > lastIndexBefore + 1, `its log starts after the snapshot (first index ${status.firstIndex})`);

    // Every node now recovers from a snapshot plus the log after it: kill -9 them all.
    const all = cluster.runningIds();
    await Promise.all(all.map((id) => cluster.kill(id)));
    await Promise.all(all.map((id) => cluster.startNode(id)));
    await assertAllReadable(cluster, [...early, ...acked], 'e4s/');
  });
});

test('restarting followers one at a time under write load loses no acknowledged write', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const load = new WriteLoad({ ...writeOptions(cluster, 'e5/'), concurrency: 10, writesMax: 100_000 });
    // Four restarts, alternating kill -9 and SIGTERM, alternating followers.
    for (let step = 0; step < 4; step++) {
      const leader = await cluster.waitForLeader();
      const followers = cluster.runningIds().filter((id) => id !== leader.id);
      const follower = followers[step % followers.length] as number;
      const ackedAtStart = load.acked.length;
      await cluster.restart(follower, step % 2 === 0 ? 'kill' : 'stop');
      await cluster.waitForCaughtUp([follower]);
      // The load keeps making progress across each restart.
      await waitFor(async () => load.acked.length > ackedAtStart + 10, { timeoutMs: 10_000, what: `writes to be acknowledged across restart ${step + 1}` });
    }
    const acked = await load.stop();
    assert.ok(acked.length >= 40, `${acked.length} writes acknowledged during the churn`);
    assert.equal(acked.length, load.issuedCount, 'every write issued was acknowledged');
    await assertAllReadable(cluster, acked, 'e5/');
  });
});

test('a partitioned leader cannot write, the majority can, and after healing every node converges', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const before = await writeKeys({ ...writeOptions(cluster, 'e6/a'), count: 20, concurrency: 5 });
    const old = await cluster.waitForLeader();
    const isolated = old.id;
    const majority = cluster.runningIds().filter((id) => id !== isolated);
    await isolate(cluster, isolated);

    // The isolated minority cannot write: it answers 503, or 504 once its request
    // timeout passes (http() fails if no answer comes within a margin after that).
    const lost = await http(`${cluster.url(isolated)}/kv/e6/minority`, { method: 'PUT', body: 'lost', timeoutMs: cluster.requestTimeoutMs + answerMarginMs });
    assert.ok(lost.status === 503 || lost.status === 504, `minority write: ${describe(lost)}`);

    // The majority elects a leader in a higher term and writes.
    const fresh = await cluster.waitForLeader({ among: majority, termAbove: old.term });
    assert.ok(majority.includes(fresh.id));
    const during = await writeKeys({
      ...writeOptions(cluster, 'e6/b', () => cluster.url(majority[Math.floor(Math.random() * majority.length)] as number)),
      count: 50,
      concurrency: 10,
    });

    // Check-quorum: the isolated old leader steps down, knows no leader, and says so.
    await waitFor(async () => (await http(`${cluster.url(isolated)}/health`)).status === 503, {
      timeoutMs: 5_000,
      what: `node ${isolated} to report no leader on /health`,
      explain: () => cluster.describe(),
    });
    const refused = await http(`${cluster.url(isolated)}/kv/e6/minority2`, {
      method: 'PUT',
      body: 'lost',
      timeoutMs: cluster.requestTimeoutMs + answerMarginMs,
    });
    assert.equal(refused.status, 503, describe(refused));
    assert.equal(refused.headers.get('retry-after'), '1');
    const read = await http(`${cluster.url(isolated)}/kv/e6/a0`, { timeoutMs: cluster.requestTimeoutMs + answerMarginMs });
    assert.ok(read.status === 503 || read.status === 504, `linearizable read on the minority: ${describe(read)}`);

    // Heal, then every node converges on the same revision and the same values.
    await healAll(cluster);
    const converged = await cluster.waitForConverged();
    assert.ok(converged.term >= fresh.term);
    const views = await Promise.all(cluster.runningIds().map((id) => readPrefix(cluster.url(id), 'e6/', 'serializable')));
    for (const view of views.slice(1)) assert.deepEqual(view, views[0]);
    const view = views[0] as Map<string, StoredKey>;
    assert.deepEqual(missingWrites([...before, ...during], view), []);
    assert.equal(view.has('e6/minority'), false, 'the minority write never committed');
    assert.equal(view.has('e6/minority2'), false);
    assert.equal(view.size, before.length + during.length);
  });
});

test('kill -9 of the leader right after the last acknowledgement loses none of them', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const acked: Acked[] = [];
    for (let round = 0; round < 2; round++) {
      const leader = await cluster.waitForLeader();
      const batch = await writeKeys({ ...writeOptions(cluster, `e7/r${round}-`, () => cluster.url(leader.id)), count: 200, concurrency: 50 });
      // No await between the last acknowledgement and the signal.
      const killed = cluster.kill(leader.id);
      acked.push(...batch);
      await killed;
      await cluster.waitForLeader({ among: cluster.runningIds(), termAbove: leader.term });
      await cluster.startNode(leader.id);
      await assertAllReadable(cluster, acked, 'e7/');
    }
  });
});

test('a leader paused by SIGSTOP and resumed after a new election serves no stale read and loses no write', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const old = await cluster.waitForLeader();
    await new SessionClient(() => cluster.url(old.id), cluster.requestTimeoutMs + 1_000, 'e11').put('e11/k', 'old', performance.now() + 20_000);
    cluster.suspend(old.id);
    const others = cluster.runningIds();
    const fresh = await cluster.waitForLeader({ among: others, termAbove: old.term });
    await new SessionClient(() => cluster.url(fresh.id), cluster.requestTimeoutMs + 1_000, 'e11').put('e11/k', 'new', performance.now() + 20_000);

    // The old leader wakes up believing it leads. Hit it at once with reads and a write.
    cluster.resume(old.id);
    const oldUrl = cluster.url(old.id);
    const timeoutMs = cluster.requestTimeoutMs + answerMarginMs;
    const reads = Array.from({ length: 5 }, () => http(`${oldUrl}/kv/e11/k`, { timeoutMs }));
    const write = new SessionClient(() => oldUrl, timeoutMs, 'e11').put('e11/after', 'woke', performance.now() + 20_000);
    for (const read of await Promise.all(reads)) {
      if (read.status === 200) assert.equal((read.body as { value: string }).value, 'new', `linearizable read on the resumed old leader: ${describe(read)}`);
      else assert.ok(read.status === 503 || read.status === 504, describe(read));
    }
    const acked = await write;
    await assertAllReadable(cluster, [acked], 'e11/after');
    for (const id of cluster.runningIds()) {
      const answer = await http(`${cluster.url(id)}/kv/e11/k`);
      assert.equal((answer.body as { value: string }).value, 'new', `node ${id}: ${describe(answer)}`);
    }
  });
});

test('reads and writes through random nodes across a leader crash and a partition form a linearizable history', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const clients = new RegisterClients({
      clients: 6,
      keys: ['e12/a', 'e12/b', 'e12/c', 'e12/d'],
      pickUrl: () => cluster.randomRunningUrl(),
      attemptTimeoutMs: cluster.requestTimeoutMs + 1_000,
      operationsMax: 4_000,
    });
    const progress = async (more: number, what: string): Promise<void> => {
      const target = clients.okCount + more;
      await waitFor(async () => clients.okCount >= target, {
        timeoutMs: 15_000,
        what: `${more} more operations to succeed ${what}`,
        explain: () => cluster.describe(),
      });
    };
    await progress(100, 'at the start');

    // kill -9 the leader; carry on with the survivors; bring it back.
    const first = await cluster.waitForLeader();
    await cluster.kill(first.id);
    await cluster.waitForLeader({ among: cluster.runningIds(), termAbove: first.term });
    await progress(100, 'without the old leader');
    await cluster.startNode(first.id);
    await cluster.waitForLeader();

    // Cut the current leader off; carry on with the majority; heal.
    const second = await cluster.waitForLeader();
    const majority = cluster.runningIds().filter((id) => id !== second.id);
    await isolate(cluster, second.id);
    await cluster.waitForLeader({ among: majority, termAbove: second.term });
    await progress(100, 'in the majority');
    await healAll(cluster);
    await cluster.waitForLeader();
    await progress(100, 'after healing');

    const counts = await clients.stop();
    const result = checkHistory(clients.events, { deadline: deadlineIn(20_000) });
    assert.equal(result.status, 'linearizable', `history of ${JSON.stringify(counts)} operations: ${JSON.stringify(result, null, 1).slice(0, 3_000)}`);
  });
});

test('a write retried with the same client session applies once', { timeout: testTimeoutMs }, async () => {
  await withCluster({}, async (cluster) => {
    const [a, b, c] = cluster.runningIds().map((id) => cluster.url(id)) as [string, string, string];
    const session = (seq: number): Record<string, string> => ({ 'x-keel-client-id': `e8-${process.pid}`, 'x-keel-seq': String(seq) });
    const put = (url: string, value: string, seq: number) => settledWrite(`${url}/kv/e8/k`, { method: 'PUT', body: value, headers: session(seq) });
    const get = async (): Promise<{ value: string; version: number; modRevision: number; revision: number }> => {
      const answer = await http(`${c}/kv/e8/k`);
      assert.equal(answer.status, 200, describe(answer));
      return answer.body as { value: string; version: number; modRevision: number; revision: number };
    };

    // Seq 1 through node a, then the same request again through node b (as after a lost answer).
    const first = await put(a, 'one', 1);
    assert.equal(first.status, 200, describe(first));
    const retry = await put(b, 'one', 1);
    assert.equal(retry.status, 200, describe(retry));
    assert.deepEqual(retry.body, first.body, 'the retry gets the first answer');
    let kv = await get();
    assert.equal(kv.version, 1);
    assert.equal(kv.value, 'one');
    assert.equal(kv.revision, (first.body as { revision: number }).revision, 'the retry made no revision');

    // Seq 2 sent to all three nodes at once: three log entries, one application.
    const answers = await Promise.all([a, b, c].map((url) => put(url, 'two', 2)));
    for (const answer of answers) assert.equal(answer.status, 200, describe(answer));
    for (const answer of answers.slice(1)) assert.deepEqual(answer.body, answers[0]?.body);
    kv = await get();
    assert.equal(kv.version, 2);
    assert.equal(kv.value, 'two');
    assert.equal(kv.revision, (answers[0]?.body as { revision: number } | undefined)?.revision);

    // An older sequence number is refused, and changes nothing.
    const stale = await put(a, 'stale', 1);
    assert.equal(stale.status, 409, describe(stale));
    assert.equal(errorCode(stale), 'SESSION_EXPIRED');
    const unchanged = await get();
    assert.deepEqual(unchanged, kv);

    // A retried delete deletes once.
    const deletes = await Promise.all([a, b].map((url) => settledWrite(`${url}/kv/e8/k`, { method: 'DELETE', headers: session(3) })));
    for (const answer of deletes) assert.deepEqual(answer.body, { revision: kv.revision + 1, deleted: 1 }, describe(answer));
    assert.equal((await http(`${c}/kv/e8/k`)).status, 404);
  });
});

test('REST errors: 400, 404, 413 leave the data unchanged; 503 with Retry-After and /health 503 without a leader; /metrics', {
  timeout: testTimeoutMs,
}, async () => {
  await withCluster({ env: { KEEL_VALUE_BYTES_MAX: '1024' } }, async (cluster) => {
    const leader = await cluster.waitForLeader();
    const url = cluster.url(leader.id);
    const { revision } = await new SessionClient(() => url, cluster.requestTimeoutMs + 1_000, 'e9').put('e9/k', 'original', performance.now() + 20_000);
    const expectError = async (what: string, answer: Promise<Awaited<ReturnType<typeof http>>>, status: number, code: string): Promise<void> => {
      const got = await answer;
      assert.equal(got.status, status, `${what}: ${describe(got)}`);
      assert.equal(errorCode(got), code, `${what}: ${describe(got)}`);
      assert.equal(typeof (got.body as { error: { message?: unknown } }).error.message, 'string');
    };

    await expectError(
      'malformed JSON',
      http(`${url}/kv/e9/k`, { method: 'PUT', body: '{"value": "half', headers: { 'content-type': 'application/json' } }),
      400,
      'BAD_REQUEST',
    );
    await expectError('JSON without a value field', http(`${url}/kv/e9/k`, { method: 'PUT', body: { nope: 1 } }), 400, 'BAD_REQUEST');
    await expectError('empty key', http(`${url}/kv/`, { method: 'PUT', body: 'x' }), 400, 'KEY_EMPTY');
    await expectError('missing key', http(`${url}/kv/e9/missing`), 404, 'KEY_NOT_FOUND');
    await expectError('value over valueBytesMax', http(`${url}/kv/e9/k`, { method: 'PUT', body: 'x'.repeat(1025) }), 413, 'VALUE_TOO_LARGE');
    // Answered once the body is read to its end: the client, still sending, sees the 413, not a broken pipe.
    const oversized = http(`${url}/kv/e9/k`, { method: 'PUT', body: new Uint8Array(2 * 1024 * 1024) });
    await expectError('body over requestBytesMax', oversized, 413, 'REQUEST_TOO_LARGE');
    assert.notEqual((await oversized).headers.get('connection'), 'close', 'the connection outlives the refused body');
    await expectError('bad consistency', http(`${url}/kv/e9/k?consistency=eventual`), 400, 'BAD_REQUEST');
    await expectError('half a session', http(`${url}/kv/e9/k`, { method: 'PUT', body: 'x', headers: { 'x-keel-seq': '1' } }), 400, 'BAD_REQUEST');

    // None of that changed anything, on any node.
    for (const id of cluster.runningIds()) {
      const kv = await http(`${cluster.url(id)}/kv/e9/k`);
      assert.equal(kv.status, 200, describe(kv));
      assert.deepEqual(
        { ...(kv.body as object) },
        { key: 'e9/k', value: 'original', createRevision: revision, modRevision: revision, version: 1, lease: 0, revision },
        `node ${id}`,
      );
    }

    const metrics = await http(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    const term = /^keel_raft_term (\d+)$/m.exec(metrics.body as string);
    assert.ok(term, 'GET /metrics has keel_raft_term');
    // etcd's names for the same values, which etcd's dashboards and alerts read.
    assert.match(metrics.body as string, /^etcd_server_has_leader 1$/m);
    assert.match(metrics.body as string, /^etcd_server_is_leader [01]$/m);
    assert.match(metrics.body as string, /^etcd_mvcc_db_total_size_in_bytes [1-9]\d*$/m);
    assert.match(metrics.body as string, /^etcd_server_proposals_committed_total [1-9]\d*$/m);
    assert.ok(Number(term[1]) >= leader.term, `keel_raft_term ${term[1]} is the current term (at least ${leader.term})`);
    await assertHealthyEverywhere(cluster);

    // Stop both followers: the leader loses its quorum, steps down, and says so.
    const followers = cluster.runningIds().filter((id) => id !== leader.id);
    await Promise.all(followers.map((id) => cluster.stop(id)));
    await waitFor(async () => (await http(`${url}/health`)).status === 503, {
      timeoutMs: 5_000,
      what: 'the lone node to report no leader',
      explain: () => cluster.describe(),
    });
    const health = await http(`${url}/health`);
    assert.equal(errorCode(health), 'NO_LEADER');
    assert.equal(health.headers.get('retry-after'), '1');
    // etcd's fields too, which etcd's tools read.
    assert.deepEqual([(health.body as { health: string }).health, (health.body as { reason: string }).reason], ['false', 'RAFT NO LEADER']);
    const write = await http(`${url}/kv/e9/k`, { method: 'PUT', body: 'no quorum' });
    assert.equal(write.status, 503, describe(write));
    assert.equal(errorCode(write), 'NO_LEADER');
    assert.equal(write.headers.get('retry-after'), '1');
    const read = await http(`${url}/kv/e9/k`);
    assert.equal(read.status, 503, describe(read));
    assert.equal(read.headers.get('retry-after'), '1');
    const stale = await http(`${url}/kv/e9/k?consistency=serializable`);
    assert.equal(stale.status, 200, 'a serializable read needs no leader');

    // One follower back: a quorum again, and /health says 200 everywhere.
    await cluster.startNode(followers[0] as number);
    await assertHealthyEverywhere(cluster);
    const after = await http(`${url}/kv/e9/k`);
    assert.equal((after.body as { value: string }).value, 'original');
  });
});

test('keel cluster up --detach starts a cluster that keel cluster down stops', { timeout: testTimeoutMs }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-e2e-up-'));
  let pids: number[] = [];
  try {
    const base = await freeBasePort(3, [0, 100]);
    const up = await runKeel(['cluster', 'up', '--data-dir', dataDir, '--base-port', String(base), '--detach'], 45_000);
    assert.equal(up.code, 0, `keel cluster up: ${up.stderr}${up.stdout}`);
    const recorded = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as { pids: number[]; endpoints: string[] };
    pids = recorded.pids;
    const endpoints = [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`);
    assert.deepEqual(recorded.endpoints, endpoints);
    assert.equal(pids.length, 3);
    for (const endpoint of endpoints) assert.ok(up.stdout.includes(endpoint), `keel cluster up prints ${endpoint}:\n${up.stdout}`);
    assert.match(up.stdout, /cluster down/);

    // The cluster it started works: every node follows one leader, and a write through one is read through another.
    await waitFor(
      async () => {
        const health = await Promise.all(endpoints.map((endpoint) => http(`${endpoint}/health`)));
        return health.every((h) => h.status === 200) && new Set(health.map((h) => (h.body as { leader: number }).leader)).size === 1;
      },
      { timeoutMs: 10_000, what: 'every node of the cluster to report the same leader on /health' },
    );
    await new SessionClient(() => endpoints[0] as string, 5_000, 'e10').put('e10/k', 'up', performance.now() + 20_000);
    const get = await http(`${endpoints[2]}/kv/e10/k`);
    assert.equal((get.body as { value: string }).value, 'up', describe(get));

    const down = await runKeel(['cluster', 'down', '--data-dir', dataDir], 30_000);
    assert.equal(down.code, 0, `keel cluster down: ${down.stderr}${down.stdout}`);
    assert.match(down.stdout, /stopped 3 nodes/);
    for (const pid of pids) assert.equal(isRunning(pid), false, `process ${pid} is gone`);
    for (const endpoint of endpoints) assert.equal(await tryHttp(`${endpoint}/health`, { timeoutMs: 1_000 }), undefined, `${endpoint} no longer answers`);
    assert.equal(existsSync(join(dataDir, 'cluster.json')), false, 'cluster.json is removed');
  } finally {
    for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** Runs `node dist/cli/main.js ...args` to completion (killed after timeoutMs). */
function runKeel(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainScript, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        stdout,
        stderr: stderr + (error && typeof error.code !== 'number' ? String(error) : ''),
      });
    });
  });
}

/** Whether `pid` is a live process (a zombie, exited but not yet reaped, is not). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the name before it is in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function deadlineIn(ms: number): () => boolean {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
}
