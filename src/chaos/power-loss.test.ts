/**
 * Durability under power loss, with real node processes. Each node runs with the
 * power-loss disk (KEEL_FAULT_POWER_LOSS, storage/faulty-disk.ts): its WAL writes
 * reach the file only at fsync, so kill -9 loses exactly what a power cut loses of
 * the WAL — everything not synced — and a kill during a flush tears the last write.
 * On top of that, a killed node's newest segment may get a torn or zero-filled tail.
 *
 * What "committed data survives" means here: the WAL is the source of truth; the
 * key-value store (LMDB, not on this disk layer, committed without fsync) is thrown
 * away after each power cut — the node is restarted as after a reboot — and rebuilt
 * from the snapshot and the WAL. A write
 * acknowledged to a client was fsynced by a majority, so after any mix of single
 * kills and whole-cluster power cuts every acknowledged write must be readable, once,
 * at the revision it was acknowledged with, on every node. And damage a crash cannot
 * explain (a flipped bit with good records after it) must stop the node with a
 * message naming the file and offset, never a silent start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { withCluster, mainScript } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { addMember, removeMember } from '../harness/member-changes.js';
import { WriteLoad, missingWrites, readPrefix } from '../harness/workload.js';
import type { Acked } from '../harness/workload.js';
import { waitFor } from '../harness/wait-for.js';
import { Prng } from '../lib/prng.js';
import { flipBitMidLog, tearTail } from './torn-tail.js';

const run = promisify(execFile);
const rounds = 6;

async function assertEveryAckedWriteEverywhere(cluster: Cluster, acked: readonly Acked[], prefix: string): Promise<void> {
  const ids = cluster.runningIds();
  await cluster.waitForCaughtUp(ids, 30_000);
  for (const id of ids) {
    const stored = await readPrefix(cluster.url(id), prefix, 'serializable');
    assert.deepEqual(missingWrites(acked, stored), [], `node ${id} lacks acknowledged writes`);
  }
}

test('power cuts at random points (one node, the leader, or the whole cluster) lose no acknowledged write; torn WAL tails are cut off; key-value stores are rebuilt', {
  timeout: 240_000,
}, async () => {
  const random = new Prng(20_261_124);
  // Snapshots every 150 entries: some rebuilds start from a snapshot, some from the log's start.
  await withCluster({ env: { KEEL_FAULT_POWER_LOSS: 'true' }, snapshotEveryEntries: 150, snapshotLogPercent: 0 }, async (cluster) => {
    const ids = cluster.nodes.map((n) => n.id);
    // Any node, running or not: a write to a node that is down fails to connect and is retried elsewhere.
    const anyNode = (): string => cluster.url(ids[Math.floor(Math.random() * ids.length)] as number);
    const acked: Acked[] = [];
    const tears: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const load = new WriteLoad({
        keyPrefix: `pl/${round}/`,
        concurrency: 8,
        writesMax: 100_000,
        pickUrl: anyNode,
        attemptTimeoutMs: 3_000,
        writeDeadlineMs: 60_000,
      });
      // Let writes be in every stage (in flight, being fsynced, acknowledged) when the power goes.
      await waitFor(async () => load.issuedCount >= 20 + random.int(200), { timeoutMs: 30_000, what: `round ${round}: writes under way` });
      const leader = await cluster.waitForLeader();
      const victims = round % 3 === 0 ? [...ids] : round % 3 === 1 ? [leader.id] : [ids[random.int(ids.length)] as number];
      await Promise.all(victims.map((id) => cluster.kill(id)));
      for (const id of victims) if (random.chance(0.6)) tears.push(await tearTail(cluster.node(id).dataDir, random));
      // The power went: what LMDB had in the page cache, unsynced (deferred sync), is
      // gone too. A new boot id tells the node so; it must discard its key-value store
      // and rebuild it from its snapshot and WAL.
      for (const id of victims) {
        await cluster.startNode(id, { KEEL_FAULT_BOOT_ID: `power-cut-${round}` });
        const log = cluster.node(id).logSinceStart();
        assert.match(log, /discarded it; rebuilding it from the snapshot and the log/, `node ${id} rebuilds its store after the power cut of round ${round}`);
      }
      acked.push(...(await load.stop()));
      await cluster.waitForLeader();
    }
    assert.ok(acked.length > rounds * 20, `enough writes were acknowledged (${acked.length})`);
    assert.ok(tears.length > 0, 'some WAL tails were torn');
    for (const round of Array.from({ length: rounds }, (_, r) => r)) {
      await assertEveryAckedWriteEverywhere(
        cluster,
        acked.filter((a) => a.key.startsWith(`pl/${round}/`)),
        `pl/${round}/`,
      );
    }
    assert.ok(
      cluster.nodes.some((n) => /restoring the key-value store from the newest snapshot/.test(readAll(n.logPath))),
      'some rebuild started from a snapshot',
    );
    // A torn tail is noticed and cut, and the node says so in its log.
    assert.ok(
      cluster.nodes.some((n) => /truncat/i.test(readAll(n.logPath))),
      `no node logged the truncation of a torn tail (tails torn: ${tears.join('; ')})`,
    );
  });
});

/**
 * After `keel repair` the node has lost entries it had acknowledged: started again, it
 * must stop on its own evidence (its key-value store applied entries its log no longer
 * holds; a leader's heartbeat past its log is one peer's word, never enough) and say
 * why and what to do; then the remedy it names — remove it, add a new member with an
 * empty data directory — must bring the cluster back to three nodes holding every
 * acknowledged write.
 */
