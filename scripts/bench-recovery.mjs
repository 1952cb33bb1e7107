#!/usr/bin/env node
// `npm run bench:recovery`: how long Keel and etcd take to acknowledge a write again
// after kill -9 of the whole cluster and after kill -9 of the leader, measured the
// same way for both (src/e2e/recovery-trials.ts): 3 members each on loopback, both
// with a 100 ms heartbeat and a 1 s election timeout (their defaults), 2,000 keys
// written first. Prints the median and the worst of KEEL_RECOVERY_TRIALS (default 20)
// trials per scenario, Keel's and etcd's side by side; for the whole cluster also from
// the moment a majority of the members' client ports accept connections (start-up set apart).
//
// Bounded: every trial gives up after 60 s, the whole run after KEEL_RECOVERY_TIMEOUT_S
// (default 1800) seconds; both clusters are stopped and their data removed, also on
// Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdGrpcClient } from '../dist/client/etcd-grpc-client.js';
import { Cluster } from '../dist/harness/cluster-harness.js';
import { startEtcdCluster } from '../dist/e2e/etcd-cluster.js';
import { runRecoveryTrials } from '../dist/e2e/recovery-trials.js';

const trials = Number(process.env.KEEL_RECOVERY_TRIALS ?? 20);
const timeoutS = Number(process.env.KEEL_RECOVERY_TIMEOUT_S ?? 1800);
const prefillKeys = 2_000;
const cleanups = [];
let cleaning;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((error) => console.error(`clean-up: ${error.message}`));
  })());
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void cleanup().then(() => process.exit(130)));
const overall = setTimeout(() => {
  console.error(`bench:recovery: gave up after ${timeoutS} s`);
  void cleanup().then(() => process.exit(1));
}, timeoutS * 1000);

async function prefill(endpoint) {
  const client = new EtcdGrpcClient(endpoint, 5_000);
  try {
    for (let i = 0; i < prefillKeys; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.put(`prefill/${i + j}`, 'v'.repeat(256))));
  } finally {
    client.close();
  }
}

const results = [];
try {
  const keel = await Cluster.start({ tickMs: 100, electionTicks: 10, requestTimeoutMs: 5_000 });
  cleanups.push(() => keel.destroy());
  const keelTarget = {
    name: 'keel',
    endpoints: keel.nodes.map((n) => n.grpcEndpoint),
    kill: async (i) => void (await keel.kill(i + 1)),
    start: (i) => keel.startNode(i + 1),
  };
  const dir = mkdtempSync(join(tmpdir(), 'keel-recovery-etcd-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const etcd = await startEtcdCluster({ size: 3, dir });
  cleanups.push(() => etcd.stop());
  const etcdTarget = { name: 'etcd', endpoints: etcd.endpoints, kill: (i) => etcd.kill(i), start: async (i) => etcd.start(i) };
  await prefill(keelTarget.endpoints[0]);
  await prefill(etcdTarget.endpoints[0]);
  for (const scenario of ['whole-cluster', 'leader']) {
    for (const target of [keelTarget, etcdTarget]) results.push(await runRecoveryTrials(target, scenario, trials, (line) => console.log(`  ${line}`)));
  }
} finally {
  clearTimeout(overall);
  await cleanup();
}
console.log(
  `\nfirst acknowledged write after kill -9 (${trials} trials each; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})\n`,
);
console.log('| scenario | Keel median ms | Keel worst ms | etcd median ms | etcd worst ms |');
console.log('|---|---:|---:|---:|---:|');
for (const scenario of ['whole-cluster', 'leader']) {
  const keel = results.find((r) => r.target === 'keel' && r.scenario === scenario);
  const etcd = results.find((r) => r.target === 'etcd' && r.scenario === scenario);
  console.log(`| ${scenario} | ${keel.medianMs} | ${keel.worstMs} | ${etcd.medianMs} | ${etcd.worstMs} |`);
  if (keel.sinceUp && etcd.sinceUp) {
    console.log(`| ${scenario}, from a quorum up | ${keel.sinceUp.medianMs} | ${keel.sinceUp.worstMs} | ${etcd.sinceUp.medianMs} | ${etcd.sinceUp.worstMs} |`);
  }
}
