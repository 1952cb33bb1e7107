#!/usr/bin/env node
// `npm run bench:scale -- --mib 256`: Keel and etcd 3.4 with a store of a given size.
//
// For each system, a fresh 3-node cluster of real processes on loopback (Keel through
// the e2e harness, production timing: 100 ms ticks, 10-tick election timeout; etcd as
// bench:vs-etcd starts it), through the etcd v3 gRPC API (EtcdGrpcClient, raw grpc-js):
//   1. empty store: puts, then linearizable gets, for --seconds each (--clients clients),
//      of values with the fill's sizes, so that the full store's rows read and write the
//      same mix and differ from these in the store's size alone;
//   2. fill to --mib MiB of live data: values of 256 B to 64 KiB (log-uniform), a
//      quarter of the puts overwriting a key written before, a compaction to the
//      current revision every 64 MiB written (so MVCC history is made and removed);
//   3. full store: the same puts and gets;
//   4. every member defragmented in turn while the puts go on: how long each took, the
//      files' sizes before and after, and the longest time without an acknowledged put;
//   5. kill -9 of one follower, started again: time to its first acknowledged put;
//   6. kill -9 of every member, all started again: time to the first acknowledged put.
// Meanwhile each member's /metrics is read every 500 ms: resident memory, leader changes
// and (Keel) the longest event-loop delay and the snapshots taken.
//
// Sizes: 64-256 MiB finish in minutes on a laptop. The 1 GiB and 4 GiB rows of the
// design goal need a quiet machine with the disk for it (each member keeps the store,
// its snapshot and its WAL: about 3x the live data per member) and time (the fill runs
// at the cluster's put rate); --quota-gib raises both systems' backend quota for them.
// `--only keel` or `--only etcd` measures one system; `--keep-logs DIR` keeps Keel's node logs;
// `--snapshot-log-percent N` sets Keel's snapshotLogPercent (how long the log grows between snapshots).
//
// Bounded: everything started is stopped and every temporary directory removed at the
// end, on Ctrl-C and after --timeout-s seconds (default 3600).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdGrpcClient } from '../dist/client/etcd-grpc-client.js';
import { Cluster } from '../dist/harness/cluster-harness.js';
import { startEtcdCluster } from '../dist/e2e/etcd-cluster.js';
import { firstAcknowledgedPut } from '../dist/e2e/recovery-trials.js';

const { values: flags } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    only: { type: 'string' },
    'quota-gib': { type: 'string', default: '2' },
    'timeout-s': { type: 'string', default: '3600' },
    'keep-logs': { type: 'string' },
    'snapshot-log-percent': { type: 'string' },
  },
});
const liveBytesTarget = Number(flags.mib) * 2 ** 20;
const clientCount = Number(flags.clients);
const phaseSeconds = Number(flags.seconds);
const quotaBytes = Number(flags['quota-gib']) * 2 ** 30;
const valueBytesMin = 256;
const valueBytesMax = 64 * 1024;
const overwriteShare = 0.25;
const compactEveryBytes = 64 * 2 ** 20;
const sampleMs = 500;
const requestTimeoutMs = 5_000;

const cleanups = [];
let cleaning;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((error) => console.error(`clean-up: ${error.message}`));
  })());
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void cleanup().then(() => process.exit(130)));
const overall = setTimeout(() => {
  console.error(`bench:scale: gave up after ${flags['timeout-s']} s`);
  void cleanup().then(() => process.exit(1));
}, Number(flags['timeout-s']) * 1000);

