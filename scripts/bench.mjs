#!/usr/bin/env node
// `npm run bench`: starts a fresh local 3-node cluster in a temporary directory, runs
// `keel bench` for 1, 64 and 256 clients doing puts, linearizable gets and
// serializable gets, prints one table (and each node's resident memory), then stops
// the cluster and removes its data. Bounded: each row runs --duration seconds.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
const seconds = Number(process.env.KEEL_BENCH_SECONDS ?? 5);
const basePort = Number(process.env.KEEL_BENCH_BASE_PORT ?? 7501);
const dataDir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
const endpoints = [0, 1, 2].map((i) => `http://127.0.0.1:${basePort + i}`).join(',');
const keel = (args) => execFileSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, KEEL_ENDPOINTS: endpoints } });

const rows = [];
try {
  keel(['cluster', 'up', '--data-dir', dataDir, '--base-port', String(basePort), '--detach', '--log-level', 'warn']);
  const runs = [
    ['put', 'linearizable'],
    ['get', 'linearizable'],
    ['get', 'serializable'],
  ];
  for (const [op, consistency] of runs) {
    for (const clients of [1, 64, 256]) {
      const out = keel([
        'bench',
        '--op',
        op,
        '--consistency',
        consistency,
        '--clients',
        String(clients),
        '--value-size',
        '100',
        '--keys',
        '1000',
        '--duration',
        String(seconds),
        '--json',
      ]);
      const r = JSON.parse(out);
      rows.push({ ...r, op: op === 'put' ? 'put' : `get (${consistency})`, clients });
      console.error(`done: ${op} ${consistency} ${clients} clients`);
    }
  }
  const pids = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')).pids;
  const memory = pids.map((pid) => {
    const status = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
    return `${Math.round(Number(status) / 1024)} MiB`;
  });
  console.log('| operation | clients | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const l = r.latencyMs;
    console.log(
      `| ${r.op} | ${r.clients} | ${Math.round(r.throughput)} | ${l.p50.toFixed(2)} | ${l.p90.toFixed(2)} | ${l.p99.toFixed(2)} | ${l.max.toFixed(1)} | ${r.errors} |`,
    );
  }
  console.log(`\nresident memory of the three nodes after the runs: ${memory.join(', ')}`);
} finally {
  try {
    keel(['cluster', 'down', '--data-dir', dataDir]);
  } catch {
    // The cluster may not have started.
  }
  rmSync(dataDir, { recursive: true, force: true });
}
