/**
 * Snapshots taken and sent while a real 3-node cluster fills must cost nothing visible
 * (issue: data at scale): no leader change while the store grows through several
 * snapshots and a follower that fell behind the compacted log is sent one, and no node
 * that holds a snapshot whole in memory to take, send, receive or install it. The store
 * lives in LMDB's memory-mapped file, so the pages it touches count in a node's
 * resident memory; what is bounded is the memory the node allocates itself (RssAnon:
 * the JavaScript heap, its buffers, and native allocations such as LMDB's dirty pages).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { describe, http } from '../harness/http.js';
import { processMemory } from '../harness/process-memory.js';

const mebibyte = 1024 * 1024;
const valueBytes = 64 * 1024;
/**
 * A snapshot every 512 entries, however large the store (snapshotLogPercent 0): the 240
 * MiB fill below takes about seven, the last near 240 MiB. With the default, each would
 * wait for a log as large as the last snapshot, and the fill would take three.
 */
const snapshotEveryEntries = 512;
/**
 * Entries kept before a snapshot: entries on disk are kept by count alone, and 5,000 of
 * them (the default) would catch the stopped follower up from the log.
 */
const snapshotCatchUpEntries = 256;
/** Puts of the first fill (about 60 MiB) and of the whole fill (about 240 MiB). */
const firstFillPuts = 960;
const wholeFillPuts = 3_840;
const writers = 16;
/**
 * What the follower sent the snapshot may allocate while it receives and installs it: it
 * peaks near 190 MiB; the snapshot alone is about 240 MiB, so a follower that held it
 * whole (as before snapshots were streamed) goes well past it.
 */
const receiverBytesMax = 256 * mebibyte;
/**
 * What any node may allocate at any time in this test. A leader's memory still grows
 * while it sends a snapshot (to 330-360 MiB here; docs/operating/known-gaps.md); one
 * that held two copies, as before, would go past it.
 */
const allocatedBytesMax = 512 * mebibyte;

/** The peak anonymous memory of each running node, sampled every 100 ms while `body` runs. */
async function peakAllocated(cluster: Cluster, body: () => Promise<void>): Promise<Map<number, number>> {
  const peaks = new Map<number, number>();
  const sample = (): void => {
    for (const id of cluster.runningIds()) peaks.set(id, Math.max(peaks.get(id) ?? 0, processMemory(cluster.node(id).pid).anonymousBytes));
  };
  const timer = setInterval(sample, 100);
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  sample();
  return peaks;
}

/** Puts keys `from`..`to`-1 of 64 KiB random values through the leader, `writers` at a time; every one must be acknowledged. */
async function fill(url: string, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < to) {
        const key = next++;
        const answer = await http(`${url}/kv/scale/${String(key).padStart(5, '0')}`, {
          method: 'PUT',
          body: randomBytes(valueBytes * 0.75).toString('base64'),
          headers: { 'content-type': 'text/plain' },
          timeoutMs: 30_000,
        });
        assert.equal(answer.status, 200, `put ${key}: ${describe(answer)}`);
      }
    }),
  );
}

const mib = (bytes: number): number => Math.round(bytes / mebibyte);
const show = (peaks: Map<number, number>): string => [...peaks].map(([id, bytes]) => `node ${id} ${mib(bytes)} MiB`).join(', ');

test('a cluster filled through seven snapshots, one sent to a follower, keeps its leader, and no node holds a snapshot in memory', {
  timeout: 300_000,
}, async () => {
  // A node's default timing (100 ms ticks, 1 s election timeout), as a user's cluster has it.
  await withCluster(
    { tickMs: 100, electionTicks: 10, requestTimeoutMs: 10_000, snapshotEveryEntries, snapshotLogPercent: 0, snapshotCatchUpEntries },
    async (cluster) => {
      const { id: leaderId, term } = await cluster.waitForLeader();
      const follower = [1, 2, 3].find((id) => id !== leaderId) as number;
      await cluster.stop(follower);
      const leaderUrl = cluster.url(leaderId);
      const behindAt = (await cluster.status(leaderId)).lastIndex;

      const first = await peakAllocated(cluster, () => fill(leaderUrl, 0, firstFillPuts));
      const whole = await peakAllocated(cluster, () => fill(leaderUrl, firstFillPuts, wholeFillPuts));
      const leaderStatus = await cluster.status(leaderId);
      assert.ok(
        leaderStatus.firstIndex > behindAt + 1,
        `the leader compacted its log past what node ${follower} holds: its log starts at ${leaderStatus.firstIndex}`,
      );
      assert.ok(leaderStatus.dbSizeInUse > 200 * mebibyte, `the store holds over 200 MiB (${mib(leaderStatus.dbSizeInUse)} MiB)`);

      const caughtUp = await peakAllocated(cluster, async () => {
        await cluster.startNode(follower);
        await cluster.waitForCaughtUp([follower], 120_000);
      });
      const followerStatus = await cluster.status(follower);
      assert.ok(followerStatus.firstIndex > behindAt + 1, `node ${follower} was sent a snapshot: its log starts at ${followerStatus.firstIndex}`);
      const metrics = await http(`${cluster.url(follower)}/metrics`);
      assert.match(String(metrics.body), /^keel_snapshots_installed_total 1$/m, `node ${follower} reports the snapshot it installed: ${describe(metrics)}`);

      const statuses = await cluster.statuses([1, 2, 3]);
      for (const [id, status] of statuses) {
        assert.equal(status.term, term, `node ${id} is still in term ${term}: no election while snapshots were taken and sent`);
        assert.equal(status.leader, leaderId, `node ${id} follows the same leader`);
      }
      const summary = `first fill: ${show(first)}; whole fill: ${show(whole)}; follower caught up: ${show(caughtUp)}`;
      assert.ok(
        (caughtUp.get(follower) as number) < receiverBytesMax,
        `node ${follower}, sent the snapshot, allocated under ${mib(receiverBytesMax)} MiB: ${summary}`,
      );
      for (const peaks of [first, whole, caughtUp])
        for (const [id, peak] of peaks) assert.ok(peak < allocatedBytesMax, `node ${id} allocated under ${mib(allocatedBytesMax)} MiB: ${summary}`);
      console.log(`snapshots at scale: ${summary}`);
    },
  );
});