test('a node whose WAL has damage no crash explains refuses to start, naming the file and offset; keel repair cuts the log; the cut node stops saying it lost entries, and rejoins as a new member', {
  timeout: 180_000,
}, async () => {
  const random = new Prng(7);
  // A 1-2 s election timeout: the leader must keep its term through the test, as only
  // it remembers what the cut node acknowledged (a new leader would just catch it up).
  await withCluster({ env: { KEEL_FAULT_POWER_LOSS: 'true' }, electionTicks: 50 }, async (cluster) => {
    const ids = cluster.nodes.map((n) => n.id);
    const load = new WriteLoad({
      keyPrefix: 'bf/',
      concurrency: 8,
      writesMax: 400,
      pickUrl: () => cluster.url(ids[Math.floor(Math.random() * ids.length)] as number),
      attemptTimeoutMs: 3_000,
      writeDeadlineMs: 30_000,
    });
    const acked = await load.finished();
    const leader = await cluster.waitForLeader();
    const victim = ids.find((id) => id !== leader.id) as number;
    await cluster.stop(victim);
    const damage = await flipBitMidLog(cluster.node(victim).dataDir, random);
    const refused = await waitFor(
      async () => {
        // Started by hand: the harness treats an exit during start-up as a test failure.
        try {
          await run(
            process.execPath,
            [
              mainScript,
              'start',
              '--id',
              String(victim),
              '--data-dir',
              cluster.node(victim).dataDir,
              '--members',
              membersOf(cluster),
              '--cluster-id',
              `e2e-${process.pid}`,
            ],
            { timeout: 20_000 },
          );
          return { code: 0, output: '' };
        } catch (error) {
          const failed = error as { code?: number; stdout?: string; stderr?: string };
          return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
        }
      },
      { timeoutMs: 30_000, what: 'the damaged node to exit' },
    );
    assert.notEqual(refused.code, 0, 'the node must not start on a damaged WAL');
    const fileName = damage.path.split('/').at(-1) as string;
    assert.match(refused.output, new RegExp(`${fileName.replace('.', '\\.')}`), `the refusal names the segment ${fileName}:\n${refused.output.slice(-2000)}`);
    assert.match(refused.output, /offset \d+/, 'the refusal names the offset');
    assert.match(refused.output, /keel repair/, 'the refusal says how to repair');

    await assertEveryAckedWriteEverywhere(cluster, acked, 'bf/');
    const repaired = await run(process.execPath, [mainScript, 'repair', '--data-dir', cluster.node(victim).dataDir]);
    assert.match(repaired.stdout, /cut .*\.wal at offset \d+/);

    const exited = cluster.startNodeExpectingExit(victim);
    await waitFor(async () => !cluster.node(victim).child, {
      timeoutMs: 30_000,
      what: `the cut node ${victim} to stop on its own evidence of lost entries`,
      explain: () => cluster.describe(),
    });
    const exit = await exited;
    assert.equal(exit.code, 1, `the cut node must stop with an error, got ${exit.signal ?? exit.code}`);
    assert.equal((await cluster.status(leader.id)).term, leader.term, `node ${leader.id} led throughout, in term ${leader.term}`);
    const log = cluster.node(victim).logSinceStart();
    assert.match(log, /lost log entries it had acknowledged/, `the cut node says what happened:\n${log.slice(-3000)}`);
    assert.match(log, /add it back as a new member with an empty data directory/, 'the cut node says what to do');

    await removeMember(cluster, victim);
    const newcomer = await addMember(cluster);
    await cluster.waitForLeader({ among: cluster.memberIds() });
    assert.deepEqual(cluster.runningIds().sort(), [...ids.filter((id) => id !== victim), newcomer].sort());
    await assertEveryAckedWriteEverywhere(cluster, acked, 'bf/');
  });
});

function membersOf(cluster: Cluster): string {
  return cluster.nodes.map((n) => `${n.id}=${n.host}:${n.peerPort}:${n.clientPort}:${n.grpcPort}`).join(',');
}

function readAll(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