/** Incompressible value bytes, sliced from one pool. */
const pool = randomBytes(valueBytesMax * 4);
const valueOfSize = (size) => {
  const at = Math.floor(Math.random() * (pool.length - size));
  return pool.subarray(at, at + size);
};
/** Log-uniform between 256 B and 64 KiB: many small values, a few large ones carrying most bytes. */
const valueSize = () => Math.round(valueBytesMin * (valueBytesMax / valueBytesMin) ** Math.random());
const keyOf = (i) => `scale/${String(i).padStart(9, '0')}`;

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `clientCount` loops calling `op(worker)` until `until()` says stop; latencies in ms. */
async function load(op, until) {
  const latencies = [];
  let errors = 0;
  const startMs = performance.now();
  await Promise.all(
    Array.from({ length: clientCount }, async (_, worker) => {
      while (!until()) {
        const t = performance.now();
        try {
          await op(worker);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - startMs) / 1000;
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length, errors, seconds, throughput: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** One gRPC connection per member; worker i uses member i mod 3, as `keel bench` does. */
function clientsFor(endpoints) {
  const clients = endpoints.map((e) => new EtcdGrpcClient(e, requestTimeoutMs));
  return { of: (worker) => clients[worker % clients.length], close: () => clients.forEach((c) => c.close()) };
}

async function timed(op, keys, endpoints) {
  const clients = clientsFor(endpoints);
  try {
    const endMs = performance.now() + phaseSeconds * 1000;
    const until = () => performance.now() >= endMs;
    if (op === 'put') return await load((w) => clients.of(w).put(keyOf(Math.floor(Math.random() * keys.count)), valueOfSize(valueSize())), until);
    return await load((w) => clients.of(w).get(keyOf(Math.floor(Math.random() * keys.count))), until);
  } finally {
    clients.close();
  }
}

/** Writes new keys (and overwrites) until the live values reach the target size. */
async function fill(endpoints, keys) {
  const clients = clientsFor(endpoints);
  const sizes = [];
  let live = 0;
  let written = 0;
  let sinceCompact = 0;
  let revision = 0;
  let compactions = 0;
  try {
    const result = await load(
      async (w) => {
        const overwrite = sizes.length > 0 && Math.random() < overwriteShare;
        const index = overwrite ? Math.floor(Math.random() * sizes.length) : sizes.length;
        const size = valueSize();
        if (!overwrite) sizes.push(0);
        const response = await clients.of(w).put(keyOf(index), valueOfSize(size));
        live += size - sizes[index];
        sizes[index] = size;
        written += size;
        sinceCompact += size;
        revision = Math.max(revision, Number(response.header?.revision ?? 0));
        if (sinceCompact >= compactEveryBytes) {
          sinceCompact = 0;
          compactions++;
          await clients
            .of(w)
            .call('Compact', { revision: Math.max(1, revision - 1000) }, 60_000)
            .catch((error) => console.error(`compact: ${error.message}`));
        }
      },
      () => live >= liveBytesTarget,
    );
    keys.count = sizes.length;
    return { ...result, liveBytes: live, writtenBytes: written, keys: sizes.length, compactions };
  } finally {
    clients.close();
  }
}

/**
 * Defragments the members one after another (etcd's Maintenance.Defragment, on each) while
 * the clients go on putting 4 KiB values: each member's time and file size before and
 * after (Maintenance.Status dbSize), and what the puts saw, with the longest time no put
 * was acknowledged.
 */
async function defragmentUnderLoad(endpoints, keys) {
  const clients = clientsFor(endpoints);
  const admins = endpoints.map((e) => new EtcdGrpcClient(e, 600_000));
  const dbSize = async (admin) => Number((await admin.maintenanceCall('Status', {}, 30_000)).dbSize);
  let done = false;
  let lastAckMs = performance.now();
  let longestGapMs = 0;
  const members = [];
  try {
    const puts = load(
      async (w) => {
        await clients.of(w).put(keyOf(Math.floor(Math.random() * keys.count)), valueOfSize(4096));
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - lastAckMs);
        lastAckMs = now;
      },
      () => done,
    );
    try {
      for (const admin of admins) {
        const beforeBytes = await dbSize(admin);
        const startMs = performance.now();
        await admin.maintenanceCall('Defragment', {}, 600_000);
        members.push({ ms: performance.now() - startMs, beforeBytes, afterBytes: await dbSize(admin) });
      }
    } finally {
      done = true;
    }
    const result = await puts;
    return { ...result, members, longestGapMs: Math.max(longestGapMs, performance.now() - lastAckMs) };
  } finally {
    clients.close();
    for (const admin of admins) admin.close();
  }
}

/** Reads every member's /metrics every 500 ms: the worst RSS and heap, event-loop delay, and the leader changes seen. */
function sampler(metricsUrls, names) {
  const worst = { rssBytes: 0, heapBytes: 0, loopDelayMaxS: 0, snapshots: 0, snapshotCopyMaxS: 0, snapshotMaxS: 0, snapshotBytes: 0 };
  const first = new Map();
  const last = new Map();
  const read = async () => {
    await Promise.all(
      metricsUrls.map(async (url, i) => {
        // A member that does not answer in time (stopped, or starved of CPU) is read next time.
        const text = await fetch(url, { signal: AbortSignal.timeout(2_000) })
          .then((r) => r.text())
          .catch(() => '');
        const value = (name) => {
          const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
          return match ? Number(match[1]) : undefined;
        };
        const rss = value(names.rss);
        if (rss !== undefined) worst.rssBytes = Math.max(worst.rssBytes, rss);
        const heap = value(names.heap);
        if (heap !== undefined) worst.heapBytes = Math.max(worst.heapBytes, heap);
        const changes = value(names.leaderChanges);
        if (changes !== undefined) {
          if (!first.has(i)) first.set(i, changes);
          last.set(i, changes);
        }
        worst.loopDelayMaxS = Math.max(worst.loopDelayMaxS, value('keel_event_loop_delay_max_seconds') ?? 0);
        worst.snapshotCopyMaxS = Math.max(worst.snapshotCopyMaxS, value('keel_snapshot_copy_last_seconds') ?? 0);
        worst.snapshotMaxS = Math.max(worst.snapshotMaxS, value('keel_snapshot_last_seconds') ?? 0);
        worst.snapshotBytes = Math.max(worst.snapshotBytes, value('keel_snapshot_last_bytes') ?? 0);
        worst.snapshots = Math.max(worst.snapshots, value('keel_snapshots_total') ?? 0);
      }),
    );
  };
  const timer = setInterval(() => void read(), sampleMs);
  return {
    read,
    /** The most leader changes any member saw since sampling began (a member's first leader counts once at start-up, not here). */
    leaderChanges: () => Math.max(0, ...[...last].map(([i, n]) => n - (first.get(i) ?? n))),
    worst,
    /** Starts the memory maxima again (the empty store's are kept apart). */
    resetRss: () => {
      worst.rssBytes = 0;
      worst.heapBytes = 0;
    },
    stop: () => clearInterval(timer),
  };
}

async function measure(system) {
  console.error(`\n== ${system.name}`);
  const keys = { count: 1000 };
  // Empty store: 1,000 keys to read and overwrite, their values sized as the fill's.
  const seed = clientsFor(system.endpoints);
  // Retried: on a loaded machine a fresh cluster may miss the odd deadline.
  const put = async (worker, key) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await seed.of(worker).put(key, valueOfSize(valueSize()));
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }
  };
  for (let i = 0; i < keys.count; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => put(j, keyOf(i + j))));
  seed.close();
  const samples = sampler(system.metricsUrls, system.metricNames);
  await samples.read();
  const row = { name: system.name };
  row.emptyPut = await timed('put', keys, system.endpoints);
  row.emptyGet = await timed('get', keys, system.endpoints);
  await samples.read();
  row.emptyRssBytes = samples.worst.rssBytes;
  row.emptyHeapBytes = samples.worst.heapBytes;
  console.error(
    `${system.name} empty: put ${Math.round(row.emptyPut.throughput)}/s p99 ${row.emptyPut.p99.toFixed(1)} ms; get ${Math.round(row.emptyGet.throughput)}/s p99 ${row.emptyGet.p99.toFixed(1)} ms`,
  );
  samples.resetRss();
  row.fill = await fill(system.endpoints, keys);
  console.error(
    `${system.name} fill: ${row.fill.keys} keys, ${(row.fill.liveBytes / 2 ** 20).toFixed(0)} MiB live, ${(row.fill.writtenBytes / 2 ** 20).toFixed(0)} MiB written in ${row.fill.seconds.toFixed(1)} s, ${row.fill.errors} failed puts`,
  );
  row.fullPut = await timed('put', keys, system.endpoints);
  row.fullGet = await timed('get', keys, system.endpoints);
  await samples.read();
  samples.stop();
  row.fullRssBytes = samples.worst.rssBytes;
  row.fullHeapBytes = samples.worst.heapBytes;
  row.leaderChanges = samples.leaderChanges();
  row.worst = { ...samples.worst };
  console.error(
    `${system.name} memory per member at most: resident ${mib(row.emptyRssBytes)} MiB empty, ${mib(row.fullRssBytes)} MiB full (the store's mapped pages included); heap in use ${mib(row.emptyHeapBytes)} MiB empty, ${mib(row.fullHeapBytes)} MiB full`,
  );
  console.error(
    `${system.name} full: put ${Math.round(row.fullPut.throughput)}/s p99 ${row.fullPut.p99.toFixed(1)} ms; get ${Math.round(row.fullGet.throughput)}/s p99 ${row.fullGet.p99.toFixed(1)} ms; ${row.leaderChanges} leader changes`,
  );
  row.defrag = await defragmentUnderLoad(system.endpoints, keys);
  console.error(
    `${system.name} defragmentation: ${row.defrag.members.map((m) => `${Math.round(m.ms)} ms, ${mib(m.beforeBytes)} -> ${mib(m.afterBytes)} MiB`).join('; ')}; puts meanwhile ${Math.round(row.defrag.throughput)}/s p99 ${row.defrag.p99.toFixed(1)} ms, ${row.defrag.errors} failed, longest without an acknowledged put ${Math.round(row.defrag.longestGapMs)} ms`,
  );
  // One member: a follower (any member but the one that answers as leader).
  const one = await system.followerIndex();
  await system.kill(one);
  let startMs = performance.now();
  await system.start(one);
  row.restartOneMs = await firstAcknowledgedPut([system.endpoints[one]], startMs, 'scale/restart-one');
  console.error(`${system.name}: member ${one + 1} killed and restarted, first put through it after ${Math.round(row.restartOneMs)} ms`);
  await system.settle();
  await Promise.all(system.endpoints.map((_, i) => system.kill(i)));
  startMs = performance.now();
  const starting = Promise.all(system.endpoints.map((_, i) => system.start(i)));
  row.restartAllMs = await firstAcknowledgedPut(system.endpoints, startMs, 'scale/restart-all');
  await starting;
  console.error(`${system.name}: every member killed and restarted, first put after ${Math.round(row.restartAllMs)} ms`);
  return row;
}

async function keelSystem() {
  const cluster = await Cluster.start({
    tickMs: 100,
    electionTicks: 10,
    requestTimeoutMs,
    env: { KEEL_QUOTA_BACKEND_BYTES: String(quotaBytes) },
    ...(flags['snapshot-log-percent'] !== undefined ? { snapshotLogPercent: Number(flags['snapshot-log-percent']) } : {}),
  });
  cleanups.push(() => cluster.destroy());
  if (flags['keep-logs']) {
    const into = flags['keep-logs'];
    cleanups.push(async () => {
      mkdirSync(into, { recursive: true });
      for (const n of cluster.nodes) copyFileSync(n.logPath, join(into, `keel-node-${n.id}.log`));
    });
  }
  const endpoints = cluster.nodes.map((n) => n.grpcEndpoint);
  return {
    name: 'Keel',
    endpoints,
    metricsUrls: cluster.nodes.map((n) => `${n.url}/metrics`),
    metricNames: { rss: 'process_resident_memory_bytes', heap: 'nodejs_heap_size_used_bytes', leaderChanges: 'keel_raft_leader_changes_seen_total' },
    followerIndex: async () => {
      const leader = (await cluster.waitForLeader({ timeoutMs: 60_000 })).id;
      return cluster.nodes.findIndex((n) => n.id !== leader);
    },
    kill: async (i) => void (await cluster.kill(i + 1)),
    // Spawned only: the harness's own start waits for HTTP, which is part of what is timed.
    start: (i) => cluster.startNode(i + 1),
    settle: () => cluster.waitForConverged(120_000),
  };
}

async function etcdSystem() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-scale-etcd-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const etcd = await startEtcdCluster({ size: 3, dir, extraArgs: [`--quota-backend-bytes=${quotaBytes}`] });
  cleanups.push(() => etcd.stop());
  const status = async (endpoint) => {
    const text = await fetch(`http://${endpoint}/metrics`).then((r) => r.text());
    return /^etcd_server_is_leader 1$/m.test(text);
  };
  return {
    name: 'etcd',
    endpoints: etcd.endpoints,
    metricsUrls: etcd.endpoints.map((e) => `http://${e}/metrics`),
    metricNames: { rss: 'process_resident_memory_bytes', heap: 'go_memstats_heap_inuse_bytes', leaderChanges: 'etcd_server_leader_changes_seen_total' },
    followerIndex: async () => {
      for (const [i, e] of etcd.endpoints.entries()) if (!(await status(e))) return i;
      throw new Error('every etcd member says it leads');
    },
    kill: (i) => etcd.kill(i),
    start: async (i) => etcd.start(i),
    settle: async () => {
      const client = new EtcdGrpcClient(etcd.endpoints[0], 2_000);
      try {
        for (const deadline = performance.now() + 120_000; performance.now() < deadline; ) {
          if (
            await client.get('scale/probe').then(
              () => true,
              () => false,
            )
          )
            return;
        }
      } finally {
        client.close();
      }
    },
  };
}

