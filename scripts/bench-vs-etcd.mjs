#!/usr/bin/env node
// `npm run bench:vs-etcd`: Keel and etcd side by side, measured by one tool.
//
// Starts a 3-node Keel cluster (`keel cluster up --detach`, production settings) and a
// 3-node etcd (Debian's etcd-server and etcdctl, from scripts/setup-ci.sh), each on free loopback
// ports with its data in a temporary directory, puts to each for KEEL_VS_ETCD_WARMUP_S
// (default 10) seconds unmeasured (Keel's JavaScript is compiled while it runs; a fresh
// node's first seconds measure the compiler), then runs `keel bench --target etcd-grpc`
// row by row (Keel, then etcd: on a shared machine whose load drifts, the two runs of a
// row see about the same load; the idle cluster only sends heartbeats meanwhile), with
// each cluster's leader first among its endpoints (one client talks to the leader): puts,
// linearizable and serializable gets and lease keep-alives (each client renewing its own
// lease on its own LeaseKeepAlive stream) for 1, 64 and 256 clients; txns (a compare and
// a put) and puts of 64 KiB values for 64 clients; and watch fan-out, 16 clients putting
// while 1,000 watchers (a Watch stream each) receive every put. Prints one table with
// both, the ratio Keel/etcd per row, the events per second the watchers received, and
// each server's resident memory idle after start and after the rows.
//
// Then the same for client TLS: both clusters started again with TLS and client
// certificate authentication (`keel cluster up --tls`; etcd with --cert-file,
// --key-file, --trusted-ca-file, --client-cert-auth) and a few rows measured over TLS
// with the CA and a client certificate, so the cost of TLS shows beside etcd's.
//
// Each row also reports the servers' CPU per operation: the user and system time the
// three server processes spent during the row (from /proc/<pid>/stat), divided by the
// operations that succeeded; and the busiest server's CPU time over the row's wall time
// (for puts, the leader's busy share of one core). A second table says where that CPU
// went, per operation: user and system time apart, read and write system calls, and
// context switches (harness/process-work.ts). KEEL_VS_ETCD_OPS=put measures only the
// put rows.
//
// Bounded: each row runs KEEL_BENCH_SECONDS (default 5) seconds, and the whole run is
// abandoned after KEEL_VS_ETCD_TIMEOUT_S (default 900) seconds. Everything it started
// is stopped and every temporary directory removed, also on Ctrl-C.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEtcdCluster } from '../dist/e2e/etcd-cluster.js';
import { freeBasePort } from '../dist/harness/free-ports.js';
import { writeTlsBundle } from '../dist/tls/tls-bundle.js';
import { hostsFor } from '../dist/tls/certificates.js';
import { processWork, totalWork, workBetween } from '../dist/harness/process-work.js';
import { etcdctl } from '../dist/e2e/etcdctl.js';

const run = promisify(execFile);
const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
const seconds = Number(process.env.KEEL_BENCH_SECONDS ?? 5);
const timeoutS = Number(process.env.KEEL_VS_ETCD_TIMEOUT_S ?? 900);
const onlyOp = process.env.KEEL_VS_ETCD_OPS;
/**
 * The rows, each measured on Keel then on etcd. valueSize defaults to 100 bytes; a watch
 * row's clients put while `watchers` watchers receive every put.
 */
const rows = [
  ...[1, 64, 256].map((clients) => ({ op: 'put', clients })),
  ...[1, 64, 256].map((clients) => ({ op: 'get', consistency: 'linearizable', clients })),
  ...[1, 64, 256].map((clients) => ({ op: 'get', consistency: 'serializable', clients })),
  ...[1, 64, 256].map((clients) => ({ op: 'keepalive', clients })),
  { op: 'txn', clients: 64 },
  { op: 'put', clients: 64, valueSize: 64 * 1024 },
  { op: 'watch', clients: 16, watchers: 1000 },
].filter((row) => onlyOp === undefined || row.op === onlyOp);
/** The rows measured again over TLS: the handshake is paid once per connection, the record layer per request. */
const tlsRows = [
  { op: 'put', clients: 1 },
  { op: 'put', clients: 64 },
  { op: 'get', consistency: 'serializable', clients: 64 },
].filter((row) => onlyOp === undefined || row.op === onlyOp);
/** Unmeasured load on each fresh cluster before its first row: Keel's JavaScript is compiled as it runs (etcd's Go is not), and a server is judged running, not starting. */
const warmUpSeconds = Number(process.env.KEEL_VS_ETCD_WARMUP_S ?? 10);

