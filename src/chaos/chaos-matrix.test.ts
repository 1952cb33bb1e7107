/**
 * The CI matrix of the chaos harness: every nemesis alone, for `secondsPerNemesis`
 * of load each (two 5-second fault intervals) on a fresh 3-node cluster (network namespaces and iptables when run
 * as root, as CI is; loopback and fault hooks otherwise), with the register, set and
 * bank workloads at once, through the REST API or the etcd gRPC API (in turn). Each run must end with zero linearizability violations,
 * zero lost acknowledged writes, nothing unexpected, no crashed node, and the
 * cluster whole again after healing. A failing run keeps its results directory
 * (histories, node logs, data directories) and names it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChaos } from './chaos-run.js';
import { allNemeses } from './nemeses.js';
import { keepArtifacts, runDirectory, writeResults } from './results.js';
import { summaryLines } from './summary-text.js';
import { missingToolMessage } from '../harness/required-tool.js';
import { netnsAvailable } from './netns-network.js';

// As root (CI) the matrix runs in network namespaces, whose partitions need ip and
// iptables, and the clock-skew nemesis needs libfaketime. scripts/setup-ci.sh installs
// them; where one is missing the matrix fails at once rather than letting a nemesis
// fall back to loopback or skip itself.
before(async () => {
  if (process.getuid?.() === 0) {
    const missing = await netnsAvailable();
    if (missing !== undefined) throw new Error(`${missingToolMessage('the network namespace tooling', 'iptables iproute2')} (${missing})`);
  }
  for (const nemesis of allNemeses) {
    const why = await nemesis.unavailable?.();
    if (why !== undefined) throw new Error(`${missingToolMessage(`the ${nemesis.name} nemesis's tool`, 'faketime')} (${why})`);
  }
});

/** 11 nemeses × (30 s + about 2 s of start, heal and check) ≈ 6 minutes; two fault intervals each. */
const secondsPerNemesis = 30;

for (const [i, nemesis] of allNemeses.entries()) {
  // The clients alternate between the two APIs, so each is tested under half the nemeses.
  const client = i % 2 === 0 ? 'rest' : 'grpc';
  test(`chaos: ${nemesis.name} for ${secondsPerNemesis} s, ${client} clients — no violation, no lost acknowledged write, recovered`, {
    timeout: 120_000,
  }, async (t) => {
    const root = await mkdtemp(join(tmpdir(), `keel-chaos-${nemesis.name}-`));
    const seed = 1_000 + i;
    const dir = await runDirectory(root, seed);
    let passed = false;
    try {
      const outcome = await runChaos(
        {
          nodes: 3,
          timeSeconds: secondsPerNemesis,
          nemeses: [nemesis],
          mixed: false,
          workloads: ['register', 'set', 'bank'],
          client,
          seed,
          network: 'auto',
          faultSeconds: 5,
          quietSeconds: 3,
          log: () => {},
        },
        (cluster, result) => keepArtifacts(dir, cluster, result),
      );
      await writeResults(dir, outcome);
      const summary = summaryLines(outcome);
      for (const line of summary) t.diagnostic(line);
      const ran = outcome.intervals.length > 0 || outcome.skippedNemeses.length > 0;
      assert.ok(ran, `${nemesis.name} never ran`);
      assert.deepEqual(outcome.failures, [], `chaos run failed (results kept in ${dir}):\n${summary.join('\n')}`);
      const ops = outcome.workloads.reduce((n, w) => n + w.operations.ok, 0);
      assert.ok(ops > 100, `the workloads did work (${ops} operations succeeded)`);
      assert.equal(outcome.workloads.find((w) => w.name === 'register')?.unchecked.length, 0, 'every register key was checked to the end');
      passed = true;
    } finally {
      if (passed) await rm(root, { recursive: true, force: true });
    }
  });
}