const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
function report(rows) {
  const lines = [
    `| system | store | put/s | put p99 ms | get/s | get p99 ms | RSS max per member MiB | leader changes | longest event-loop delay ms | restart one member ms | restart all ms |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const loop = r.name === 'Keel' ? (r.worst.loopDelayMaxS * 1000).toFixed(0) : 'n/a';
    lines.push(
      `| ${r.name} | empty | ${Math.round(r.emptyPut.throughput)} | ${r.emptyPut.p99.toFixed(1)} | ${Math.round(r.emptyGet.throughput)} | ${r.emptyGet.p99.toFixed(1)} | ${mib(r.emptyRssBytes)} | | | | |`,
    );
    lines.push(
      `| ${r.name} | ${mib(r.fill.liveBytes)} MiB live | ${Math.round(r.fullPut.throughput)} | ${r.fullPut.p99.toFixed(1)} | ${Math.round(r.fullGet.throughput)} | ${r.fullGet.p99.toFixed(1)} | ${mib(r.fullRssBytes)} | ${r.leaderChanges} | ${loop} | ${Math.round(r.restartOneMs)} | ${Math.round(r.restartAllMs)} |`,
    );
  }
  lines.push('');
  for (const r of rows) {
    lines.push(
      `${r.name} fill: ${r.fill.keys} keys, ${mib(r.fill.writtenBytes)} MiB written in ${r.fill.seconds.toFixed(1)} s (${Math.round(r.fill.throughput)} puts/s, p99 ${r.fill.p99.toFixed(0)} ms), ${r.fill.errors} failed puts, ${r.fill.compactions} compactions`,
    );
    lines.push(
      `${r.name} defragmentation of each member in turn under 4 KiB puts: ${r.defrag.members.map((m) => `${(m.ms / 1000).toFixed(1)} s (${mib(m.beforeBytes)} -> ${mib(m.afterBytes)} MiB)`).join(', ')}; puts meanwhile ${Math.round(r.defrag.throughput)}/s, p99 ${r.defrag.p99.toFixed(0)} ms, ${r.defrag.errors} failed, longest time without an acknowledged put ${Math.round(r.defrag.longestGapMs)} ms`,
    );
    if (r.name === 'Keel') {
      lines.push(
        `Keel snapshots: ${r.worst.snapshots} per member at most, the largest ${mib(r.worst.snapshotBytes)} MiB; longest copy (5 ms slices) ${(r.worst.snapshotCopyMaxS * 1000).toFixed(0)} ms, longest in all ${(r.worst.snapshotMaxS * 1000).toFixed(0)} ms (as sampled)`,
      );
    }
  }
  return lines.join('\n');
}

const rows = [];
let exitCode = 0;
try {
  const loadBefore = loadavg()[0];
  for (const make of [keelSystem, etcdSystem]) {
    if (flags.only && make !== (flags.only === 'etcd' ? etcdSystem : keelSystem)) continue;
    const system = await make();
    rows.push(await measure(system));
    await cleanup();
    cleaning = undefined;
    cleanups.length = 0;
  }
  console.log(
    `\n3-member clusters on 127.0.0.1, ${clientCount} clients, ${phaseSeconds} s per put/get phase (puts with the fill's value sizes, linearizable gets), target ${flags.mib} MiB of live data:\n`,
  );
  console.log(report(rows));
  console.log(`\nload average (1 min) before: ${loadBefore.toFixed(1)}, after: ${loadavg()[0].toFixed(1)}, on ${availableParallelism()} cores`);
} catch (error) {
  console.error(`bench:scale: ${error.stack ?? error.message}`);
  exitCode = 1;
} finally {
  clearTimeout(overall);
  await cleanup();
}
process.exitCode = exitCode;