/** Aborted on Ctrl-C or at the overall deadline: kills the bench run in flight, starts no other. */
const stopping = new AbortController();
const cleanups = [];
let cleaning;
function cleanup() {
  stopping.abort();
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`clean-up: ${error.message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping both clusters and removing their data...`);
    void cleanup().then(() => process.exit(130));
  });
}
const overall = setTimeout(() => {
  console.error(`bench:vs-etcd: gave up after ${timeoutS} s`);
  void cleanup().then(() => process.exit(1));
}, timeoutS * 1000);
overall.unref();

const keel = (args, options = {}) => run(process.execPath, [main, ...args], { encoding: 'utf8', maxBuffer: 16 << 20, ...options });

function rowName(row) {
  if (row.op === 'get') return `get (${row.consistency})`;
  if (row.op === 'keepalive') return 'lease keep-alive';
  if (row.op === 'txn') return 'txn (compare, put)';
  if (row.op === 'watch') return `put, ${row.watchers.toLocaleString('en-US')} watchers`;
  return row.valueSize ? `put ${row.valueSize / 1024} KiB` : 'put';
}

const rowKey = (row) => JSON.stringify(row);

/** The bench's arguments for `row` through `cluster`'s endpoints. */
function benchArgs(cluster, row, tls) {
  const tlsArgs = tls ? ['--cacert', tls.caFile, '--cert', tls.clientCertFile, '--key', tls.clientKeyFile] : [];
  const op = ['--op', row.op, ...(row.consistency ? ['--consistency', row.consistency] : []), ...(row.watchers ? ['--watchers', String(row.watchers)] : [])];
  return [
    'bench',
    '--target',
    'etcd-grpc',
    '--endpoints',
    cluster.endpoints.join(','),
    ...op,
    '--value-size',
    String(row.valueSize ?? 100),
    '--keys',
    '1000',
    ...tlsArgs,
  ];
}

/**
 * `cluster`'s endpoints with its leader's first, as `etcdctl endpoint status` finds it
 * (the same question to Keel and to etcd). The bench puts client i on endpoint i mod 3,
 * so a one-client row measures the leader's path on both sides rather than whichever
 * node is listed first: through a follower every request takes one more hop, and which
 * side drew a follower changed from run to run. More clients spread over all three
 * nodes as before.
 */
async function leaderFirst(cluster, tls) {
  const tlsArgs = tls ? [`--cacert=${tls.caFile}`, `--cert=${tls.clientCertFile}`, `--key=${tls.clientKeyFile}`] : [];
  const { code, stdout, stderr } = await etcdctl(cluster.endpoints.join(','), [...tlsArgs, 'endpoint', 'status', '-w', 'simple']);
  if (code !== 0) throw new Error(`etcdctl endpoint status failed: ${stderr.trim()}`);
  // Each line: endpoint, member id, version, db size, is leader, is learner, term, index, applied index, errors.
  const leader = stdout
    .split('\n')
    .map((line) => line.split(', '))
    .find((fields) => fields[4] === 'true')?.[0];
  if (leader === undefined || !cluster.endpoints.includes(leader)) throw new Error(`no leader among ${cluster.endpoints.join(', ')}:\n${stdout}`);
  return [leader, ...cluster.endpoints.filter((endpoint) => endpoint !== leader)];
}

