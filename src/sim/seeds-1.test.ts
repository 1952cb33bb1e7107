import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeedBatch } from './seed-batch.js';

// Seeds 1..200 of the simulator, mixing 3, 5 and 7 nodes and every fault kind (see
// seeds.ts), every node running the production replica. Split over several files so
// the test runner spreads them over the cores. A failure prints the seed, the violation
// and the end of its trace; replay it with: npm run sim -- --seed N --trace
test('simulator: seeds 1..200 keep every safety and liveness check', async () => {
  const outcome = await runSeedBatch(1, 200);
  assert.equal(outcome.failure, undefined, outcome.failure);
  assert.ok(outcome.operationsCount > 200 * 50, `only ${outcome.operationsCount} client operations`);
});
