import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runReplicaSimulation } from './run.js';
import { describeFailure } from './seeds.js';

test('seeds on the production replica pass every check, at 3 and 5 nodes', async () => {
  for (const [seed, nodes] of [[1, 3], [2, 3], [12, 3], [100, 5], [101, 5]] as const) {
    const result = await runReplicaSimulation(seed, { nodes });
    if (result.violations.length > 0) assert.fail(describeFailure(await runReplicaSimulation(seed, { nodes, trace: true, traceLinesMax: 300 })));
    assert.equal(result.linearizability, 'linearizable');
    assert.ok(result.completions.ok > 0, `seed ${seed}: no operation succeeded`);
  }
});

test('a seed on the production replica replays exactly', async () => {
  const first = await runReplicaSimulation(3, { nodes: 3 });
  const again = await runReplicaSimulation(3, { nodes: 3 });
  assert.equal(again.fingerprint, first.fingerprint);
  assert.notEqual((await runReplicaSimulation(4, { nodes: 3 })).fingerprint, first.fingerprint);
});

test('the checks catch a replica that reads without ReadIndex, and one that acknowledges before the commit', async () => {
  const stale = await runReplicaSimulation(2, { nodes: 3, sabotage: { staleReads: true } });
  assert.equal(stale.linearizability, 'not linearizable');
  const early = await runReplicaSimulation(1, { nodes: 3, sabotage: { ackBeforeCommit: true } });
  assert.ok(early.violations.some((v) => v.kind === 'lost-write' || v.kind === 'linearizability'), JSON.stringify(early.violations.map((v) => v.kind)));
});