/** Resident memory of each of `pids`, in MiB (0 for a process gone). */
function residentMiB(pids) {
  return pids.map((pid) => {
    try {
      const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      return kib ? Math.round(Number(kib) / 1024) : 0;
    } catch {
      return 0;
    }
  });
}

/** Unmeasured puts from 64 clients for warmUpSeconds. */
async function warmUp(cluster, tls) {
  if (warmUpSeconds <= 0) return;
  stopping.signal.throwIfAborted();
  await keel([...benchArgs(cluster, { op: 'put' }, tls), '--clients', '64', '--duration', String(warmUpSeconds), '--json'], {
    timeout: (warmUpSeconds + 120) * 1000,
    signal: stopping.signal,
  });
}

/**
 * Fails the run, naming the server and with the end of its log, if one of `cluster`'s
 * servers exited during `row`: its CPU would vanish from the sums, and the next row
 * would only find its port closed. The log is read before the run removes it.
 */
function assertServersRunning(system, cluster, row) {
  cluster.pids().forEach((pid, i) => {
    try {
      process.kill(pid, 0);
    } catch {
      const log = cluster.logFile?.(i);
      let tail = '(no log)';
      try {
        if (log) tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
      } catch {
        tail = `(${log} could not be read)`;
      }
      throw new Error(`${system}'s server ${i + 1} (pid ${pid}) exited during the row ${rowName(row)}, ${row.clients} clients; the end of its log:\n${tail}`);
    }
  });
}

/** One row through the etcd gRPC API of `cluster`'s endpoints; adds the servers' CPU µs per successful operation. */
async function measureRow(system, cluster, row, tls) {
  const args = benchArgs(cluster, row, tls);
  stopping.signal.throwIfAborted();
  // The prefill of a get row is not counted: the bench prints its JSON only at the end, so the CPU is read around a separate prefill.
  if (row.op === 'get')
    await keel([...args, '--clients', '64', '--requests', '1', '--json'], {
      signal: stopping.signal,
      timeout: 120_000,
    });
  const before = cluster.pids().map(processWork);
  const { stdout } = await keel(
    [...args, ...(row.op === 'get' ? ['--no-prefill'] : []), '--clients', String(row.clients), '--duration', String(seconds), '--json'],
    {
      timeout: (seconds + 120) * 1000,
      signal: stopping.signal,
    },
  );
  const parsed = JSON.parse(stdout);
  assertServersRunning(system, cluster, row);
  const each = cluster.pids().map((pid, i) => workBetween(before[i] ?? processWork(pid), processWork(pid)));
  const all = totalWork(each);
  const perOp = (value) => (parsed.ok > 0 ? value / parsed.ok : 0);
  const cpuUsPerOp = perOp(all.userMicros + all.systemMicros);
  // The busiest server's CPU time over the row's wall time: for writes, the leader's
  // busy share (one core is 1.0; its idle share is 1 minus this, while below 1).
  const busiestShare = Math.max(0, ...each.map((work) => work.userMicros + work.systemMicros)) / (parsed.elapsedMs * 1000);
  const work = {
    userUsPerOp: perOp(all.userMicros),
    systemUsPerOp: perOp(all.systemMicros),
    callsPerOp: perOp(all.readWriteCalls),
    switchesPerOp: perOp(all.contextSwitches),
  };
  const result = { ...parsed, cpuUsPerOp, busiestShare, work };
  const events = parsed.events ? `, ${parsed.events.perSecond} events/s delivered (${parsed.events.delivered} of ${parsed.events.expected})` : '';
  console.error(
    `${system}: ${rowName(row)}, ${row.clients} clients: ${Math.round(result.throughput)} ops/s${events}, ${Math.round(cpuUsPerOp)} µs server CPU per op, busiest server ${busiestShare.toFixed(2)} of a core`,
  );
  return result;
}

