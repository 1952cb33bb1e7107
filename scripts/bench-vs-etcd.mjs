#!/usr/bin/env node
// `npm run bench:vs-etcd`: Keel and etcd side by side, measured by one tool.
//
// Starts a 3-node Keel cluster (`keel cluster up --detach`, production settings) and a
// 3-node etcd (Debian's etcd-server, from scripts/setup-ci.sh), each on free loopback
// ports with its data in a temporary directory, then runs `keel bench --target
// etcd-grpc` for 1, 64 and 256 clients doing puts, linearizable gets and serializable
// gets against Keel's client ports and against etcd's, row by row (Keel, then etcd: on a
// shared machine whose load drifts, the two runs of a row see about the same load;
// the idle cluster only sends heartbeats meanwhile), and lease keep-alives (each client
// renewing its own lease on its own LeaseKeepAlive stream). Prints one table with both,
// the ratio Keel/etcd per row, and the server CPU per operation: the user and system
// time of the three server processes (from /proc/PID/stat) over the row, divided by the
// operations done.
//
// Then the same for client TLS: both clusters started again with TLS and client
// certificate authentication (`keel cluster up --tls`; etcd with --cert-file,
// --key-file, --trusted-ca-file, --client-cert-auth) and a few rows measured over TLS
// with the CA and a client certificate, so the cost of TLS shows beside etcd's.
//
// Each row also reports the servers' CPU per operation: the user and system time the
// three server processes spent during the row (from /proc/<pid>/stat), divided by the
// operations that succeeded; and the busiest server's CPU time over the row's wall time
// (for puts, the leader's busy share of one core). KEEL_VS_ETCD_OPS=put measures only
// the put rows.
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

const run = promisify(execFile);
const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
const seconds = Number(process.env.KEEL_BENCH_SECONDS ?? 5);
const timeoutS = Number(process.env.KEEL_VS_ETCD_TIMEOUT_S ?? 900);
const onlyOp = process.env.KEEL_VS_ETCD_OPS;
const workloads = [
  ['put', 'linearizable'],
  ['get', 'linearizable'],
  ['get', 'serializable'],
  ['keepalive', 'linearizable'],
].filter(([op]) => onlyOp === undefined || op === onlyOp);
const clientCounts = [1, 64, 256];
/** The rows measured again over TLS: the handshake is paid once per connection, the record layer per request. */
const tlsRows = [
  ['put', 'linearizable', 1],
  ['put', 'linearizable', 64],
  ['get', 'serializable', 64],
].filter(([op]) => onlyOp === undefined || op === onlyOp);
/** Linux's clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's times. */
const clockTicksPerSecond = 100;

/** User plus system CPU time of each of `pids`, in microseconds (0 for a process gone). */
function cpuMicrosEach(pids) {
  return pids.map((pid) => cpuMicros([pid]));
}

/** User plus system CPU time of `pids`, in microseconds (0 for a process gone). */
function cpuMicros(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Exited: its time is no longer counted.
    }
  }
  return (ticks * 1e6) / clockTicksPerSecond;
}

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

function rowName(op, consistency) {
  return op === 'get' ? `get (${consistency})` : op === 'keepalive' ? 'lease keep-alive' : 'put';
}