/** With `tls`: `keel cluster up --tls`, whose CA and client certificate are returned with the endpoints. */
async function startKeel(tls = false) {
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-vs-etcd-keel-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const basePort = await freeBasePort(3, [0, 100]);
  const stop = async () => {
    await keel(['cluster', 'down', '--data-dir', dataDir]).catch(() => undefined);
  };
  cleanups.push(stop);
  await keel(['cluster', 'up', '--data-dir', dataDir, '--base-port', String(basePort), '--detach', '--log-level', 'warn', ...(tls ? ['--tls'] : [])], {
    timeout: 120_000,
  });
  const files = tls
    ? { caFile: join(dataDir, 'tls', 'ca.pem'), clientCertFile: join(dataDir, 'tls', 'client.pem'), clientKeyFile: join(dataDir, 'tls', 'client-key.pem') }
    : undefined;
  // The client ports, which serve gRPC too.
  // The node processes `keel cluster up` supervises (its cluster file lists them).
  const pids = () => JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')).pids;
  // `keel cluster up` writes node i+1's output to node<i+1>.log in the data directory.
  const logFile = (i) => join(dataDir, `node${i + 1}.log`);
  return { endpoints: [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`), pids, logFile, tls: files, stop };
}

async function startEtcd(tls = false) {
  const dir = mkdtempSync(join(tmpdir(), 'keel-vs-etcd-etcd-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const files = tls ? await writeTlsBundle(join(dir, 'tls'), { serverHosts: hostsFor('127.0.0.1') }) : undefined;
  const etcd = await startEtcdCluster({ size: 3, dir, ...(files ? { tls: files } : {}) });
  cleanups.push(() => etcd.stop());
  return { endpoints: etcd.endpoints, pids: () => etcd.pids(), tls: files, stop: () => etcd.stop() };
}

const header = (what) => [
  `| ${what} | clients | Keel ops/s | etcd ops/s | Keel/etcd | Keel p50 ms | etcd p50 ms | Keel p99 ms | etcd p99 ms | Keel CPU µs/op | etcd CPU µs/op | CPU Keel/etcd | Keel busiest server | etcd busiest server | errors Keel/etcd |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];

function tableRow(row, k, e) {
  const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  return `| ${rowName(row)} | ${row.clients} | ${Math.round(k.throughput)} | ${Math.round(e.throughput)} | ${ratio(k.throughput, e.throughput)} | ${k.latencyMs.p50.toFixed(2)} | ${e.latencyMs.p50.toFixed(2)} | ${k.latencyMs.p99.toFixed(2)} | ${e.latencyMs.p99.toFixed(2)} | ${Math.round(k.cpuUsPerOp)} | ${Math.round(e.cpuUsPerOp)} | ${ratio(k.cpuUsPerOp, e.cpuUsPerOp)} | ${k.busiestShare.toFixed(2)} | ${e.busiestShare.toFixed(2)} | ${k.errors}/${e.errors} |`;
}

function table(what, tableRows, keelResults, etcdResults) {
  const lines = header(what);
  for (const row of tableRows) lines.push(tableRow(row, keelResults.get(rowKey(row)), etcdResults.get(rowKey(row))));
  return lines.join('\n');
}

/** Where the three servers' CPU went, per successful operation. */
function workTable(tableRows, keelResults, etcdResults) {
  const lines = [
    '| operation | clients | Keel user µs/op | etcd user µs/op | Keel system µs/op | etcd system µs/op | Keel read+write calls/op | etcd read+write calls/op | Keel context switches/op | etcd context switches/op |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of tableRows) {
    const k = keelResults.get(rowKey(row)).work;
    const e = etcdResults.get(rowKey(row)).work;
    const pair = (name, digits) => `${k[name].toFixed(digits)} | ${e[name].toFixed(digits)}`;
    lines.push(
      `| ${rowName(row)} | ${row.clients} | ${pair('userUsPerOp', 0)} | ${pair('systemUsPerOp', 0)} | ${pair('callsPerOp', 2)} | ${pair('switchesPerOp', 2)} |`,
    );
  }
  return lines.join('\n');
}

/** The watch rows' fan-out: events delivered per second to every watcher together. */
function watchLines(keelResults, etcdResults) {
  return rows
    .filter((row) => row.op === 'watch')
    .map((row) => {
      const k = keelResults.get(rowKey(row)).events;
      const e = etcdResults.get(rowKey(row)).events;
      return `Watch fan-out, ${row.watchers.toLocaleString('en-US')} watchers (one stream each) of the prefix ${row.clients} clients put to: Keel ${k.perSecond.toLocaleString('en-US')} events/s (${k.delivered} of ${k.expected} delivered), etcd ${e.perSecond.toLocaleString('en-US')} events/s (${e.delivered} of ${e.expected}).`;
    })
    .join('\n');
}

/** Measures every row of `tableRows` on a fresh pair of clusters, Keel then etcd per row. */
async function measurePair(tls, tableRows) {
  const keelCluster = await startKeel(tls);
  const etcdCluster = await startEtcd(tls);
  const memory = { keelIdle: residentMiB(keelCluster.pids()), etcdIdle: residentMiB(etcdCluster.pids()) };
  await warmUp(keelCluster, keelCluster.tls);
  await warmUp(etcdCluster, etcdCluster.tls);
  const keelResults = new Map();
  const etcdResults = new Map();
  for (const row of tableRows) {
    // Asked before every row: a leader may change between rows.
    keelCluster.endpoints = await leaderFirst(keelCluster, keelCluster.tls);
    keelResults.set(rowKey(row), await measureRow(tls ? 'Keel TLS' : 'Keel', keelCluster, row, keelCluster.tls));
    etcdCluster.endpoints = await leaderFirst(etcdCluster, etcdCluster.tls);
    etcdResults.set(rowKey(row), await measureRow(tls ? 'etcd TLS' : 'etcd', etcdCluster, row, etcdCluster.tls));
  }
  memory.keelAfter = residentMiB(keelCluster.pids());
  memory.etcdAfter = residentMiB(etcdCluster.pids());
  // Only one pair of clusters runs at a time.
  await keelCluster.stop();
  await etcdCluster.stop();
  return { keelResults, etcdResults, memory };
}

let exitCode = 0;
try {
  const loadBefore = loadavg()[0];
  const plain = await measurePair(false, rows);
  const secure = await measurePair(true, tlsRows);
  console.log(
    `Keel and etcd 3-node clusters on 127.0.0.1, both measured by keel bench --target etcd-grpc (100-byte values unless the row says, 1,000 keys, ${seconds} s per row, after ${warmUpSeconds} s of unmeasured puts on each fresh cluster):\n`,
  );
  console.log(table('operation', rows, plain.keelResults, plain.etcdResults));
  console.log(`\nWhere the three servers' CPU went, per operation (user and system time, read and write system calls, context switches of all threads):\n`);
  console.log(workTable(rows, plain.keelResults, plain.etcdResults));
  const watched = watchLines(plain.keelResults, plain.etcdResults);
  if (watched) console.log(`\n${watched}`);
  const mib = (values) => values.join(' / ');
  console.log(
    `\nResident memory per server (MiB): Keel ${mib(plain.memory.keelIdle)} idle after start, ${mib(plain.memory.keelAfter)} after the rows; etcd ${mib(plain.memory.etcdIdle)} idle, ${mib(plain.memory.etcdAfter)} after.`,
  );
  console.log(`\nThe same over client TLS (ECDSA P-256 certificates, client certificate authentication on both):\n`);
  console.log(table('operation (TLS, client certificates)', tlsRows, secure.keelResults, secure.etcdResults));
  // Other work on the machine skews both columns; the load average tells how much there was.
  console.log(`\nload average (1 min) before: ${loadBefore.toFixed(1)}, after: ${loadavg()[0].toFixed(1)}, on ${availableParallelism()} cores`);
} catch (error) {
  if (!stopping.signal.aborted) console.error(`bench:vs-etcd: ${error.stderr || error.message}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(overall);
}
process.exitCode = exitCode;