/** One workload row through the etcd gRPC API of `cluster`'s endpoints; adds the servers' CPU µs per successful operation. */
async function measureRow(system, cluster, op, consistency, clients, tls) {
  const { endpoints } = cluster;
  const tlsArgs = tls ? ['--cacert', tls.caFile, '--cert', tls.clientCertFile, '--key', tls.clientKeyFile] : [];
  const args = ['bench', '--target', 'etcd-grpc', '--endpoints', endpoints.join(','), '--op', op, '--consistency', consistency, ...tlsArgs];
  stopping.signal.throwIfAborted();
  // The prefill of a get row is not counted: the bench prints its JSON only at the end, so the CPU is read around a separate prefill.
  if (op === 'get')
    await keel([...args, '--clients', '64', '--value-size', '100', '--keys', '1000', '--requests', '1', '--json'], {
      signal: stopping.signal,
      timeout: 120_000,
    });
  const cpuBefore = cpuMicrosEach(cluster.pids());
  const { stdout } = await keel(
    [
      ...args,
      ...(op === 'get' ? ['--no-prefill'] : []),
      '--clients',
      String(clients),
      '--value-size',
      '100',
      '--keys',
      '1000',
      '--duration',
      String(seconds),
      '--json',
    ],
    {
      timeout: (seconds + 120) * 1000,
      signal: stopping.signal,
    },
  );
  const parsed = JSON.parse(stdout);
  const spent = cpuMicrosEach(cluster.pids()).map((micros, i) => micros - (cpuBefore[i] ?? 0));
  const cpuUsPerOp = parsed.ok > 0 ? spent.reduce((a, b) => a + b, 0) / parsed.ok : 0;
  // The busiest server's CPU time over the row's wall time: for writes, the leader's
  // busy share (one core is 1.0; its idle share is 1 minus this, while below 1).
  const busiestShare = Math.max(0, ...spent) / (parsed.elapsedMs * 1000);
  const result = { ...parsed, cpuUsPerOp, busiestShare };
  console.error(
    `${system}: ${rowName(op, consistency)}, ${clients} clients: ${Math.round(result.throughput)} ops/s, ${Math.round(cpuUsPerOp)} µs server CPU per op, busiest server ${busiestShare.toFixed(2)} of a core`,
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
  return { endpoints: [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`), pids, tls: files, stop };
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

function tableRow(op, consistency, clients, k, e) {
  const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  return `| ${rowName(op, consistency)} | ${clients} | ${Math.round(k.throughput)} | ${Math.round(e.throughput)} | ${ratio(k.throughput, e.throughput)} | ${k.latencyMs.p50.toFixed(2)} | ${e.latencyMs.p50.toFixed(2)} | ${k.latencyMs.p99.toFixed(2)} | ${e.latencyMs.p99.toFixed(2)} | ${Math.round(k.cpuUsPerOp)} | ${Math.round(e.cpuUsPerOp)} | ${ratio(k.cpuUsPerOp, e.cpuUsPerOp)} | ${k.busiestShare.toFixed(2)} | ${e.busiestShare.toFixed(2)} | ${k.errors}/${e.errors} |`;
}

function tlsTable(keelResults, etcdResults) {
  const lines = header('operation (TLS, client certificates)');
  for (const [op, consistency, clients] of tlsRows) {
    const key = `${op} ${consistency} ${clients}`;
    lines.push(tableRow(op, consistency, clients, keelResults.get(key), etcdResults.get(key)));
  }
  return lines.join('\n');
}

function table(keelResults, etcdResults) {
  const lines = header('operation');
  for (const [op, consistency] of workloads) {
    for (const clients of clientCounts) {
      const key = `${op} ${consistency} ${clients}`;
      lines.push(tableRow(op, consistency, clients, keelResults.get(key), etcdResults.get(key)));
    }
  }
  return lines.join('\n');
}

let exitCode = 0;
try {
  const loadBefore = loadavg()[0];
  const keelPlain = await startKeel();
  const etcdPlain = await startEtcd();
  const keelResults = new Map();
  const etcdResults = new Map();
  for (const [op, consistency] of workloads) {
    for (const clients of clientCounts) {
      const key = `${op} ${consistency} ${clients}`;
      keelResults.set(key, await measureRow('Keel', keelPlain, op, consistency, clients));
      etcdResults.set(key, await measureRow('etcd', etcdPlain, op, consistency, clients));
    }
  }
  // Only one pair of clusters runs at a time.
  await keelPlain.stop();
  await etcdPlain.stop();
  const keelTls = await startKeel(true);
  const etcdTls = await startEtcd(true);
  const keelTlsResults = new Map();
  const etcdTlsResults = new Map();
  for (const [op, consistency, clients] of tlsRows) {
    const key = `${op} ${consistency} ${clients}`;
    keelTlsResults.set(key, await measureRow('Keel TLS', keelTls, op, consistency, clients, keelTls.tls));
    etcdTlsResults.set(key, await measureRow('etcd TLS', etcdTls, op, consistency, clients, etcdTls.tls));
  }
  console.log(
    `Keel and etcd 3-node clusters on 127.0.0.1, both measured by keel bench --target etcd-grpc (100-byte values, 1,000 keys, ${seconds} s per row):\n`,
  );
  console.log(table(keelResults, etcdResults));
  console.log(`\nThe same over client TLS (ECDSA P-256 certificates, client certificate authentication on both):\n`);
  console.log(tlsTable(keelTlsResults, etcdTlsResults));
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
